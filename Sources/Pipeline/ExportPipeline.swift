// The export pipeline (`sibyl export`): a training checkpoint becomes a plan directory (plan.json +
// weights.h5): batch norm folded into the convolutions, ReLU value bits calibrated on validation images,
// float (engine) and fixed-point (fast evaluator) accuracy measured on the chosen split, provenance recorded.
import Foundation
import NetworkPlan
import PlanStore
import SecureInference
import Tensors
import Training

/// Everything `sibyl export` was asked.
public struct ExportRequest: Sendable {
    public var checkpoint: String
    /// A placement file overriding slot choices (a Placement or {"slot": choice}).
    public var placement: String?
    public var fractionalBits: Int
    public var calibrationImages: Int
    public var accuracySplit: String
    public var accuracyImages: Int?
    public var out: String
    public var force: Bool
    public var dataDirectory: String
    public var threads: Int
    /// The command line recorded as provenance (its program recorded as `sibyl`, not the path it ran from).
    public var commandLine: [String]

    public init(checkpoint: String, placement: String?, fractionalBits: Int, calibrationImages: Int, accuracySplit: String,
                accuracyImages: Int?, out: String, force: Bool, dataDirectory: String, threads: Int, commandLine: [String]) {
        self.checkpoint = checkpoint; self.placement = placement; self.fractionalBits = fractionalBits
        self.calibrationImages = calibrationImages; self.accuracySplit = accuracySplit; self.accuracyImages = accuracyImages
        self.out = out; self.force = force; self.dataDirectory = dataDirectory; self.threads = threads
        self.commandLine = commandLine
    }
}

/// What an export did and measured.
public struct ExportSummary: Sendable {
    public var signature: String
    public var slots: Int
    public var relus: Int
    public var measuredImages: Int
    public var floatTop1: Double
    public var fixed: PlanAccuracy
    public var agreement: Double
    public var reluBits: ClosedRange<Int>
    public var calibrationImages: Int
    /// Calibration images that exceeded a bound of the program (`PlanAccuracy.wrapped`); the measured
    /// images' count is `fixed.wrapped`.
    public var calibrationWrapped: Int
    /// Seconds of each phase: load+fold, calibrate, float eval, write, total.
    public var loaded: Double, calibrated: Double, floatSeconds: Double, written: Double, total: Double
}

