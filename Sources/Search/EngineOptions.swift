// Settings of engine-backed member training that the planner does not search.

public struct EngineOptions: Codable, Hashable, Sendable {
    /// Images per optimizer step.
    public var batchSize: Int = 128
    /// Coupled L2 weight decay on conv and dense weights (the baseline's default).
    public var weightDecay: Float = 5e-4
    /// Clip every gradient element to [-v, v] before the norm clipping (Delphi clipped by value at 2.0);
    /// nil: norm clipping only.
    public var clipValue: Float? = nil
    /// One coefficient set per channel (true) or one per slot.
    public var perChannelCoefficients = true
    /// A round diverges when a loss is not finite or the smoothed label cross-entropy exceeds this
    /// multiple of the larger of the round's first loss and the chance-level loss ln(classes).
    public var divergenceFactor: Double = 10
    /// Weight of the distillation term (KL to the all-ReLU baseline's softened logits); 0 switches it off.
    public var distillationWeight: Float = 0
    /// Softmax temperature of distillation (Hinton et al. 2015).
    public var distillationTemperature: Float = 4
    /// Random crop and flip of training images.
    public var augment = true
    /// Seed of the data order; a member's order is derived from (seed, member, round).
    public var seed: UInt64 = 1
    /// Print one line per member round to standard error.
    public var showsProgress = false

    public init() {}
}
