import Foundation

/// The trainable side of population-based training (Ray Tune's setup / step / save / restore).
///
/// One object serves every member: `restore` switches it to a member's state. The planner never looks
/// inside checkpoints; it only copies them when a member exploits another.
public protocol Trainable: AnyObject {
    /// Loads weights from `checkpoint` (the baseline, or a member's last round) and takes `config`:
    /// slots that are polynomial in `config` but not in the checkpoint start blending from ReLU.
    func restore(member: Int, config: MemberConfig, from checkpoint: URL) throws
    /// Trains for `epochs` (fractions allowed) and evaluates on the validation split.
    func train(epochs: Double, round: Int) throws -> (validationAccuracy: Double, trainLoss: Double, diverged: Bool)
    /// Writes the current state, atomically.
    func save(to checkpoint: URL) throws
}

/// Drives a population of members through rounds: train, report, decide, exploit.
///
/// Layout of a run directory: `search.jsonl` (every event), `members/<m>/round-<r>.ckpt` (the state of
/// member m after round r; the last two rounds are kept), `front/member-<m>-round-<r>.ckpt` (copies of the
/// checkpoints of the points on the Pareto front), `pareto.json`. Killed at any moment, a run
/// resumes from the log, losing only the members' unfinished rounds.
public final class PopulationRunner {
    public let directory: URL
    public let settings: SearchSettings
    public let baseline: URL
    private(set) public var state: SearchState
    private let log: SearchLogWriter
    /// Called after every event, for progress output.
    public var onEvent: ((SearchEvent) -> Void)?

    public var logURL: URL { directory.appendingPathComponent("search.jsonl") }

    /// Starts a new search in `directory`, or resumes the one there when `resume` is set.
    public init(directory: URL, settings: SearchSettings, baseline: URL, resume: Bool) throws {
        self.directory = directory
        self.settings = settings
        self.baseline = baseline
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
        let logURL = directory.appendingPathComponent("search.jsonl")
        let exists = fileManager.fileExists(atPath: logURL.path)
        if exists && !resume {
            throw PlannerError.unreadableLog(path: logURL.path, line: 0,
                                             reason: "a search already exists here; pass --resume to continue it")
        }
        if exists {
            let previous = try SearchState.load(url: logURL)
            guard previous.settings == settings else { throw PlannerError.settingsMismatch(path: logURL.path) }
            log = try SearchLogWriter(url: logURL)
            state = previous
        } else {
            var generator = SeededGenerator(seed: settings.seed)
            var configs: [MemberConfig] = []
            for member in 0..<settings.population {
                // Spread the initial population over the cost range: later members go further than needed.
                let extra = settings.population > 1 ? Double(member) / Double(settings.population - 1) * 0.5 : 0
                guard let placement = PlacementSampler.feasiblePlacement(
                    space: settings.space, target: settings.target, costModel: settings.costModel,
                    extraPolynomialProbability: extra, generator: &generator)
                else {
                    throw PlannerError.infeasibleTarget(
                        "even with every free slot polynomial, \(settings.space.minimumReLUs) ReLUs remain")
                }
                let hyper = PlacementSampler.hyperParameters(space: settings.space.hyperParameters, generator: &generator)
                configs.append(MemberConfig(placement: placement, hyperParameters: hyper))
            }
            log = try SearchLogWriter(url: logURL)
            let start = SearchEvent(kind: .start, round: 0, settings: settings, configs: configs)
            try log.append(start)
            state = try SearchState(events: [start], path: logURL.path)
        }
    }

    /// The checkpoint member `member` holds after `round` (round 0: the baseline).
    public func checkpointURL(member: Int, round: Int) -> URL {
        round == 0 ? baseline : directory.appendingPathComponent("members/\(member)/round-\(round).ckpt")
    }

    /// Runs the remaining rounds, training members through `executor`; returns the front.
    @discardableResult
    public func run(executor: RoundExecutor) throws -> ParetoFront {
        try syncFrontCheckpoints()
        while state.completedRounds < settings.rounds {
            try runRound(state.completedRounds + 1, executor: executor)
        }
        if !state.finished {
            let chosen = state.front.best { point in
                settings.target.isMet(by: point.config.placement, space: settings.space, costModel: settings.costModel)
            }
            try record(SearchEvent(kind: .finish, round: settings.rounds, chosen: chosen))
        }
        try writeFront()
        return state.front
    }

    /// Runs the remaining rounds with `trainable` in this process; returns the front.
    @discardableResult
    public func run(trainable: Trainable) throws -> ParetoFront {
        try run(executor: InProcessExecutor(trainable: trainable))
    }

