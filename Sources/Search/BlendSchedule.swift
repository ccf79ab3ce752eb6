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
