/// One evaluated placement: what it achieved and what it costs.
public struct ParetoPoint: Codable, Hashable, Sendable {
    public var member: Int
    public var round: Int
    public var validationAccuracy: Double
    public var predictedOnlineSeconds: Double
    public var relus: Int
    public var config: MemberConfig

    public init(member: Int, round: Int, validationAccuracy: Double, predictedOnlineSeconds: Double, relus: Int,
                config: MemberConfig) {
        self.member = member
        self.round = round
        self.validationAccuracy = validationAccuracy
        self.predictedOnlineSeconds = predictedOnlineSeconds
        self.relus = relus
        self.config = config
    }

}

/// What a Pareto front ranks: validation accuracy (higher is better) against predicted online latency and
/// ReLU count (lower is better).
public protocol ParetoCandidate {
    var validationAccuracy: Double { get }
    var predictedOnlineSeconds: Double { get }
    var relus: Int { get }
}

extension ParetoCandidate {
    /// At least as good on every axis (higher accuracy, lower latency, fewer ReLUs) and better on one.
    public func dominates(_ other: some ParetoCandidate) -> Bool {
        let noWorse = validationAccuracy >= other.validationAccuracy
            && predictedOnlineSeconds <= other.predictedOnlineSeconds && relus <= other.relus
        let better = validationAccuracy > other.validationAccuracy
            || predictedOnlineSeconds < other.predictedOnlineSeconds || relus < other.relus
        return noWorse && better
    }

    /// The same costs (ReLUs and predicted latency).
    func sameCost(as other: some ParetoCandidate) -> Bool {
        relus == other.relus && predictedOnlineSeconds == other.predictedOnlineSeconds
    }
}

extension ParetoPoint: ParetoCandidate {}

/// The non-dominated points of accuracy against predicted latency and ReLU count, over every member and
/// round of a search.
public struct ParetoFront: Codable, Hashable, Sendable {
    public private(set) var points: [ParetoPoint] = []

    public init() {}

    /// Adds a point unless dominated; drops the points it dominates. Returns whether it was kept.
    @discardableResult
    public mutating func insert(_ point: ParetoPoint) -> Bool {
        guard point.validationAccuracy.isFinite else { return false }
        if points.contains(where: { $0.dominates(point) || $0.sameCost(as: point) && $0.validationAccuracy >= point.validationAccuracy }) {
            return false
        }
        points.removeAll { point.dominates($0) || point.sameCost(as: $0) }
        points.append(point)
        points.sort { ($0.relus, -$0.validationAccuracy) < ($1.relus, -$1.validationAccuracy) }
        return true
    }

    /// The most accurate point whose cost meets `isAffordable`.
    public func best(where isAffordable: (ParetoPoint) -> Bool) -> ParetoPoint? {
        points.filter(isAffordable).max { a, b in
            a.validationAccuracy != b.validationAccuracy ? a.validationAccuracy < b.validationAccuracy
                : a.predictedOnlineSeconds > b.predictedOnlineSeconds
        }
    }
}
