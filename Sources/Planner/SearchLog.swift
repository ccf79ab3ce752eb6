import Foundation

/// One line of `search.jsonl`: every decision of a search, so it can be replayed and resumed.
/// Ray Tune logs each exploit the same way; here the scheduler's inputs (results) are logged too.
public struct SearchEvent: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Sendable { case start, report, decisions, finish }

    public var kind: Kind
    public var round: Int
    /// `start`: the search settings and the initial configs, by member.
    public var settings: SearchSettings?
    public var configs: [MemberConfig]?
    /// `report`: one member's result and cost.
    public var result: MemberResult?
    public var relus: Int?
    public var predictedOnlineSeconds: Double?
    /// `decisions`: the scheduler's verdicts after a round.
    public var decisions: [Decision]?
    /// `finish`: the chosen point.
    public var chosen: ParetoPoint?

    public init(kind: Kind, round: Int, settings: SearchSettings? = nil, configs: [MemberConfig]? = nil,
                result: MemberResult? = nil, relus: Int? = nil, predictedOnlineSeconds: Double? = nil,
                decisions: [Decision]? = nil, chosen: ParetoPoint? = nil) {
        self.kind = kind
        self.round = round
        self.settings = settings
        self.configs = configs
        self.result = result
        self.relus = relus
        self.predictedOnlineSeconds = predictedOnlineSeconds
        self.decisions = decisions
        self.chosen = chosen
    }
}

/// Everything that fixes a search besides the trainable: replaying a log needs only these.
public struct SearchSettings: Codable, Hashable, Sendable {
    public var seed: UInt64
    public var population: Int
    public var rounds: Int
    public var epochsPerRound: Double
    public var space: SearchSpace
    public var target: SearchTarget
    public var costModel: CostModel
    public var scheduler: PBTScheduler

    public init(seed: UInt64, population: Int, rounds: Int, epochsPerRound: Double, space: SearchSpace,
                target: SearchTarget, costModel: CostModel, scheduler: PBTScheduler = PBTScheduler()) {
        self.seed = seed
        self.population = population
        self.rounds = rounds
        self.epochsPerRound = epochsPerRound
        self.space = space
        self.target = target
        self.costModel = costModel
        self.scheduler = scheduler
    }
}

public enum PlannerError: Error, CustomStringConvertible, Equatable {
    case unreadableLog(path: String, line: Int, reason: String)
    case logWithoutStart(path: String)
    case settingsMismatch(path: String)
    case infeasibleTarget(String)
    case trainableFailed(member: Int, round: Int, reason: String)
    case incompatibleRuns(String)

    public var description: String {
        switch self {
        case .unreadableLog(let path, let line, let reason):
            return "search log \(path), line \(line) is not a valid event (\(reason)); "
                + "remove the damaged lines at the end of the file, or start a new search with another --out"
        case .logWithoutStart(let path):
            return "search log \(path) has no start event; delete it or choose another --out"
        case .settingsMismatch(let path):
            return "the search in \(path) was started with other settings; resume it with the same flags, "
                + "or choose another --out"
        case .infeasibleTarget(let detail):
            return "no placement can meet the target: \(detail)"
        case .trainableFailed(let member, let round, let reason):
            return "member \(member) failed in round \(round): \(reason)"
        case .incompatibleRuns(let detail):
            return "these searches cannot share one front: \(detail)"
        }
    }
}

/// Appends events to a JSON-lines file, one flushed line per event.
public final class SearchLogWriter {
    private let handle: FileHandle
    private let encoder: JSONEncoder

    public init(url: URL) throws {
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw PlannerError.unreadableLog(path: url.path, line: 0, reason: "cannot create the file")
            }
        }
        handle = try FileHandle(forUpdating: url)
        // A search killed mid-write leaves a torn last line: cut it so the next event starts a line.
        let contents = try handle.readToEnd() ?? Data()
        if let last = contents.last, last != 0x0A {
            let keep = contents.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
            try handle.truncate(atOffset: UInt64(keep))
        }
        try handle.seekToEnd()
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
    }

    deinit { try? handle.close() }

    public func append(_ event: SearchEvent) throws {
        try appendLine(event)
    }

    /// Appends any value as one flushed JSON line (the anneal log uses the same writer).
    public func appendLine<Value: Encodable>(_ value: Value) throws {
        var line = try encoder.encode(value)
        line.append(0x0A)
        try handle.write(contentsOf: line)
        try handle.synchronize()
    }
}

/// The state a log describes: what replay reconstructs and what resume continues from.
public struct SearchState: Sendable, Equatable {
    public var settings: SearchSettings
    /// Current config of every member, after the last logged decisions.
    public var configs: [MemberConfig]
    /// Rounds whose decisions are logged: the next round to run is `completedRounds + 1`.
    public var completedRounds: Int
    /// Results logged for the round in progress (members that need not train again on resume).
    public var pendingResults: [Int: MemberResult]
    public var front: ParetoFront
    /// Every non-diverged report with the config it was trained with, in log order (`front` keeps the
    /// non-dominated ones; a front priced anew ranks them all).
    public var reports: [ParetoPoint]
    public var finished: Bool

    /// Replays `events` (the lines of a log, in order).
    public init(events: [SearchEvent], path: String = "search.jsonl") throws {
        guard let start = events.first, start.kind == .start, let settings = start.settings,
              let initial = start.configs else { throw PlannerError.logWithoutStart(path: path) }
        self.settings = settings
        configs = initial
        completedRounds = 0
        pendingResults = [:]
        front = ParetoFront()
        reports = []
        finished = false
        for event in events.dropFirst() {
            guard event.kind != .start else {
                throw PlannerError.unreadableLog(path: path, line: 0, reason: "a second start event")
            }
            apply(event)
        }
    }

    /// Advances the state by one event (not `start`).
    public mutating func apply(_ event: SearchEvent) {
        switch event.kind {
        case .start:
            break
        case .report:
            guard let result = event.result, let relus = event.relus,
                  let seconds = event.predictedOnlineSeconds else { return }
            pendingResults[result.member] = result
            if !result.diverged {
                let point = ParetoPoint(member: result.member, round: result.round,
                                        validationAccuracy: result.validationAccuracy,
                                        predictedOnlineSeconds: seconds, relus: relus, config: configs[result.member])
                reports.append(point)
                front.insert(point)
            }
        case .decisions:
            for decision in event.decisions ?? [] {
                if case .exploit(let member, _, let config) = decision { configs[member] = config }
            }
            completedRounds = event.round
            pendingResults = [:]
        case .finish:
            finished = true
        }
    }

    /// Reads and replays a log file. A torn last line (a search killed mid-write) is ignored.
    public static func load(url: URL) throws -> SearchState {
        let text = try String(contentsOf: url, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        let decoder = JSONDecoder()
        var events: [SearchEvent] = []
        for (index, line) in lines.enumerated() {
            do {
                events.append(try decoder.decode(SearchEvent.self, from: Data(line.utf8)))
            } catch {
                if index == lines.count - 1 && !text.hasSuffix("\n") { break } // torn final write
                throw PlannerError.unreadableLog(path: url.path, line: index + 1, reason: "\(error)")
            }
        }
        return try SearchState(events: events, path: url.path)
    }
}
