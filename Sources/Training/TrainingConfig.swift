// The full configuration of a training run; stored as JSON in every checkpoint.

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
    public var validationCount: Int

    public init(model: ModelKind, dataset: String, epochs: Int, batchSize: Int = 128, learningRate: Float = 0.1,
                schedule: ScheduleKind = .onecycle, warmupFraction: Float? = nil, sgd: SGDSettings = SGDSettings(),
                labelSmoothing: Float = 0, clipNorm: Float? = nil, clipValue: Float? = nil, seed: UInt64 = 1,
                threads: Int = 2, augment: Bool = true, validationCount: Int = 5000) {
        self.model = model; self.dataset = dataset; self.epochs = epochs; self.batchSize = batchSize
        self.learningRate = learningRate; self.schedule = schedule; self.warmupFraction = warmupFraction
        self.sgd = sgd; self.labelSmoothing = labelSmoothing; self.clipNorm = clipNorm; self.clipValue = clipValue
        self.seed = seed; self.threads = threads; self.augment = augment; self.validationCount = validationCount
    }

    /// Differences that make resuming meaningless (a different network or data).
    public func incompatibility(with stored: TrainingConfig) -> String? {
        if model != stored.model { return "the checkpoint trains --model \(stored.model.rawValue), not \(model.rawValue)" }
        if dataset != stored.dataset { return "the checkpoint trains on --dataset \(stored.dataset), not \(dataset)" }
        if validationCount != stored.validationCount { return "the checkpoint used a \(stored.validationCount)-image validation split" }
        return nil
    }
}