    func runRound(_ round: Int, executor: RoundExecutor) throws {
        let fileManager = FileManager.default
        var tasks: [MemberTask] = []
        for member in 0..<settings.population where state.pendingResults[member] == nil {
            let output = checkpointURL(member: member, round: round)
            try fileManager.createDirectory(at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
            tasks.append(MemberTask(member: member, round: round, config: state.configs[member],
                                    input: checkpointURL(member: member, round: round - 1).path,
                                    output: output.path, epochs: settings.epochsPerRound))
        }
        try executor.execute(tasks) { task, outcome in
            // NaN and infinities cannot go into JSON: a diverged member is logged with accuracy 0.
            let diverged = outcome.diverged || !outcome.validationAccuracy.isFinite || !outcome.trainLoss.isFinite
            let result = MemberResult(member: task.member, round: round,
                                      validationAccuracy: diverged ? 0 : outcome.validationAccuracy,
                                      trainLoss: diverged ? -1 : outcome.trainLoss, diverged: diverged)
            let relus = task.config.placement.reluCount(slots: settings.space.slots)
            let seconds = predictedSeconds(task.config)
            try record(SearchEvent(kind: .report, round: round, result: result, relus: relus,
                                   predictedOnlineSeconds: seconds))
            try syncFrontCheckpoints()
        }
        let missing = (0..<settings.population).filter { state.pendingResults[$0] == nil }
        if let member = missing.first {
            throw PlannerError.trainableFailed(member: member, round: round, reason: "no result was reported")
        }
        let results = (0..<settings.population).map { state.pendingResults[$0]! }
        let configsByMember = Dictionary(uniqueKeysWithValues: state.configs.enumerated().map { ($0.offset, $0.element) })
        let decisions = settings.scheduler.decide(results: results, configs: configsByMember, space: settings.space,
                                                  target: settings.target, costModel: settings.costModel,
                                                  seed: settings.seed)
        // Exploit: the member's round checkpoint becomes a copy of its source's. Copy all before logging,
        // so a resumed run never sees a decision whose copy is missing (copies are idempotent).
        let sourceFiles = Dictionary(uniqueKeysWithValues: (0..<settings.population).map {
            ($0, try? Data(contentsOf: checkpointURL(member: $0, round: round)))
        })
        for case .exploit(let member, let source, _) in decisions {
            guard let data = sourceFiles[source] ?? nil else {
                throw PlannerError.trainableFailed(member: source, round: round, reason: "its checkpoint is missing")
            }
            try data.write(to: checkpointURL(member: member, round: round), options: .atomic)
        }
        try record(SearchEvent(kind: .decisions, round: round, decisions: decisions))
        // Keep the last two rounds of member states.
        if round >= 3 {
            for member in 0..<settings.population {
                try? fileManager.removeItem(at: checkpointURL(member: member, round: round - 2))
            }
        }
        try writeFront()
    }

    public func predictedSeconds(_ config: MemberConfig) -> Double {
        settings.costModel.predictSeconds(placement: config.placement, slots: settings.space.slots,
                                          query: settings.target.costQuery)
    }

    func record(_ event: SearchEvent) throws {
        try log.append(event)
        // The same transition a resume replays, so memory and log never disagree.
        state.apply(event)
        onEvent?(event)
    }

    /// Where the checkpoint of a front point is kept (member checkpoints of old rounds are deleted).
    public func frontCheckpointURL(member: Int, round: Int) -> URL {
        Self.frontCheckpointURL(in: directory, member: member, round: round)
    }

    /// Where a run directory keeps the checkpoint of a point of its front.
    public static func frontCheckpointURL(in directory: URL, member: Int, round: Int) -> URL {
        directory.appendingPathComponent("front/member-\(member)-round-\(round).ckpt")
    }

    /// Keeps a copy of every front point's checkpoint under `front/` and deletes the copies of points
    /// that left the front, so the chosen plan's weights survive however old its round is.
    func syncFrontCheckpoints() throws {
        let fileManager = FileManager.default
        let folder = directory.appendingPathComponent("front")
        try fileManager.createDirectory(at: folder, withIntermediateDirectories: true)
        var keep = Set<String>()
        for point in state.front.points {
            let copy = frontCheckpointURL(member: point.member, round: point.round)
            keep.insert(copy.lastPathComponent)
            // Only a point of the round in progress still has its own checkpoint: older rounds' files may
            // have been deleted or overwritten by an exploit copy.
            if fileManager.fileExists(atPath: copy.path) || point.round <= state.completedRounds { continue }
            let source = checkpointURL(member: point.member, round: point.round)
            // A point whose round checkpoint is already gone (an old log) cannot be copied; skip it.
            guard let data = try? Data(contentsOf: source) else { continue }
            try data.write(to: copy, options: .atomic)
        }
        for name in (try? fileManager.contentsOfDirectory(atPath: folder.path)) ?? [] where !keep.contains(name) {
            try? fileManager.removeItem(at: folder.appendingPathComponent(name))
        }
    }

    func writeFront() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(state.front).write(to: directory.appendingPathComponent("pareto.json"), options: .atomic)
    }
}
