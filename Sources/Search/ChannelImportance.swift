// How much each channel of each activation slot needs its ReLU: the score that decides which channels a
// split slot keeps as ReLU (SAFENet, Lou et al., ICLR 2021, keeps "the most useful channels"; here the
// usefulness is measured).
//
// Score of channel c: the mean over images of  sum over the channel's positions of (g * (p_c(x) - ReLU(x)))^2,
// where x is the slot's input, g = dL/dy the gradient of the cross-entropy loss at the slot's output
// (the ReLU network's), and p_c the polynomial fitted to ReLU over channel c's inputs. g * (p - ReLU) is
// the first-order change of the loss when this channel alone becomes the polynomial (a Taylor estimate,
// as in pruning by first-order importance); squaring keeps positive and negative changes from cancelling
// across images. A channel whose inputs the polynomial reproduces (say, inputs that are all positive
// with p(x) = x) scores 0 however large its gradient; one the loss does not read scores 0 however
// poorly it is approximated.
//
// From a polynomial baseline (an all-polynomial search's result, to give ReLU channels back) the same score
// is measured at the other operating point: the network as trained, each channel's own polynomial p_c, g
// its gradient; g * (ReLU(x) - p_c(x)) is the first-order change of the loss when the channel alone
// becomes ReLU (the square does not care for the sign). An image whose logits or gradients overflow (a
// degree-4 polynomial far outside its range, without the training clamp) is left out; a slot that loses
// half of its images is an error.
import Foundation
import NetworkPlan
import PlanStore
import Planner
import Tensors
import Training

public enum ChannelImportance {
    /// Adds one batch's scores: x and g of shape [N, C, ...], coefficients per channel (lowest degree
    /// first). `sums[c]` gains sum over images and positions of (g (p_c(x) - ReLU(x)))^2.
    /// Returns the images added; an image with a non-finite score in any channel adds nothing.
    @discardableResult
    public static func accumulate(into sums: inout [Double], input x: Tensor, gradient g: Tensor, coefficients: [[Float]]) -> Int {
        let shape = x.shape
        precondition(shape == g.shape && shape.count >= 2 && sums.count == shape[1] && coefficients.count == shape[1],
                     "importance: shapes \(shape) and \(g.shape) for \(sums.count) channels")
        let channels = shape[1], inner = shape.dropFirst(2).reduce(1, *)
        let xs = x.pointer, gs = g.pointer
        var image = [Double](repeating: 0, count: channels)
        var kept = 0
        for n in 0..<shape[0] {
            for c in 0..<channels {
                let row = n * channels + c
                let a = coefficients[c]
                var sum = 0.0
                for i in row * inner..<(row + 1) * inner {
                    let v = Double(xs[i])
                    var p = 0.0
                    for k in stride(from: a.count - 1, through: 0, by: -1) { p = p * v + Double(a[k]) }
                    let change = Double(gs[i]) * (p - max(v, 0))
                    sum += change * change
                }
                image[c] = sum
            }
            guard image.allSatisfy(\.isFinite) else { continue }
            for c in 0..<channels { sums[c] += image[c] }
            kept += 1
        }
        return kept
    }

    /// Scores of every channel of every slot of the baseline network, with polynomials of `degree` fitted
    /// the way the search fits them (`EngineTrainable`), over `images` training images (a fixed sample,
    /// not augmented), per image. Deterministic for a given seed.
    public static func measure(baseline: URL, splits: DataSplits, options: EngineOptions, degree: Int,
                               images: Int) throws -> [[Double]] {
        let trainable = try EngineTrainable(baseline: baseline, splits: splits, options: options)
        let slots = trainable.network.slots
        let hyperParameters = HyperParameters(learningRate: 0.01, momentum: 0.9, clipNorm: 1, blendEpochs: 1)
        if slots.contains(where: { !$0.isReLU }) {
            // A polynomial baseline: as trained, each channel with its own coefficients.
            try trainable.restore(member: 0, config: MemberConfig(placement: trainable.currentPlacement,
                                                                  hyperParameters: hyperParameters), from: baseline)
        } else {
            // Every slot blended at alpha 1 (the network computes ReLU) with its fitted polynomial.
            let everywhere = MemberConfig(placement: Placement(choices: slots.map { _ in .polynomial(degree: degree) }),
                                          hyperParameters: hyperParameters)
            try trainable.restore(member: 0, config: everywhere, from: baseline)
            for slot in slots { slot.setAlpha(1) }
        }
        let coefficients = slots.map { slot -> [[Float]] in
            guard let parameter = slot.coefficients else { return [] }   // a ReLU slot of a mixed baseline: scores 0
            let values = parameter.value.array
            let terms = parameter.shape.last ?? (degree + 1)
            return (0..<slot.channels).map { Array(values[$0 * terms..<($0 + 1) * terms]) }
        }
        var sums = slots.map { [Double](repeating: 0, count: $0.channels) }
        var inputs: [Tensor?] = Array(repeating: nil, count: slots.count)
        var outputs: [Variable?] = Array(repeating: nil, count: slots.count)
        for (index, slot) in slots.enumerated() {
            slot.inputObserver = { inputs[index] = $0 }
            slot.outputObserver = { outputs[index] = $0 }
        }
        defer { for slot in slots { slot.inputObserver = nil; slot.outputObserver = nil } }
        let data = trainable.splits  // with the baseline's own normalisation (DataSplits.using)
        let count = max(1, min(images, data.train.count))
        let loader = BatchLoader(images: data.train, batchSize: min(options.batchSize, count), shuffle: true,
                                 augment: false, normalization: data.normalization, layout: .nchw,
                                 seed: options.seed ^ 0x1A9_0A7A, epoch: 0, dropLast: true)
        var seen = 0, kept = [Int](repeating: 0, count: slots.count)
        while seen < count, let batch = loader.next() {
            let tape = Tape()
            let logits = trainable.network.forward(tape.constant(batch.tensor),
                                                   tape: tape, training: false)
            let loss = tape.softmaxCrossEntropy(logits, labels: batch.labels)
            tape.backward(from: loss, keeping: outputs.compactMap { $0 })
            for index in slots.indices where !coefficients[index].isEmpty {
                guard let x = inputs[index], let g = outputs[index]?.grad else { continue }
                kept[index] += accumulate(into: &sums[index], input: x, gradient: g, coefficients: coefficients[index])
            }
            seen += batch.count
        }
        // The loss is a mean over the batch, so g carries a factor 1 / B: scale back to one image's change,
        // then average over the images kept.
        let batch = Double(min(options.batchSize, count))
        for index in slots.indices where !coefficients[index].isEmpty && kept[index] < max(1, seen / 2) {
            throw SearchError.invalidSetting("channel importance: slot \(slots[index].name) overflowed on \(seen - kept[index]) of "
                                             + "\(seen) images (its polynomial far outside its range); the baseline is unusable as is")
        }
        let scores = sums.indices.map { index in sums[index].map { $0 * batch * batch / Double(max(1, kept[index])) } }
        guard scores.joined().allSatisfy(\.isFinite) else {
            throw SearchError.invalidSetting("channel importance: a score overflowed; the baseline is unusable as is")
        }
        return scores
    }
}
