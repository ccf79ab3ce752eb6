/// What one member reported after a training interval.
public struct MemberResult: Codable, Hashable, Sendable {
    public var member: Int
    /// Training round (interval) that produced the result, counted from 1.
    public var round: Int
    public var validationAccuracy: Double
    /// Mean training loss of the round; -1 when the member diverged.
    public var trainLoss: Double
    /// NaN or exploding loss: the member is re-seeded from a top member whatever its rank.
    public var diverged: Bool

    public init(member: Int, round: Int, validationAccuracy: Double, trainLoss: Double, diverged: Bool) {
        self.member = member
        self.round = round
        self.validationAccuracy = validationAccuracy
        self.trainLoss = trainLoss
        self.diverged = diverged
    }
}

/// The scheduler's verdict for one member after a round.
public enum Decision: Codable, Hashable, Sendable {
    /// Keep training with the current weights and config.
    case `continue`(member: Int)
    /// Copy weights from `source`, take `config` (the source's config, explored).
    case exploit(member: Int, source: Int, config: MemberConfig)

    public var member: Int {
        switch self {
        case .continue(let member), .exploit(let member, _, _): return member
        }
    }
}

/// Population-based training's scheduler: it never trains, it only decides from reported results.
///
/// Exploit follows Ray Tune's PBT defaults (quantile 0.25): members in the bottom quantile copy the weights
/// and config of a member drawn uniformly from the top quantile, then explore. Diverged members always
/// exploit. Ties in accuracy go to the member with the lower index, so decisions are deterministic.
public struct PBTScheduler: Codable, Hashable, Sendable {
    public var quantile: Double = 0.25
    public var explorer = Explorer()

    public init() {}

    public init(quantile: Double, explorer: Explorer) {
        precondition(quantile > 0 && quantile <= 0.5, "quantile must be in (0, 0.5]")
        self.quantile = quantile
        self.explorer = explorer
    }

    /// Bottom and top members of a population, by validation accuracy (diverged members rank last).
    public func quantiles(of results: [MemberResult]) -> (bottom: [Int], top: [Int]) {
        let ranked = results.sorted { a, b in
            let sa = a.diverged || a.validationAccuracy.isNaN ? -Double.infinity : a.validationAccuracy
            let sb = b.diverged || b.validationAccuracy.isNaN ? -Double.infinity : b.validationAccuracy
            return sa != sb ? sa < sb : a.member > b.member
        }
        var count = Int((Double(ranked.count) * quantile).rounded(.up))
        if Double(count) > Double(ranked.count) / 2 { count = ranked.count / 2 }
        let bottom = ranked.prefix(count).map(\.member)
        let top = ranked.suffix(count).map(\.member)
        return (bottom, top)
    }

    /// Decisions for every member that reported, given the current configs of all members.
    public func decide(results: [MemberResult], configs: [Int: MemberConfig], space: SearchSpace,
                       target: SearchTarget, costModel: CostModel, seed: UInt64) -> [Decision] {
        let (bottom, top) = quantiles(of: results)
        let topHealthy = top.filter { member in !(results.first { $0.member == member }?.diverged ?? true) }
        let bottomSet = Set(bottom)
        var decisions: [Decision] = []
        for result in results.sorted(by: { $0.member < $1.member }) {
            let needsExploit = bottomSet.contains(result.member) || result.diverged
            let sources = topHealthy.filter { $0 != result.member && configs[$0] != nil }.sorted()
            guard needsExploit, !sources.isEmpty else {
                decisions.append(.continue(member: result.member))
                continue
            }
            var generator = SeededGenerator.derived(seed: seed, member: result.member, step: result.round)
            let source = sources[Int.random(in: 0..<sources.count, using: &generator)]
            let explored = explorer.explore(configs[source]!, space: space, target: target, costModel: costModel,
                                            generator: &generator)
            decisions.append(.exploit(member: result.member, source: source, config: explored))
        }
        return decisions
    }
}