public enum ExportPipeline {
    public static func run(_ request: ExportRequest) throws -> ExportSummary {
        let fractionalBits = request.fractionalBits, threads = request.threads, force = request.force
        let accuracySplit = request.accuracySplit, accuracyImages = request.accuracyImages
        let calibrationImages = request.calibrationImages, placement = request.placement
        let out = request.out, dataDir = request.dataDirectory
        let checkpoint = request.checkpoint
        let clock = Stopwatch()
        Parallel.configure(threads: threads)
        let outURL = URL(fileURLWithPath: out)
        try PlanFiles.checkDestination(outURL, overwrite: force)
        let checkpointURL = URL(fileURLWithPath: checkpoint)
        let (network, config) = try TrainingCheckpoint.loadNetwork(from: checkpointURL)
        if let placement { try apply(placementFile: placement, to: network) }
        let exported = try NetworkExport.export(network)
        for (slot, choice) in exported.activations {
            if case .polynomial(let degree) = choice, !PlanManifest.supportedPolynomialDegrees.contains(degree) {
                throw TrainingError.mismatch("slot \(slot) is a degree-\(degree) polynomial; plans support degrees \(PlanManifest.supportedPolynomialDegrees) only")
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
            .using(config)
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
            provenance: Provenance(checkpointSha256: try SHA256.hex(ofFile: checkpointURL), checkpoint: recordedPath(checkpointURL),
                                   command: (["sibyl"] + request.commandLine.dropFirst()).map(quoted).joined(separator: " "), created: created))
        var plan = PlanContents(manifest: manifest, weights: weights, coefficients: coefficients)
        try PlanCompilation.attachProgram(&plan)

        // Accuracies on the chosen split: float (the engine, eval mode) and fixed point (the plan itself).
        let measured = firstImages(accuracySplit == "test" ? splits.test : splits.validation, accuracyImages)
        let floatPredictions = floatPredictions(network, images: measured, normalization: splits.normalization)
        let floatCorrect = zip(floatPredictions, measured.labels).filter { $0 == Int($1) }.count
        let floatTop1 = Double(floatCorrect) / Double(max(1, measured.count))
        let floatSeconds = clock.lap()
        let fixed = try measurePlanAccuracy(plan, images: measured, threads: threads)
        let calibrationWrapped = try measurePlanAccuracy(plan, images: calibration, threads: threads).wrapped
        plan.manifest.overflow = [
            OverflowRecord(purpose: "calibration", split: "validation", images: calibration.count, wrapped: calibrationWrapped),
            OverflowRecord(purpose: "accuracy", split: accuracySplit, images: fixed.images, wrapped: fixed.wrapped),
        ]
        let agreement = Double(zip(floatPredictions, fixed.predictions).filter { $0 == $1 }.count) / Double(max(1, measured.count))
        plan.manifest.accuracy = [
            AccuracyRecord(arithmetic: .float, split: accuracySplit, images: measured.count, top1: floatTop1),
            AccuracyRecord(arithmetic: .fixedPoint, split: accuracySplit, images: fixed.images, top1: fixed.top1),
        ]
        _ = clock.lap()
        try PlanFiles.write(plan, to: outURL, overwrite: force)
        let written = clock.lap()

        return ExportSummary(signature: choices.signature, slots: slots.count, relus: choices.reluCount(slots: slots),
                             measuredImages: measured.count, floatTop1: floatTop1, fixed: fixed, agreement: agreement,
                             reluBits: (reluBits.values.min() ?? 0)...(reluBits.values.max() ?? 0),
                             calibrationImages: calibration.count, calibrationWrapped: calibrationWrapped, loaded: loaded, calibrated: calibrated,
                             floatSeconds: floatSeconds, written: written, total: clock.total)
    }

    /// Rewrites the plan in `directory` in the current schema, in place and atomically: adds the program
    /// (compiled from its float contents, as export would) and the digest, names it after its directory.
    /// With the dataset at hand it also re-measures the fixed-point accuracy on the split and images its
    /// record names (unchanged: the program is the one that ran) and records the overflow counts there and
    /// on the first `calibrationImages` validation images. Returns the rewritten plan and whether it was measured.
    public static func upgrade(directory: URL, dataDirectory: String, calibrationImages: Int, threads: Int) throws
        -> (plan: PlanContents, measured: PlanAccuracy?) {
        var plan = try PlanFiles.read(from: directory)
        if plan.manifest.program == nil { try PlanCompilation.attachProgram(&plan) }
        plan.manifest.name = directory.standardizedFileURL.lastPathComponent
        var measured: PlanAccuracy?
        let kind = try planDataset(plan.manifest, requested: nil)
        if let record = plan.manifest.accuracy.first(where: { $0.arithmetic == .fixedPoint }),
           let splits = try? Datasets.load(kind, directory: URL(fileURLWithPath: dataDirectory), validationCount: 5000) {
            let images = firstImages(record.split == "test" ? splits.test : splits.validation, record.images)
            let fixed = try measurePlanAccuracy(plan, images: images, threads: threads)
            let calibration = try measurePlanAccuracy(plan, images: firstImages(splits.validation, calibrationImages), threads: threads)
            guard abs(fixed.top1 - record.top1) < 1e-9 else {
                throw TrainingError.mismatch("\(directory.path) records fixed-point accuracy \(record.top1) on \(record.images) \(record.split) "
                    + "images but measures \(fixed.top1) now: its weights or the data changed; re-export it from its checkpoint")
            }
            plan.manifest.overflow = [
                OverflowRecord(purpose: "calibration", split: "validation", images: calibration.images, wrapped: calibration.wrapped),
                OverflowRecord(purpose: "accuracy", split: record.split, images: fixed.images, wrapped: fixed.wrapped),
            ]
            measured = fixed
        }
        try PlanFiles.write(plan, to: directory, overwrite: true)
        return (plan, measured)
    }

    /// Top-1 class of each image under the engine's eval-mode forward pass (as `Evaluation.run` computes it);
    /// -1 (wrong, and in agreement with nothing) where a logit overflowed.
    public static func floatPredictions(_ network: Network, images: ImageSet, normalization: Normalization) -> [Int] {
        Evaluation.logits(network, images: images, normalization: normalization).map { row in
            guard row.allSatisfy(\.isFinite) else { return -1 }
            return row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }!
        }
    }

    /// Applies a placement file to the network's slots: relu, or polynomial with the coefficients the
    /// checkpoint already holds for that slot.
    public static func apply(placementFile path: String, to network: Network) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ExportError.badPlacement(path: path, reason: "cannot be read (\(error.localizedDescription))")
        }
        let choices: [String: SlotChoice]
        do { choices = try PlacementFile.choices(in: data, slotNames: network.slots.map(\.name)) } catch let error as PlacementFile.ReadError {
            throw ExportError.badPlacement(path: path, reason: error.reason)
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
    public static func recordedPath(_ url: URL) -> String {
        let path = url.standardizedFileURL.path
        let here = FileManager.default.currentDirectoryPath + "/"
        if path.hasPrefix(here) { return String(path.dropFirst(here.count)) }
        return url.pathComponents.suffix(2).joined(separator: "/")
    }

    public static func quoted(_ argument: String) -> String {
        argument.contains(where: { $0 == " " || $0 == "\"" || $0 == "'" }) ? "'\(argument.replacingOccurrences(of: "'", with: "'\\''"))'" : argument
    }
}
