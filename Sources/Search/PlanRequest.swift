// Everything a plan run needs, as given on the command line; stored in the run directory as
// plan-request.json so worker processes build the same trainable as the coordinator.
import NetworkCost
import Foundation
import NetworkPlan
import Planner
import Training

public struct PlanRequest: Codable, Hashable, Sendable {
    public enum Target: Codable, Hashable, Sendable {
        case maxReLUs(Int)
        case latency(seconds: Double, network: String)
        /// A latency of `phase` with `relu` (nil: the network's defaults, `CostPhase/ReLUProtocol.defaultChoice`).
        case cost(seconds: Double, network: String, phase: CostPhase?, relu: ReLUProtocol?)
    }

    public enum Pinned: String, Codable, Hashable, Sendable, CaseIterable {
        /// Delphi keeps the first and the last activation as ReLU.
        case firstLast = "first,last"
        case none
    }

    public var baseline: String
    /// DatasetKind raw value.
    public var dataset: String
    public var dataDirectory: String
    public var validationCount: Int
    public var population: Int
    /// Total epochs over all members.
    public var budgetEpochs: Double
    /// Rounds; nil derives them from the budget (`PlanRun.schedule`).
    public var rounds: Int?
    public var target: Target
    public var out: String
    public var workers: Int
    public var seed: UInt64
    public var pinned: Pinned
    public var degrees: [Int]
    public var costModel: CostModel
    public var options: EngineOptions
    public var threads: Int
    /// Learning-rate range of the population (nil: HyperParameterSpace's default).
    public var learningRateRange: ClosedRange<Double>?
    /// Momentum range of the population (nil: HyperParameterSpace's default).
    public var momentumRange: ClosedRange<Double>?
    /// Epochs the chosen member is annealed after the search (nil or 0: none; see `Anneal`).
    public var annealEpochs: Int?
    /// Split slots by channel (`--channels`): keep each slot's most important channels ReLU, ordered by
    /// `ChannelImportance` measured on the baseline (nil or false: whole slots).
    public var channels: Bool?
    /// Channels a per-channel explore move shifts at once (nil: the search space's default).
    public var channelGroup: Int?

    public init(baseline: String, dataset: String, dataDirectory: String = "Datasets", validationCount: Int = 5000,
                population: Int, budgetEpochs: Double, rounds: Int? = nil, target: Target, out: String, workers: Int = 1,
                seed: UInt64 = 1, pinned: Pinned = .firstLast, degrees: [Int] = [2],
                costModel: CostModel = ProvisionalCostModel.standard, options: EngineOptions = EngineOptions(),
                threads: Int = 2, learningRateRange: ClosedRange<Double>? = nil,
                momentumRange: ClosedRange<Double>? = nil, annealEpochs: Int? = nil, channels: Bool = false,
                channelGroup: Int? = nil) {
        self.baseline = baseline; self.dataset = dataset; self.dataDirectory = dataDirectory
        self.validationCount = validationCount; self.population = population; self.budgetEpochs = budgetEpochs
        self.rounds = rounds; self.target = target; self.out = out; self.workers = workers; self.seed = seed
        self.pinned = pinned; self.degrees = degrees; self.costModel = costModel; self.options = options
        self.threads = threads
        self.learningRateRange = learningRateRange; self.momentumRange = momentumRange
        self.annealEpochs = annealEpochs
        self.channels = channels ? true : nil
        self.channelGroup = channelGroup
    }

    /// Parses "MIN:MAX" or a single value (a fixed setting); nil when malformed or MIN > MAX.
    public static func parseRange(_ text: String) -> ClosedRange<Double>? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            .map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard (1...2).contains(parts.count), parts.allSatisfy({ $0 != nil && $0!.isFinite }) else { return nil }
        let low = parts[0]!, high = parts.last!!
        return low <= high ? low...high : nil
    }

    /// The planner's target, or a message naming the flag to fix.
    public func searchTarget() throws -> SearchTarget {
        switch target {
        case .maxReLUs(let n):
            guard n >= 0 else { throw SearchError.invalidSetting("--max-relus must be at least 0") }
            return .maxReLUs(n)
        case .latency(let seconds, let name):
            return try Self.latencyTarget(seconds: seconds, network: name, phase: .online, relu: .garbled)
        case .cost(let seconds, let name, let phase, let relu):
            return try Self.latencyTarget(seconds: seconds, network: name, phase: phase, relu: relu)
        }
    }

    static func latencyTarget(seconds: Double, network name: String, phase: CostPhase?, relu: ReLUProtocol?) throws -> SearchTarget {
        guard let profile = NetworkProfile.named(name.lowercased()) else {
            throw SearchError.invalidSetting("unknown --network '\(name)'; allowed: lan, wan, loopback")
        }
        guard seconds > 0, seconds.isFinite else { throw SearchError.invalidSetting("--target-latency must be positive") }
        return .latency(seconds: seconds, query: .defaulted(network: profile, phase: phase, relu: relu))
    }

    public var datasetKind: DatasetKind? { DatasetKind(rawValue: dataset.lowercased()) }
    public var directory: URL { URL(fileURLWithPath: out) }
}
