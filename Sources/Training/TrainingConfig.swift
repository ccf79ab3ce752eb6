// The full configuration of a training run; stored as JSON in every checkpoint.

/// What every activation slot of a network trained by `sibyl train` computes.
public enum TrainingActivation: Codable, Equatable, Sendable, CustomStringConvertible {
    case relu
    /// A learnable polynomial per channel, initialised to the least-squares fit of ReLU over
    /// [-range, range]; in training its input is clamped to that range and `penalty` weighs the range
    /// loss (Tape.rangePenalty) of values outside it (Diaa et al., USENIX Security 2024).
    case polynomial(degree: Int, range: Float, penalty: Float)

    /// `sibyl train`'s defaults for `--poly-range` (Diaa et al. clip at 5) and `--range-penalty`.
    public static let defaultRange: Float = 5
    public static let defaultPenalty: Float = 0.5

    public var description: String {
        switch self {
        case .relu: return "relu"
        case let .polynomial(degree, range, penalty): return "poly:\(degree) (range \(range), penalty \(penalty))"
        }
    }
}

public struct TrainingConfig: Codable, Equatable, Sendable {
    public var model: ModelKind
    /// DatasetKind raw value: cifar10, cifar100, synthetic.
    public var dataset: String
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var schedule: ScheduleKind
    /// Warmup share of the steps (one-cycle default 0.15, cosine default 0).
    public var warmupFraction: Float?
    public var sgd: SGDSettings
    public var labelSmoothing: Float
    public var clipNorm: Float?
    public var clipValue: Float?
    public var seed: UInt64
    public var threads: Int
    public var augment: Bool
    /// Side of the cutout square of augmented training images; nil (runs from before the option): none.
    public var cutout: Int?
    public var validationCount: Int
    /// nil (runs from before the option) means ReLU.
    public var activation: TrainingActivation?
    /// Polynomial coefficients on the grid of multiples of 2^-bits (straight-through rounding); nil: off.
    public var coefficientFractionalBits: Int?
    /// The input normalisation the network was trained with, when it is not the one Sibyl computes from the
    /// training split (a network brought in by `sibyl import`); nil: computed from the data.
    public var normalization: Normalization?
    /// Class names the network was given with (by `sibyl import`); nil: the dataset's.
    public var classNames: [String]?

    public init(model: ModelKind, dataset: String, epochs: Int, batchSize: Int = 128, learningRate: Float = 0.1,
                schedule: ScheduleKind = .onecycle, warmupFraction: Float? = nil, sgd: SGDSettings = SGDSettings(),
                labelSmoothing: Float = 0, clipNorm: Float? = nil, clipValue: Float? = nil, seed: UInt64 = 1,
                threads: Int = 2, augment: Bool = true, validationCount: Int = 5000, activation: TrainingActivation = .relu) {
        self.model = model; self.dataset = dataset; self.epochs = epochs; self.batchSize = batchSize
        self.learningRate = learningRate; self.schedule = schedule; self.warmupFraction = warmupFraction
        self.sgd = sgd; self.labelSmoothing = labelSmoothing; self.clipNorm = clipNorm; self.clipValue = clipValue
        self.seed = seed; self.threads = threads; self.augment = augment; self.validationCount = validationCount
        self.activation = activation == .relu ? nil : activation
    }

    /// Why a run started with `stored` cannot be resumed with this configuration, or nil. Only the
    /// length of the run (`epochs`, at least `completedEpochs`) and the thread count may change: any other
    /// differing option would silently train another run than the one asked for, so each is named with
    /// its flag, the checkpoint's value and the given one.
    public func incompatibility(with stored: TrainingConfig, completedEpochs: Int) -> String? {
        func text<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "unset" }
        var changed: [String] = []
        func compare<T: Equatable>(_ flag: String, _ given: T?, _ old: T?) {
            if given != old { changed.append("\(flag) \(text(old)) (given: \(text(given)))") }
        }
        compare("--model", model.rawValue, stored.model.rawValue)
        compare("--dataset", dataset, stored.dataset)
        compare("--validation-count", validationCount, stored.validationCount)
        compare("--batch-size", batchSize, stored.batchSize)
        compare("--lr", learningRate, stored.learningRate)
        compare("--schedule", schedule.rawValue, stored.schedule.rawValue)
        compare("--warmup", warmupFraction, stored.warmupFraction)
        compare("--momentum", sgd.momentum, stored.sgd.momentum)
        compare("--nesterov", sgd.nesterov, stored.sgd.nesterov)
        compare("--weight-decay", sgd.weightDecay, stored.sgd.weightDecay)
        compare("--label-smoothing", labelSmoothing, stored.labelSmoothing)
        compare("--clip-norm", clipNorm, stored.clipNorm)
        compare("--clip-value", clipValue, stored.clipValue)
        compare("--seed", seed, stored.seed)
        compare("--no-augment", !augment, !stored.augment)
        compare("--cutout", cutout ?? 0, stored.cutout ?? 0)
        compare("--activation", (activation ?? .relu).description, (stored.activation ?? .relu).description)
        compare("--coefficient-bits", coefficientFractionalBits, stored.coefficientFractionalBits)
        if !changed.isEmpty {
            return "the run was started with " + changed.joined(separator: ", ")
                + "; resume with the run's own options (only --epochs and --threads may change)"
        }
        if epochs < completedEpochs {
            return "--epochs \(epochs) is below the \(completedEpochs) epochs the run has already finished; give --epochs \(completedEpochs) or more"
        }
        return nil
    }
}
