import NetworkCost
import NetworkPlan

/// What the planner may change, and the budget it must meet.
public struct SearchSpace: Codable, Hashable, Sendable {
    /// The model's activation slots in order.
    public var slots: [SlotDescriptor]
    /// Slots that always stay ReLU (Delphi keeps the first and the last).
    public var pinned: Set<Int>
    /// Polynomial degrees a slot may take (2 = quadratic).
    public var degrees: [Int]
    /// Whether a slot may be split by channel (SAFENet) instead of switched whole.
    public var allowMixed: Bool
    /// Channel granularity of mixed slots: a mixed slot replaces a multiple of this many channels.
    public var channelGroup: Int
    /// Ranges for the hyperparameters that explore perturbs.
    public var hyperParameters: HyperParameterSpace
    /// Per slot and channel, how much the loss suffers when that channel's ReLU becomes a polynomial
    /// (measured on the baseline; Search.ChannelImportance). With `allowMixed`, a slot keeps its most
    /// important channels as ReLU: split slots are ordered by it, never drawn at random.
    public var channelImportance: [[Double]]?

    public init(slots: [SlotDescriptor], pinned: Set<Int> = [], degrees: [Int] = [2], allowMixed: Bool = false,
                channelGroup: Int = 4, hyperParameters: HyperParameterSpace = HyperParameterSpace(),
                channelImportance: [[Double]]? = nil) {
        precondition(!slots.isEmpty, "a search space needs at least one slot")
        precondition(pinned.allSatisfy { slots.indices.contains($0) }, "pinned slot index out of range")
        precondition(!degrees.isEmpty && degrees.allSatisfy { $0 >= 1 }, "degrees must be positive")
        self.slots = slots
        self.pinned = pinned
        self.degrees = degrees
        self.allowMixed = allowMixed
        self.channelGroup = max(1, channelGroup)
        self.hyperParameters = hyperParameters
        precondition(channelImportance == nil || zip(slots, channelImportance!).allSatisfy { $0.channels == $1.count }
                     && channelImportance!.count == slots.count, "one importance per channel of every slot")
        self.channelImportance = channelImportance
    }

    /// Whether placements split slots by channel, ordered by measured importance.
    public var splitsByImportance: Bool { allowMixed && channelImportance != nil }

    /// A slot's channels from most to least important (ties: lower index first).
    public func importanceOrder(slot: Int) -> [Int] {
        guard let importance = channelImportance?[slot] else { return Array(0..<slots[slot].channels) }
        return importance.indices.sorted { importance[$0] > importance[$1] || (importance[$0] == importance[$1] && $0 < $1) }
    }

    /// The choice for slot `slot` keeping its `reluChannels` most important channels ReLU and making the
    /// rest polynomials of `degree` (all ReLU: `.relu`; none: `.polynomial`).
    public func choice(slot: Int, reluChannels: Int, degree: Int) -> SlotChoice {
        let channels = slots[slot].channels
        let kept = max(0, min(channels, reluChannels))
        if kept == channels { return .relu }
        if kept == 0 { return .polynomial(degree: degree) }
        return .mixed(polynomialChannels: importanceOrder(slot: slot).suffix(channels - kept).sorted(), degree: degree)
    }

    /// Slots the planner may change.
    public var freeSlots: [Int] { slots.indices.filter { !pinned.contains($0) } }

    /// ReLUs per image when every free slot is polynomial: the fewest any placement can have.
    public var minimumReLUs: Int {
        pinned.reduce(0) { $0 + slots[$1].elements }
    }

    public var totalActivations: Int { slots.reduce(0) { $0 + $1.elements } }
}

/// Closed ranges for each hyperparameter; explore keeps values inside them.
public struct HyperParameterSpace: Codable, Hashable, Sendable {
    public var learningRate: ClosedRange<Double> = 0.001...0.1
    public var momentum: ClosedRange<Double> = 0.8...0.99
    public var clipNorm: ClosedRange<Double> = 0.5...5.0
    public var blendEpochs: ClosedRange<Double> = 0.25...4.0

    public init() {}

    public init(learningRate: ClosedRange<Double>, momentum: ClosedRange<Double>,
                clipNorm: ClosedRange<Double>, blendEpochs: ClosedRange<Double>) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.clipNorm = clipNorm
        self.blendEpochs = blendEpochs
    }
}

/// The training hyperparameters of one member.
public struct HyperParameters: Codable, Hashable, Sendable {
    public var learningRate: Double
    public var momentum: Double
    /// Gradient clipping by global norm (Delphi clips by value at 2.0; the norm is scale-free).
    public var clipNorm: Double
    /// Epochs over which a newly polynomial slot is blended from ReLU (alpha 1) to polynomial (alpha 0).
    public var blendEpochs: Double

    public init(learningRate: Double, momentum: Double, clipNorm: Double, blendEpochs: Double) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.clipNorm = clipNorm
        self.blendEpochs = blendEpochs
    }
}

/// Everything that distinguishes one member of the population.
public struct MemberConfig: Codable, Hashable, Sendable {
    public var placement: Placement
    public var hyperParameters: HyperParameters

    public init(placement: Placement, hyperParameters: HyperParameters) {
        self.placement = placement
        self.hyperParameters = hyperParameters
    }
}

/// The budget a plan must meet.
public enum SearchTarget: Codable, Hashable, Sendable {
    /// At most this many ReLUs per image.
    case maxReLUs(Int)
    /// Predicted online latency per image at most this many seconds on the given network, garbled ReLUs
    /// (the form searches were logged in before the planner knew other phases and protocols; a `.cost`
    /// target with an online, garbled query is stored in this form, so that old searches resume).
    case latency(seconds: Double, network: NetworkProfile)
    /// Predicted seconds per image of the query's phase at most this many, with its ReLU protocol.
    case cost(seconds: Double, query: CostQuery)

    /// A latency target in its canonical stored form.
    public static func latency(seconds: Double, query: CostQuery) -> SearchTarget {
        query.phase == .online && query.relu == .garbled ? .latency(seconds: seconds, network: query.network)
            : .cost(seconds: seconds, query: query)
    }

    /// What latencies are predicted for (online on LAN, garbled ReLUs, for a ReLU-count target).
    public var costQuery: CostQuery {
        switch self {
        case .maxReLUs: return CostQuery(network: .lan)
        case .latency(_, let network): return CostQuery(network: network)
        case .cost(_, let query): return query
        }
    }

    /// The network profile this target's latencies are predicted for.
    public var network: NetworkProfile { costQuery.network }

    public func isMet(by placement: Placement, space: SearchSpace, costModel: CostModel) -> Bool {
        switch self {
        case .maxReLUs(let limit):
            return placement.reluCount(slots: space.slots) <= limit
        case .latency(let seconds, _), .cost(let seconds, _):
            return costModel.predictSeconds(placement: placement, slots: space.slots, query: costQuery) <= seconds
        }
    }
}
