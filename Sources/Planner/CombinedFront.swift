import NetworkCost
import NetworkPlan

/// Several searches over one network, and optionally the all-ReLU baseline, on one Pareto front: what
/// `sibyl front` writes. One search only covers placements near its own target (`--max-relus 53248` keeps
/// members at or under 53,248 ReLUs); a front from all-ReLU down to all-polynomial is the union of searches at
/// several targets. Points are comparable only when every search predicts latency with the same cost model and
/// network profile over the same activation slots; `combine` refuses anything else, unless it is given a
/// `Pricing`: then every point's latency is predicted anew from its placement with that one cost model and
/// query (runs logged with different cost models, or a front on another phase or network than the searches').
public struct CombinedFront: Codable, Hashable, Sendable {
    public struct Point: Codable, Hashable, Sendable, ParetoCandidate {
        /// Where the point comes from: a run's name, or "baseline".
        public var source: String
        /// The member and round within that run (nil for the baseline).
        public var member: Int?
        public var round: Int?
        public var validationAccuracy: Double
        /// Filled in by the caller when it measures the point's checkpoint on the test split (never used to
        /// rank points).
        public var testAccuracy: Double?
        public var predictedOnlineSeconds: Double
        public var relus: Int
        /// `Placement.signature`: one character per slot.
        public var placement: String

        public init(source: String, member: Int?, round: Int?, validationAccuracy: Double, testAccuracy: Double? = nil,
                    predictedOnlineSeconds: Double, relus: Int, placement: String) {
            self.source = source
            self.member = member
            self.round = round
            self.validationAccuracy = validationAccuracy
            self.testAccuracy = testAccuracy
            self.predictedOnlineSeconds = predictedOnlineSeconds
            self.relus = relus
            self.placement = placement
        }
    }

    /// The non-dominated points, fewest ReLUs first.
    public var points: [Point]
    /// The network profile latencies are predicted for.
    public var network: String
    /// What latencies are predicted for: network, phase and ReLU protocol (absent in fronts written before
    /// 2026-12-04: online, garbled).
    public var query: CostQuery?
    public var costModel: CostModel
    public var slots: [SlotDescriptor]

    /// One cost model and query to predict every point's latency with (`combine`).
    public struct Pricing: Sendable {
        public var costModel: CostModel
        public var query: CostQuery
        public init(costModel: CostModel, query: CostQuery) { self.costModel = costModel; self.query = query }

        public func seconds(_ placement: Placement, slots: [SlotDescriptor]) -> Double {
            costModel.predictSeconds(placement: placement, slots: slots, query: query)
        }
    }

    /// The front over every run's points plus `extra` (the baseline, priced by the caller). `runs` pairs a name
    /// with the replayed log of a search. Without `pricing`, the candidates are each run's own front with the
    /// latencies it logged; with it, every member report of every run (a point one run's front dropped on its
    /// own latencies may survive on the new ones), priced anew.
    public static func combine(runs: [(name: String, state: SearchState)], extra: [Point] = [],
                               pricing: Pricing? = nil) throws -> CombinedFront {
        try checkCompatible(runs, sameCosts: pricing == nil)
        let settings = runs[0].state.settings
        if let pricing, let missing = pricing.costModel.missingFigures(
            for: pricing.query, degrees: Array(Set(runs.flatMap(\.state.settings.space.degrees)))) {
            throw PlannerError.incompatibleRuns("cannot price the front anew: " + missing + ", or pass --cost-model with such a model")
        }
        var candidates = extra
        for run in runs {
            let points = pricing == nil ? run.state.front.points : run.state.reports
            for point in points where point.validationAccuracy.isFinite {
                let placement = point.config.placement
                candidates.append(Point(source: run.name, member: point.member, round: point.round,
                                        validationAccuracy: point.validationAccuracy,
                                        predictedOnlineSeconds: pricing?.seconds(placement, slots: settings.space.slots)
                                            ?? point.predictedOnlineSeconds,
                                        relus: point.relus, placement: placement.signature))
            }
        }
        let kept = candidates.filter { candidate in
            candidate.validationAccuracy.isFinite && !candidates.contains { $0.dominates(candidate) }
        }
        // Equal points (same costs and accuracy) from different runs: keep the first.
        var unique: [Point] = []
        for point in kept where !unique.contains(where: {
            $0.sameCost(as: point) && $0.validationAccuracy == point.validationAccuracy
        }) {
            unique.append(point)
        }
        unique.sort { ($0.relus, -$0.validationAccuracy) < ($1.relus, -$1.validationAccuracy) }
        let query = pricing?.query ?? settings.target.costQuery
        return CombinedFront(points: unique, network: query.network.name, query: query,
                             costModel: pricing?.costModel ?? settings.costModel, slots: settings.space.slots)
    }

    /// Throws unless every run searched the same slots and (with `sameCosts`) predicted latency with the same
    /// cost model for the same network profile, phase and ReLU protocol (callers check this before measuring
    /// anything).
    public static func checkCompatible(_ runs: [(name: String, state: SearchState)], sameCosts: Bool = true) throws {
        guard let first = runs.first else { throw PlannerError.incompatibleRuns("no runs given") }
        let query = first.state.settings.target.costQuery
        for run in runs.dropFirst() {
            let settings = run.state.settings
            if settings.space.slots != first.state.settings.space.slots {
                throw PlannerError.incompatibleRuns("\(run.name) searched another network than \(first.name) "
                                                    + "(different activation slots)")
            }
            if !sameCosts { continue }
            if !settings.costModel.predictsLike(first.state.settings.costModel) {
                throw PlannerError.incompatibleRuns("\(run.name) predicted latency with another cost model than "
                                                    + "\(first.name); price all with one (sibyl front --network "
                                                    + "NAME [--cost-model FILE]), "
                                                    + "or rerun one of them with the other's --cost-model")
            }
            if settings.target.costQuery != query {
                throw PlannerError.incompatibleRuns("\(run.name) predicted latency \(settings.target.costQuery), "
                                                    + "\(first.name) \(query)")
            }
        }
    }
}

