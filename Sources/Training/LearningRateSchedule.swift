// Learning-rate schedules, evaluated per step (t in 0..<T):
//   cosine  (Loshchilov & Hutter, SGDR, ICLR 2017, one cycle without restarts): lr * (1 + cos(pi t/T)) / 2,
//           after a linear warmup over `warmupFraction` of the steps when it is positive;
//   step    (He et al. 2016): lr, divided by 10 at 50% and again at 75% of the steps;
//   onecycle (Smith & Topin 2017, as PyTorch's OneCycleLR with cosine annealing): from lr/25 up to lr
//           over the first `warmupFraction` (default 0.15) of the steps, then down to lr/(25*1e4).
//           Momentum is not cycled.
//   constant: lr.
import Foundation

public enum ScheduleKind: String, CaseIterable, Codable, Sendable {
    case onecycle, cosine, step, constant

    public static func parse(_ name: String, flag: String = "--schedule") throws -> ScheduleKind {
        guard let kind = ScheduleKind(rawValue: name.lowercased()) else {
            throw TrainingError.invalidOption(flag: flag, value: name, allowed: allCases.map(\.rawValue))
        }
        return kind
    }
}

public struct LearningRateSchedule: Codable, Equatable, Sendable {
    public var kind: ScheduleKind
    public var peak: Float
    public var totalSteps: Int
    public var warmupFraction: Float

    public init(kind: ScheduleKind, peak: Float, totalSteps: Int, warmupFraction: Float? = nil) {
        self.kind = kind
        self.peak = peak
        self.totalSteps = max(1, totalSteps)
        self.warmupFraction = warmupFraction ?? (kind == .onecycle ? 0.15 : 0)
    }

    public func learningRate(step: Int) -> Float {
        let T = Double(totalSteps), t = Double(min(max(step, 0), totalSteps - 1))
        let lr = Double(peak)
        func cosineBetween(_ from: Double, _ to: Double, _ p: Double) -> Double { to + (from - to) * (1 + cos(Double.pi * p)) / 2 }
        switch kind {
        case .constant:
            return peak
        case .step:
            let p = t / T
            return Float(lr * (p < 0.5 ? 1 : p < 0.75 ? 0.1 : 0.01))
        case .cosine:
            let warm = Double(warmupFraction) * T
            if t < warm { return Float(lr * (t + 1) / warm) }
            return Float(cosineBetween(lr, 0, (t - warm) / max(1, T - warm)))
        case .onecycle:
            let initial = lr / 25, final = initial / 1e4
            let up = max(1, Double(warmupFraction) * T - 1)
            if t <= up { return Float(cosineBetween(initial, lr, t / up)) }
            return Float(cosineBetween(lr, final, (t - up) / max(1, T - 1 - up)))
        }
    }
}
