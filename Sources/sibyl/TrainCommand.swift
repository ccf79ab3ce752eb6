// `sibyl train`: trains a model on a dataset, writing metrics.jsonl, checkpoint.h5 and best.h5 to --out.
import ArgumentParser
import Foundation
import NetworkPlan
import Tensors
import Training

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model with SGD (all-ReLU baseline, or all-polynomial with --activation poly:D); resumable from DIR/checkpoint.h5.")

    @Option(help: "Model.") var model: ModelKind = .resnet32
    @Option(help: "Dataset.") var dataset: DatasetKind = .cifar100
    @Option(help: "Number of epochs (with --resume: the total, so a run can be extended).") var epochs: Int = 30
    @Option(name: .customLong("batch-size"), help: "Images per step.") var batchSize: Int = 128
    @Option(help: "Peak learning rate.", transform: FlagValue.positive) var lr: Float = 0.1
    @Option(help: "Learning-rate schedule.") var schedule: ScheduleKind = .onecycle
    @Option(help: "Warmup share of the steps (default 0.15 for onecycle, 0 for cosine).", transform: FlagValue.fraction) var warmup: Float?
    @Option(help: "Run directory (metrics.jsonl, checkpoint.h5, best.h5).") var out: String
    @Flag(help: "Continue the run in --out from its checkpoint.h5.") var resume = false
    @Option(help: "Seed for weights and data order.") var seed: UInt64 = 1
    @Option(help: "SGD momentum, in [0, 1).", transform: FlagValue.fraction) var momentum: Float = 0.9
    @Flag(help: "Use Nesterov momentum.") var nesterov = false
    @Option(name: .customLong("weight-decay"), help: "Coupled L2 weight decay on conv/dense weights.", transform: FlagValue.nonNegative) var weightDecay: Float = 5e-4
    @Option(name: .customLong("label-smoothing"), help: "Label smoothing epsilon, in [0, 1).", transform: FlagValue.fraction) var labelSmoothing: Float = 0
    @Option(name: .customLong("clip-norm"), help: "Clip gradients to this global L2 norm.", transform: FlagValue.positive) var clipNorm: Float?
    @Option(name: .customLong("clip-value"), help: "Clip each gradient element to [-v, v].", transform: FlagValue.positive) var clipValue: Float?
    @Option(name: .customLong("data-dir"), help: "Folder holding the datasets.") var dataDir: String = "Datasets"
    @Option(help: "Worker threads.") var threads: Int = 2
    @Option(help: KernelChoice.help) var kernels: KernelChoice = .auto
    @Flag(name: .customLong("no-augment"), help: "Disable random crop and flip.") var noAugment = false
    @Option(help: "Cutout (DeVries and Taylor 2017): after crop and flip, zero an N x N square around a random pixel of each training image (clipped at the borders; 0: off).")
    var cutout: Int = 0
    @Option(name: .customLong("validation-count"), help: "Training images held out for validation.") var validationCount: Int = 5000
    @Option(help: "Activation of every slot: relu, or poly:D (a learnable polynomial of degree D in 1...6 per channel, fitted to ReLU over [-R, R] with R = --poly-range, its input clamped to that range in training).",
            transform: ActivationFlag.parse)
    var activation: ActivationFlag = ActivationFlag(degree: nil)
    @Option(name: .customLong("poly-range"), help: "Input range R of polynomial activations (Diaa et al. clip at 5).",
            transform: FlagValue.positive)
    var polyRange: Float = TrainingActivation.defaultRange
    @Option(name: .customLong("range-penalty"), help: "Weight of the loss on polynomial inputs outside [-R, R] (0: off).",
            transform: FlagValue.nonNegative)
    var rangePenalty: Float = TrainingActivation.defaultPenalty
    @Option(name: .customLong("coefficient-bits"), help: "Keep polynomial coefficients on multiples of 2^-B (straight-through rounding), e.g. 10 as Diaa et al.")
    var coefficientBits: Int?

    func validate() throws {
        if epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if validationCount < 0 { throw ValidationError("--validation-count must be at least 0") }
        if !(0...32).contains(cutout) { throw ValidationError("--cutout must be in 0...32 (the side of the square, in pixels)") }
        if cutout > 0 && noAugment { throw ValidationError("--cutout is an augmentation: it cannot go with --no-augment") }
        if activation.degree == nil, polyRange != TrainingActivation.defaultRange || rangePenalty != TrainingActivation.defaultPenalty || coefficientBits != nil {
            throw ValidationError("--poly-range, --range-penalty and --coefficient-bits apply to --activation poly:D only")
        }
        if let bits = coefficientBits, !(1...40).contains(bits) { throw ValidationError("--coefficient-bits must be in 1...40") }
    }

    func run() throws {
        BLASInfo.reportEnvironment()
        kernels.apply()
        let kind = dataset
        var config = TrainingConfig(
            model: model, dataset: kind.rawValue, epochs: epochs, batchSize: batchSize,
            learningRate: lr, schedule: schedule, warmupFraction: warmup,
            sgd: SGDSettings(momentum: momentum, nesterov: nesterov, weightDecay: weightDecay),
            labelSmoothing: labelSmoothing, clipNorm: clipNorm, clipValue: clipValue, seed: seed, threads: threads,
            augment: !noAugment, validationCount: validationCount,
            activation: activation.degree.map { .polynomial(degree: $0, range: polyRange, penalty: rangePenalty) } ?? .relu)
        config.coefficientFractionalBits = coefficientBits
        config.cutout = cutout > 0 ? cutout : nil
        let directory = URL(fileURLWithPath: out)
        // Refuse early (before loading data) when the directory is taken.
        if !resume && FileManager.default.fileExists(atPath: directory.appendingPathComponent("checkpoint.h5").path) {
            throw TrainingError.runDirectoryInUse(directory: directory.path)
        }
        let splits = try Datasets.load(kind, directory: URL(fileURLWithPath: dataDir), validationCount: validationCount)
        let trainer = try Trainer.prepare(config: config, splits: splits, directory: directory, resume: resume)
        if resume {
            ProgressLine.write("resuming \(directory.path) after epoch \(trainer.epochsCompleted) of \(trainer.config.epochs)\n")
        }
        ProgressLine.write("training \(trainer.config.model.rawValue) (\(trainer.network.parameterCount) parameters) on "
                           + "\(kind.rawValue): \(splits.train.count) train / \(splits.validation.count) validation images, "
                           + "\(trainer.stepsPerEpoch) steps per epoch, \(trainer.config.threads) threads, "
                           + "convolutions: \(NativeKernels.convolutionName)\n")
        try trainer.run()
        let best = trainer.bestValidationAccuracy
        print(String(format: "done: %d epochs, best validation accuracy %.4f; checkpoint %@", trainer.epochsCompleted, best,
                     trainer.checkpointURL.path))
    }
}

/// `--activation relu|poly:D`.
struct ActivationFlag: Sendable {
    /// nil: ReLU.
    var degree: Int?

    static func parse(_ text: String) throws -> ActivationFlag {
        let lowered = text.lowercased()
        if lowered == "relu" { return ActivationFlag(degree: nil) }
        if lowered.hasPrefix("poly:"), let degree = Int(lowered.dropFirst(5)), PlanManifest.supportedPolynomialDegrees.contains(degree) {
            return ActivationFlag(degree: degree)
        }
        throw ValidationError("--activation takes relu or poly:D with D in \(PlanManifest.supportedPolynomialDegrees), e.g. poly:4; got '\(text)'")
    }
}
