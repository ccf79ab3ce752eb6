// Stability probe for hybrid ResNet-32 training (Experiments/planner-resnet32/README.md): switches the
// given slots of a baseline to quadratics the way `sibyl plan` does (EngineTrainable), reports the
// untrained network at alpha 1, 0.5 and 0, then trains through the engine in chunks, printing the
// validation accuracy and, per polynomial slot, the RMS and the largest magnitude of its inputs on
// 1,000 validation images (inference mode, no clamp).
//
//   swift run -c release probe BASELINE [--init fitted|delphi] [--lr 0.01] [--blend-steps 150]
//       [--steps 440] [--clip 1] [--chunk 0.25] [--penalty 0.5] [--relu 0,1,2,30] [--data-dir DIR]
import Foundation
import NetworkPlan
import Planner
import Search
import Tensors
import Training

setvbuf(stdout, nil, _IOLBF, 0)
var arguments = Array(CommandLine.arguments.dropFirst())
guard let baselinePath = arguments.first, !baselinePath.hasPrefix("--") else {
    FileHandle.standardError.write(Data("usage: probe BASELINE [--init fitted|delphi] [--lr L] [--blend-steps B] [--steps S] [--clip C] [--chunk E] [--penalty W] [--relu 0,1,2,30] [--data-dir DIR]\n".utf8))
    exit(2)
}
var flags: [String: String] = [:]
var index = 1
while index + 1 < arguments.count {
    flags[arguments[index]] = arguments[index + 1]
    index += 2
}
func flag<T: LosslessStringConvertible>(_ name: String, _ fallback: T) -> T {
    guard let text = flags[name] else { return fallback }
    guard let value = T(text) else { fatalError("bad value for \(name): \(text)") }
    return value
}
let base = URL(fileURLWithPath: baselinePath)
let initKind = PolynomialInitialization.Kind(rawValue: flags["--init"] ?? "fitted")!
let lr: Double = flag("--lr", 0.01)
let blendSteps: Int = flag("--blend-steps", 150)
let totalSteps: Int = flag("--steps", 440)
let clip: Double = flag("--clip", 1.0)
let chunk: Double = flag("--chunk", 0.25)
let reluSlots = (flags["--relu"] ?? "0,1,2,30").split(separator: ",").map { Int($0)! }
Parallel.configure(threads: flag("--threads", 1))

let splits = try Datasets.load(.cifar100, directory: URL(fileURLWithPath: flags["--data-dir"] ?? "Datasets"))
let probeImages = splits.validation.subset(Array(0..<1000))
var options = EngineOptions()
options.polynomialInitialization = initKind
options.rangePenaltyWeight = flag("--penalty", Float(0.5))
let trainable = try EngineTrainable(baseline: base, splits: splits, options: options)
let network = trainable.network
var choices = [SlotChoice](repeating: .polynomial(degree: 2), count: network.slots.count)
for i in reluSlots { choices[i] = .relu }
print("init \(initKind.rawValue), lr \(lr), blend \(blendSteps) steps, \(totalSteps) steps, clip \(clip), "
      + "penalty \(options.rangePenaltyWeight), ReLU slots \(reluSlots) (\(Placement(choices: choices).reluCount(slots: trainable.slotDescriptors)) ReLUs)")

/// Accuracy on the probe images and, per polynomial slot, "RMS/max" of its inputs.
func report(_ tag: String) {
    var sums: [String: (squares: Double, count: Double, largest: Float)] = [:]
    for slot in network.slots where !slot.isReLU {
        slot.inputObserver = { t in
            var squares = 0.0, largest: Float = 0
            for i in 0..<t.count { let v = t.pointer[i]; squares += Double(v * v); largest = max(largest, abs(v)) }
            let old = sums[slot.name] ?? (0, 0, 0)
            sums[slot.name] = (old.squares + squares, old.count + Double(t.count), max(old.largest, largest))
        }
    }
    let result = Evaluation.run(network, images: probeImages, normalization: splits.normalization)
    for slot in network.slots { slot.inputObserver = nil }
    let ranges = network.slots.filter { !$0.isReLU }.map { slot -> String in
        let s = sums[slot.name]!
        return String(format: "%.1f/%.0f", (s.squares / s.count).squareRoot(), s.largest)
    }.joined(separator: " ")
    print("\(tag): accuracy \(result.accuracy), overflowing images \(result.nonFinite) | input rms/max per slot: \(ranges)")
}

func config(blendEpochs: Double) -> MemberConfig {
    MemberConfig(placement: Placement(choices: choices),
                 hyperParameters: HyperParameters(learningRate: lr, momentum: 0.9, clipNorm: clip, blendEpochs: blendEpochs))
}
try trainable.restore(member: 0, config: config(blendEpochs: 1), from: base)
for alpha: Float in [1, 0.5, 0] {
    for slot in network.slots where !slot.isReLU {
        slot.restore(mode: alpha == 0 ? .polynomial : .blended(alpha: alpha), coefficients: slot.coefficients!.value)
    }
    report("untrained, alpha \(alpha)")
}
try trainable.restore(member: 0, config: config(blendEpochs: Double(blendSteps) / Double(trainable.stepsPerEpoch)), from: base)
var round = 1, trained = 0.0
while trained < Double(totalSteps) / Double(trainable.stepsPerEpoch) - 1e-9 {
    let result = try trainable.train(epochs: chunk, round: round)
    trained += chunk
    round += 1
    let stats = trainable.lastRound!
    print(String(format: "after %.2f epochs: train loss %.3f, validation %.4f (loss %.3f), diverged %@, %d slots blending, %.0f s",
                 trained, stats.meanLoss, result.validationAccuracy, stats.validationLoss, result.diverged ? "yes" : "no",
                 stats.blendingSlots.count, stats.seconds))
    if result.diverged { break }
    report("  probe")
}
