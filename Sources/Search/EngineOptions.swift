// Settings of engine-backed member training that the planner does not search.
import Training

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
    /// How a newly polynomial slot's coefficients start: fitted to ReLU over its measured inputs, or
    /// Delphi's fixed 0.2 + 0.5x + 0.2x^2.
    public var polynomialInitialization: PolynomialInitialization.Kind = .fitted
    /// Training images (a fixed, unaugmented sample) whose slot inputs the fitted initialisation measures.
    public var fitImages = 512
    /// Each channel's input range is its largest measured |x|, but at most this many root mean squares
    /// of its inputs (nil: the largest |x|); the fit reads inputs clamped to it, and training clamps the
    /// polynomial's input to it. Heavy-tailed channels (residual sums) would otherwise get ranges set by
    /// a few outliers, over which a degree-4 polynomial fitted to the bulk is far from ReLU.
    public var fitDeviations: Float? = 8
    /// Weight of the uniform distribution over the range in the fit (0: the measured distribution only;
    /// see ReLUFitMoments.coefficients(channel:uniformWeight:)).
    public var fitUniformWeight: Float = 0.05
    /// Train polynomial coefficients in units of each channel's input range (ActivationSlot.scaleCoefficientGradient).
    public var normalizedCoefficients = true
    /// Keep coefficients on the grid of multiples of 2^-bits (straight-through rounding); nil: off.
    public var coefficientFractionalBits: Int? = nil
    /// Weight of the range penalty of polynomial slots (Tape.rangePenalty against each channel's input
    /// range measured when the slot switched; in training the polynomial also reads its input clamped to
    /// that range). 0 switches the penalty off (the clamp stays).
    public var rangePenaltyWeight: Float = 0.5
    /// A round diverges when a loss is not finite or the smoothed label cross-entropy exceeds this
    /// multiple of the larger of the round's first loss and the chance-level loss ln(classes).
    public var divergenceFactor: Double = 10
    /// Polynomial channels that a placement turns back into ReLU blend back gradually (alpha from 0 to 1
    /// over the member's blend schedule, mirroring the way polynomials come in) instead of switching at
    /// once. nil or false: at once (the behaviour of searches logged before the option existed).
    public var reverseBlending: Bool? = nil
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

    enum CodingKeys: String, CodingKey {
        case batchSize, weightDecay, clipValue, perChannelCoefficients, polynomialInitialization, fitImages, fitDeviations,
             fitUniformWeight, normalizedCoefficients, coefficientFractionalBits, rangePenaltyWeight,
             divergenceFactor, distillationWeight, distillationTemperature, augment, seed, showsProgress
    }

    /// Reads requests written before a setting existed with that setting's default.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = EngineOptions()
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? d.weightDecay
        clipValue = try c.decodeIfPresent(Float.self, forKey: .clipValue)
        perChannelCoefficients = try c.decodeIfPresent(Bool.self, forKey: .perChannelCoefficients) ?? d.perChannelCoefficients
        // Requests from before the fitted initialisation used Delphi's.
        polynomialInitialization = try c.decodeIfPresent(PolynomialInitialization.Kind.self,
                                                         forKey: .polynomialInitialization) ?? .delphi
        fitImages = try c.decodeIfPresent(Int.self, forKey: .fitImages) ?? d.fitImages
        // Requests from before these settings used the largest |x| as the range and a data-weighted fit.
        fitDeviations = try c.decodeIfPresent(Float.self, forKey: .fitDeviations)
        fitUniformWeight = try c.decodeIfPresent(Float.self, forKey: .fitUniformWeight) ?? 0
        // Requests from before it trained raw coefficients.
        normalizedCoefficients = try c.decodeIfPresent(Bool.self, forKey: .normalizedCoefficients) ?? false
        coefficientFractionalBits = try c.decodeIfPresent(Int.self, forKey: .coefficientFractionalBits)
        // Requests from before the range penalty had none.
        rangePenaltyWeight = try c.decodeIfPresent(Float.self, forKey: .rangePenaltyWeight) ?? 0
        divergenceFactor = try c.decodeIfPresent(Double.self, forKey: .divergenceFactor) ?? d.divergenceFactor
        distillationWeight = try c.decodeIfPresent(Float.self, forKey: .distillationWeight) ?? d.distillationWeight
        distillationTemperature = try c.decodeIfPresent(Float.self, forKey: .distillationTemperature)
            ?? d.distillationTemperature
        augment = try c.decodeIfPresent(Bool.self, forKey: .augment) ?? d.augment
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        showsProgress = try c.decodeIfPresent(Bool.self, forKey: .showsProgress) ?? d.showsProgress
    }
}
