// `sibyl test --plan Plans/NAME`: fixed-point plaintext accuracy of an exported plan on a dataset split,
// measured exactly as `sibyl export` records it (the plan's own input normalisation, the fast evaluator
// that equals the oracle bit for bit). TestCommand runs a `PlanTestRequest`; `measurePlanAccuracy` is shared
// with ExportCommand.
import Foundation
import NetworkPlan
import PlanStore
import SecureInference
import Training

/// The fixed-point accuracy of `plan` on the first `limit` images of `images` (all when nil).
public struct PlanAccuracy: Sendable {
    public var top1: Double
    public var images: Int
    public var gemmTerms: Int
    public var ringTerms: Int
    public var seconds: Double
    public var cpuSeconds: Double
    /// Top-1 class of each image.
    public var predictions: [Int]
    /// Images that exceeded a bound the program relies on (a ReLU's value bits, a square's or polynomial's
    /// range): their fixed-point (and secure) result may differ from the float model's.
    public var wrapped: Int
    /// Each image's fixed-point logits at the program's output scale (empty unless asked for).
    public var logits: [[UInt64]]
    /// The output scale of the logits (fractional bits).
    public var logitScale: Int
}

public func measurePlanAccuracy(_ plan: PlanContents, images: ImageSet, threads: Int, keepLogits: Bool = false) throws -> PlanAccuracy {
    let start = DispatchTime.now().uptimeNanoseconds, startCPU = Stopwatch.processCPU
    let program = try PlanCompilation.program(of: plan)
    let evaluator = FastFixedPointEvaluator(program: program)
    let result = evaluator.classify(pixels: images.pixels, count: images.count, input: plan.manifest.input, threads: threads,
                                    keepLogits: keepLogits)
    let correct = zip(result.predictions, images.labels).filter { $0 == Int($1) }.count
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return PlanAccuracy(top1: images.count == 0 ? 0 : Double(correct) / Double(images.count), images: images.count,
                        gemmTerms: result.statistics.gemmTerms, ringTerms: result.statistics.ringTerms, seconds: seconds,
                        cpuSeconds: Stopwatch.processCPU - startCPU, predictions: result.predictions,
                        wrapped: result.exceeded.filter { $0 }.count, logits: result.logits,
                        logitScale: program.tensors[program.output].scale)
}

/// The dataset a plan classifies: `requested` when given, else inferred from its class names
/// (100 classes: CIFAR-100; the synthetic set's names: synthetic; otherwise CIFAR-10).
public func planDataset(_ manifest: PlanManifest, requested: String?) throws -> DatasetKind {
    if let requested {
        guard let kind = DatasetKind(rawValue: requested.lowercased()) else {
            throw TrainingError.invalidOption(flag: "--dataset", value: requested, allowed: DatasetKind.allCases.map(\.rawValue))
        }
        return kind
    }
    if manifest.classNames.count == 100 { return .cifar100 }
    if manifest.classNames == SyntheticCIFAR.classNames(manifest.classNames.count) { return .synthetic }
    return .cifar10
}

/// The first `limit` images of a split (all when nil or larger).
public func firstImages(_ images: ImageSet, _ limit: Int?) -> ImageSet {
    guard let limit, limit < images.count else { return images }
    return images.subset(Array(0..<max(0, limit)))
}

/// What `sibyl test --plan DIR --split test|validation [--images N]` measures. The validation split is the
/// one training used with `validationCount` held-out images (5,000 by default; synthetic: at most 500).
public struct PlanTestRequest: Sendable {
    public var planDirectory: String
    public var split: String
    public var images: Int?
    public var dataDirectory: String
    public var dataset: String?
    public var validationCount: Int
    public var threads: Int
    /// Where to write each image's fixed-point logits (int64 .npy [images, classes], the integers at the
    /// program's output scale), and its float logits (float64 .npy, the plan's float weights evaluated in
    /// double precision by `ReferenceEvaluator`); nil: not written.
    public var logitsFile: String?
    public var floatLogitsFile: String?

    public init(planDirectory: String, split: String, images: Int?, dataDirectory: String, dataset: String? = nil,
                validationCount: Int = 5000, threads: Int = 2, logitsFile: String? = nil, floatLogitsFile: String? = nil) {
        self.planDirectory = planDirectory; self.split = split; self.images = images; self.dataDirectory = dataDirectory
        self.dataset = dataset; self.validationCount = validationCount; self.threads = threads
        self.logitsFile = logitsFile; self.floatLogitsFile = floatLogitsFile
    }

    /// The plan's fixed-point accuracy, its name and the dataset it was measured on.
    public func run() throws -> (accuracy: PlanAccuracy, plan: String, dataset: DatasetKind) {
        guard ["test", "validation"].contains(split) else {
            throw TrainingError.invalidOption(flag: "--split", value: split, allowed: ["test", "validation"])
        }
        let plan = try PlanFiles.read(from: URL(fileURLWithPath: planDirectory))
        let kind = try planDataset(plan.manifest, requested: dataset)
        let splits = try Datasets.load(kind, directory: URL(fileURLWithPath: dataDirectory), validationCount: validationCount)
        let set = firstImages(split == "test" ? splits.test : splits.validation, images)
        try checkPlanMatchesDataset(planName: planDirectory, classes: plan.manifest.classNames.count,
                                    input: plan.manifest.input.shape, dataset: kind, images: set)
        let accuracy = try measurePlanAccuracy(plan, images: set, threads: threads, keepLogits: logitsFile != nil)
        if let logitsFile {
            try NumpyFile.write(accuracy.logits.map { $0.map { Int64(bitPattern: $0) } }, to: URL(fileURLWithPath: logitsFile))
        }
        if let floatLogitsFile {
            let rows = try (0..<set.count).map { i in
                try ReferenceEvaluator.evaluate(graph: plan.manifest.graph, weights: plan.weights, activations: plan.manifest.activations,
                                                coefficients: plan.coefficients,
                                                input: PlaintextInput.normalize(set.image(i), spec: plan.manifest.input))
            }
            try NumpyFile.write(rows, to: URL(fileURLWithPath: floatLogitsFile))
        }
        return (accuracy, plan.manifest.name, kind)
    }
}

/// Refuses to run a plan on a dataset it was not made for: the class count and the image shape must be
/// the dataset's (a 10-class plan scored on CIFAR-100 would report 0% without complaint).
public func checkPlanMatchesDataset(planName: String, classes: Int, input: TensorShape, dataset kind: DatasetKind,
                             images: ImageSet) throws {
    guard classes == images.classCount else {
        throw TrainingError.mismatch("plan \(planName) classifies \(classes) classes but --dataset \(kind.rawValue) has "
            + "\(images.classCount); pass the --dataset the plan was exported for")
    }
    let side = ImageSet.side
    guard input == TensorShape(channels: 3, height: side, width: side) else {
        throw TrainingError.mismatch("plan \(planName) takes \(input) inputs but --dataset \(kind.rawValue) has 3x\(side)x\(side) images")
    }
}
