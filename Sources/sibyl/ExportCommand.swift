// `sibyl export`: a training checkpoint becomes a plan directory (plan.json + weights.h5): batch norm
// folded into the convolutions, ReLU value bits calibrated on validation images, float (engine) and
// fixed-point (fast evaluator) accuracy measured on the chosen split, provenance recorded.
import ArgumentParser
import Pipeline
import Foundation
import NetworkPlan
import PlanStore
import SecureInference
import Tensors
import Training

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a training checkpoint as a fixed-point plan (plan.json + weights.h5).")

    @Option(help: "Training checkpoint (checkpoint.h5 or best.h5).") var checkpoint: String?
    @Option(help: "Instead of exporting: rewrite the plan in this directory in the current schema (adds the digest that binds plan.json to weights.h5), keeping its recorded accuracy. In place and atomic.")
    var upgrade: String?
    @Option(help: "JSON placement overriding slot choices: a Placement ({\"choices\": [...]}) or {\"slot\": choice}.")
    var placement: String?
    @Option(name: .customLong("fractional-bits"),
            help: "Fixed-point fractional bits f (Delphi: 8). 12 keeps top-1 agreement with the float model at 99.5% (ResNet-8 on CIFAR-100: 94.8% at 8, 98.9% at 10, 99.5% at 12).")
    var fractionalBits: Int = 12
    @Option(name: .customLong("calibration-images"), help: "Validation images used to size the ReLU value bits.")
    var calibrationImages: Int = 256
    @Option(name: .customLong("accuracy-split"), help: "Split the recorded accuracies are measured on: test or validation.")
    var accuracySplit: String = "test"
    @Option(name: .customLong("accuracy-images"), help: "Images the accuracies are measured on (default: the whole split).")
    var accuracyImages: Int?
    @Option(help: "Plan directory to write, e.g. Plans/resnet32-cifar100-relu.") var out: String = ""
    @Flag(help: "Replace an existing plan at --out (only a plan: a folder holding plan.json and weights.h5 and nothing else; anything else is refused). The new plan is written beside it and swapped in.") var force = false
    @Option(name: .customLong("data-dir"), help: "Folder holding the datasets.") var dataDir: String = "Datasets"
    @Option(help: "Worker threads.") var threads: Int = 2

    func validate() throws {
        guard (1...20).contains(fractionalBits) else { throw ValidationError("--fractional-bits must be in 1...20") }
        guard calibrationImages >= 1 else { throw ValidationError("--calibration-images must be at least 1") }
        guard ["test", "validation"].contains(accuracySplit) else {
            throw ValidationError("unknown --accuracy-split '\(accuracySplit)'; allowed: test, validation")
        }
        if let n = accuracyImages, n < 1 { throw ValidationError("--accuracy-images must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        if upgrade != nil {
            guard checkpoint == nil, out.isEmpty else { throw ValidationError("--upgrade DIR takes no --checkpoint and no --out") }
            return
        }
        guard checkpoint != nil else { throw ValidationError("give --checkpoint FILE (or --upgrade DIR)") }
        guard !out.isEmpty, !URL(fileURLWithPath: out).lastPathComponent.isEmpty else {
            throw ValidationError("--out needs a directory name")
        }
    }

    func run() throws {
        if let upgrade {
            let directory = URL(fileURLWithPath: upgrade)
            let plan = try PlanFiles.read(from: directory)
            try PlanFiles.write(plan, to: directory, overwrite: true)
            let from = plan.manifest.schemaVersion
            print(from == PlanManifest.currentSchemaVersion
                  ? "\(upgrade) is already schema \(from) and its digest checked out; rewritten unchanged"
                  : "upgraded \(upgrade) from schema \(from) to \(PlanManifest.currentSchemaVersion) (digest added); weights and recorded accuracy unchanged")
            return
        }
        let checkpoint = self.checkpoint!
        let clock = Stopwatch()
        Parallel.configure(threads: threads)
        let outURL = URL(fileURLWithPath: out)
        try PlanFiles.checkDestination(outURL, overwrite: force)
        let checkpointURL = URL(fileURLWithPath: checkpoint)
        let (network, config) = try TrainingCheckpoint.loadNetwork(from: checkpointURL)
        if let placement { try Self.apply(placementFile: placement, to: network) }
        let exported = try NetworkExport.export(network)
        for (slot, choice) in exported.activations {
            if case .polynomial(let degree) = choice, !PlanManifest.supportedPolynomialDegrees.contains(degree) {
                throw ValidationError("slot \(slot) is a degree-\(degree) polynomial; plans support degree \(PlanManifest.supportedPolynomialDegrees) only")
            }
        }
        let (graph, weights) = try foldBatchNorms(graph: exported.graph, weights: exported.weights)
        let coefficients = exported.coefficients.filter { !(exported.activations[$0.key]?.isReLU ?? true) }
        let loaded = clock.lap()

        guard let kind = DatasetKind(rawValue: config.dataset.lowercased()) else {
            throw TrainingError.invalidOption(flag: "dataset (in the checkpoint)", value: config.dataset,
                                              allowed: DatasetKind.allCases.map(\.rawValue))
        }
        let splits = try Datasets.load(kind, directory: URL(fileURLWithPath: dataDir), validationCount: config.validationCount)
        guard splits.test.classCount == network.classCount else {
            throw TrainingError.mismatch("\(checkpoint) classifies \(network.classCount) classes but \(kind.rawValue) has \(splits.test.classCount)")
        }
        let input = InputSpec(shape: TensorShape(channels: 3, height: 32, width: 32), mean: splits.normalization.mean,
                              std: splits.normalization.std)

        // ReLU value bits from the validation images (never the test split).
        let calibration = firstImages(splits.validation, calibrationImages)
        let calibrationInputs = (0..<calibration.count).map { PlaintextInput.normalize(calibration.image($0), spec: input) }
        let reluBits = try ReLUCalibration.valueBits(graph: graph, weights: weights, activations: exported.activations,
                                                     coefficients: coefficients, fractionalBits: fractionalBits,
                                                     inputs: calibrationInputs, threads: threads)
        let calibrated = clock.lap()

        let slots = try graph.slots()
        let choices = Placement(choices: slots.map { exported.activations[$0.name] ?? .relu })
        let created = ISO8601DateFormatter().string(from: Date())
        let manifest = PlanManifest(
            name: outURL.lastPathComponent, graph: graph, activations: exported.activations,
            fixedPoint: FixedPointConfig(fractionalBits: fractionalBits, reluValueBits: reluBits), input: input,
            classNames: splits.classNames,
            predicted: PredictedCost(relus: choices.reluCount(slots: slots), polynomialActivations: choices.polynomialCount(slots: slots)),
            provenance: Provenance(checkpointSha256: try SHA256.hex(ofFile: checkpointURL), checkpoint: Self.recordedPath(checkpointURL),
                                   command: CommandLine.arguments.map(Self.quoted).joined(separator: " "), created: created))
        var plan = PlanContents(manifest: manifest, weights: weights, coefficients: coefficients)

        // Accuracies on the chosen split: float (the engine, eval mode) and fixed point (the plan itself).
        let measured = firstImages(accuracySplit == "test" ? splits.test : splits.validation, accuracyImages)
        let floatPredictions = Self.floatPredictions(network, images: measured, normalization: splits.normalization)
        let floatCorrect = zip(floatPredictions, measured.labels).filter { $0 == Int($1) }.count
        let floatTop1 = Double(floatCorrect) / Double(max(1, measured.count))
        let floatSeconds = clock.lap()
        let fixed = try measurePlanAccuracy(plan, images: measured, threads: threads)
        let agreement = Double(zip(floatPredictions, fixed.predictions).filter { $0 == $1 }.count) / Double(max(1, measured.count))
        plan.manifest.accuracy = [
            AccuracyRecord(arithmetic: .float, split: accuracySplit, images: measured.count, top1: floatTop1),
            AccuracyRecord(arithmetic: .fixedPoint, split: accuracySplit, images: fixed.images, top1: fixed.top1),
        ]
        _ = clock.lap()
        try PlanFiles.write(plan, to: outURL, overwrite: force)
        let written = clock.lap()

        print("exported \(checkpoint) -> \(out): \(slots.count) slots (\(choices.signature)), \(choices.reluCount(slots: slots)) ReLUs per image")
        print(String(format: "  accuracy on %d %@ images: float %.4f, fixed point (f=%d) %.4f, top-1 agreement %.4f; ReLU value bits %d...%d",
                     measured.count, accuracySplit, floatTop1, fractionalBits, fixed.top1, agreement,
                     reluBits.values.min() ?? 0, reluBits.values.max() ?? 0))
        print(String(format: "  seconds: load+fold %.2f, calibrate %.2f (%d images), float eval %.2f, fixed-point eval %.2f (%.0f images/s, %d ring fallbacks), write %.2f, total %.2f (process CPU %.2f)",
                     loaded, calibrated, calibration.count, floatSeconds, fixed.seconds,
                     Double(fixed.images) / max(fixed.seconds, 1e-9), fixed.ringTerms, written, clock.total,
                     Stopwatch.processCPU))
    }

    /// Top-1 class of each image under the engine's eval-mode forward pass (as `Evaluation.run` computes it);
    /// -1 (wrong, and in agreement with nothing) where a logit overflowed.
    static func floatPredictions(_ network: Network, images: ImageSet, normalization: Normalization) -> [Int] {
        let loader = BatchLoader(images: images, batchSize: 256, shuffle: false, augment: false, normalization: normalization,
                                 layout: .nchw, seed: 0, epoch: 0, dropLast: false)
        var predictions: [Int] = []
        predictions.reserveCapacity(images.count)
        while let batch = loader.next() {
            let tape = Tape(recording: false)
            let x = tape.constant(batch.tensor)
            let logits = network.forward(x, tape: tape, training: false).value.array
            let classes = logits.count / max(1, batch.count)
            for i in 0..<batch.count {
                let row = logits[i * classes..<(i + 1) * classes]
                guard row.allSatisfy(\.isFinite) else { predictions.append(-1); continue }
                predictions.append(row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }! - i * classes)
            }
        }
        return predictions
    }

    /// Applies a placement file to the network's slots: relu, or polynomial with the coefficients the
    /// checkpoint already holds for that slot.
    static func apply(placementFile path: String, to network: Network) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ExportError.badPlacement(path: path, reason: "cannot be read (\(error.localizedDescription))")
        }
        var choices: [String: SlotChoice]
        let plain = JSONDecoder(), snake = JSONDecoder()
        snake.keyDecodingStrategy = .convertFromSnakeCase
        if let placement = (try? plain.decode(Placement.self, from: data)) ?? (try? snake.decode(Placement.self, from: data)) {
            guard placement.choices.count == network.slots.count else {
                throw ExportError.badPlacement(path: path, reason: "\(placement.choices.count) choices for the network's \(network.slots.count) slots")
            }
            choices = [:]
            for (slot, choice) in zip(network.slots, placement.choices) { choices[slot.name] = choice }
        } else if let map = (try? plain.decode([String: SlotChoice].self, from: data)) ?? (try? snake.decode([String: SlotChoice].self, from: data)) {
            choices = map
        } else {
            throw ExportError.badPlacement(path: path, reason: "neither a Placement {\"choices\": [...]} nor a {\"slot\": choice} object, "
                + "with choices like {\"relu\": {}} or {\"polynomial\": {\"degree\": 2}}")
        }
        for name in choices.keys where network.slot(named: name) == nil {
            throw ExportError.badPlacement(path: path, reason: "names slot \(name), which the network does not have")
        }
        for slot in network.slots {
            guard let choice = choices[slot.name] else { continue }
            switch choice {
            case .relu:
                slot.setReLU()
            case .polynomial(let degree), .mixed(_, let degree):
                guard let coefficients = slot.coefficients else { throw ExportError.noCoefficients(slot: slot.name) }
                guard coefficients.shape.last == degree + 1 else {
                    throw ExportError.badPlacement(path: path, reason: "slot \(slot.name): the checkpoint's polynomial has degree \((coefficients.shape.last ?? 1) - 1), not \(degree)")
                }
                slot.restore(mode: .polynomial, coefficients: coefficients.value)
                slot.setChannelAlphas(nil)
                if case .mixed(let channels, _) = choice {
                    guard channels.allSatisfy({ (0..<slot.channels).contains($0) }) else {
                        throw ExportError.badPlacement(path: path, reason: "slot \(slot.name): channel out of range in \(choice)")
                    }
                    slot.setPolynomialChannels((0..<slot.channels).map { Set(channels).contains($0) })
                } else {
                    slot.setPolynomialChannels(nil)
                }
            }
        }
    }

    /// A path as provenance records it: relative to the working directory when it lies below it, else
    /// only its last two components, never the machine's absolute path.
    static func recordedPath(_ url: URL) -> String {
        let path = url.standardizedFileURL.path
        let here = FileManager.default.currentDirectoryPath + "/"
        if path.hasPrefix(here) { return String(path.dropFirst(here.count)) }
        return url.pathComponents.suffix(2).joined(separator: "/")
    }

    static func quoted(_ argument: String) -> String {
        argument.contains(where: { $0 == " " || $0 == "\"" || $0 == "'" }) ? "'\(argument.replacingOccurrences(of: "'", with: "'\\''"))'" : argument
    }
}
