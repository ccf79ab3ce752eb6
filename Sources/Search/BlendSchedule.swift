// The blending schedule that brings a polynomial into a trained ReLU network gradually (Delphi, Mishra
// et al., USENIX Security 2020, §5: the activation is alpha * ReLU(x) + (1 - alpha) * poly(x) with alpha
// lowered linearly from 1 to 0 during training).

/// Linear alpha from 1 (pure ReLU) to 0 (pure polynomial) over `totalSteps` optimizer steps.
public struct BlendSchedule: Codable, Hashable, Sendable {
    /// Steps from the start of blending to alpha 0 (at least 1).
    public let totalSteps: Int

    public init(totalSteps: Int) {
        self.totalSteps = max(1, totalSteps)
    }

    /// The schedule for `epochs` worth of steps at `stepsPerEpoch` steps per epoch.
    public init(epochs: Double, stepsPerEpoch: Int) {
        let steps = epochs.isFinite ? (epochs * Double(max(1, stepsPerEpoch))).rounded() : 1
        self.init(totalSteps: Int(max(1, min(steps, Double(Int32.max)))))
    }

    /// Alpha for the step taken after `completedSteps` steps of blending: 1 at the first step, falling
    /// linearly, 0 from step `totalSteps` on.
    public func alpha(afterSteps completedSteps: Int) -> Float {
        guard completedSteps > 0 else { return 1 }
        guard completedSteps < totalSteps else { return 0 }
        return Float(Double(totalSteps - completedSteps) / Double(totalSteps))
    }

    /// Whether blending is over after `completedSteps` steps (the slot is then a plain polynomial).
    public func isFinished(afterSteps completedSteps: Int) -> Bool { completedSteps >= totalSteps }
}

/// One channel's blending progress as a member stores it (one integer per channel, in checkpoints too):
/// -1 ReLU; k >= 0: k steps of blending towards the polynomial (alpha = schedule.alpha(afterSteps: k));
/// -2 - k: k steps of blending back towards ReLU (alpha = 1 - schedule.alpha(afterSteps: k)), ReLU once
/// the schedule is over.
public enum BlendProgress: Equatable, Sendable {
    case relu
    case towardsPolynomial(Int)
    case towardsReLU(Int)

    public init(_ encoded: Int) {
        if encoded >= 0 { self = .towardsPolynomial(encoded) } else if encoded == -1 { self = .relu } else { self = .towardsReLU(-2 - encoded) }
    }

    public var encoded: Int {
        switch self {
        case .relu: return -1
        case .towardsPolynomial(let k): return k
        case .towardsReLU(let k): return -2 - k
        }
    }

    public var isPolynomialward: Bool { if case .towardsPolynomial = self { return true } else { return false } }
    public var isReLUward: Bool { if case .towardsReLU = self { return true } else { return false } }

    /// Whether the channel evaluates its polynomial (blended or not): everything but ReLU.
    public var usesPolynomial: Bool { self != .relu }

    /// Its alpha under `schedule` (1: ReLU, 0: polynomial).
    public func alpha(_ schedule: BlendSchedule) -> Float {
        switch self {
        case .relu: return 1
        case .towardsPolynomial(let k): return schedule.alpha(afterSteps: k)
        case .towardsReLU(let k): return 1 - schedule.alpha(afterSteps: k)
        }
    }

    /// After one more optimizer step: ReLU-ward channels whose schedule is over are ReLU.
    public func advanced(_ schedule: BlendSchedule) -> BlendProgress {
        switch self {
        case .relu: return .relu
        case .towardsPolynomial(let k): return .towardsPolynomial(k == Int(Int32.max) ? k : k + 1)
        case .towardsReLU(let k): return k + 1 >= schedule.totalSteps ? .relu : .towardsReLU(k + 1)
        }
    }
}
