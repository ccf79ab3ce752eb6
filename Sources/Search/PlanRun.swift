// A whole `sibyl plan` run: checks the request against the baseline, derives the rounds from the budget,
// runs population-based training (Planner.PopulationRunner) with the engine-backed trainable, in this
// process or over worker processes, and writes the run's outputs (search.jsonl, pareto.json, pareto.svg,
// best.h5, placement.json).
import Foundation
import NetworkPlan
import Planner
import PlanStore
import Tensors
import Training

public enum PlanRun {
    /// Rounds and epochs per round for a budget of `budgetEpochs` over `population` members: about one
    /// epoch per round when each member gets 4 or more epochs (at most 30 rounds), else 4 rounds (or fewer
    /// when a member gets under a quarter epoch per round); `rounds` overrides the derivation.
    public static func schedule(budgetEpochs: Double, population: Int, rounds: Int? = nil) -> (rounds: Int, epochsPerRound: Double) {
        let perMember = budgetEpochs / Double(max(1, population))
        let count: Int
        if let rounds { count = max(1, rounds) }
        else if perMember >= 4 { count = min(30, Int(perMember.rounded(.down))) }
        else { count = max(1, min(4, Int((perMember / 0.25).rounded(.down)))) }
        return (count, perMember / Double(count))
    }

    /// Slots of the baseline's network, as the planner sees them.
    public static func slots(ofBaseline url: URL) throws -> [SlotDescriptor] {
        let (network, _) = try TrainingCheckpoint.loadNetwork(from: url)
        return network.slots.map { SlotDescriptor(name: $0.name, channels: $0.channels, elements: $0.elementsPerImage) }
    }

    /// The search space: pinned slots, degrees, and hyperparameter ranges fitted to the round length, so
    /// a slot made polynomial in a round finishes blending within it (blend 25-75% of a round) and every
    /// reported accuracy is that of the network as it would be exported.
    public static func space(slots: [SlotDescriptor], pinned: PlanRequest.Pinned, degrees: [Int],
                             epochsPerRound: Double, learningRate: ClosedRange<Double>? = nil,
                             momentum: ClosedRange<Double>? = nil, channelImportance: [[Double]]? = nil,
                             channelGroup: Int? = nil) -> SearchSpace {
        let pinnedSlots: Set<Int> = pinned == .firstLast ? [0, slots.count - 1] : []
        var ranges = HyperParameterSpace()
        if let learningRate { ranges.learningRate = learningRate }
        if let momentum { ranges.momentum = momentum }
        ranges.blendEpochs = (0.25 * epochsPerRound)...(0.75 * epochsPerRound)
        return SearchSpace(slots: slots, pinned: pinnedSlots, degrees: degrees, allowMixed: channelImportance != nil,
                           channelGroup: channelGroup ?? 4, hyperParameters: ranges, channelImportance: channelImportance)
    }

    /// Nil when some placement meets the target, else what the user can do.
    public static func infeasibility(space: SearchSpace, target: SearchTarget, costModel: CostModel) -> String? {
        if case .maxReLUs = target {} else if let missing = costModel.missingFigures(for: target.costQuery, degrees: space.degrees) {
            return missing + ", or pass --cost-model with such a model"
        }
        var cheapest = Placement.allReLU(slotCount: space.slots.count)
        for slot in space.freeSlots { cheapest.choices[slot] = .polynomial(degree: space.degrees.min() ?? 2) }
        guard !target.isMet(by: cheapest, space: space, costModel: costModel) else { return nil }
        switch target {
        case .maxReLUs(let n):
            return "--max-relus \(n) is below the minimum achievable \(space.minimumReLUs) ReLUs (the pinned slots "
                + "stay ReLU); raise it, or pass --pinned none"
        case .latency(let seconds, _), .cost(let seconds, _):
            let best = costModel.predictSeconds(placement: cheapest, slots: space.slots, query: target.costQuery)
            return String(format: "--target-latency %.4g s is below the minimum achievable %.4g s %@ (every free "
                          + "slot polynomial); raise it, or pass --pinned none", seconds, best, target.costQuery.description)
        }
    }

    /// A resumed search predicts as it started: with its stored cost model, and for a latency target of the
    /// same seconds and network with its stored phase and ReLU protocol (the defaults changed on 2026-12-04:
    /// a measured default model, total cost with OT-based ReLUs on a WAN), so the same flags resume it. Says
    /// so when that differs from what the flags give now.
    public static func adoptCosts(of stored: SearchSettings, into request: inout PlanRequest, log: (String) -> Void) {
        if !request.costModel.predictsLike(stored.costModel) {
            log("--resume: predicting with the cost model the search started with (\(stored.costModel.source.prefix(80))...)")
        }
        request.costModel = stored.costModel
        guard let current = try? request.searchTarget(), current != stored.target else { return }
        switch (current, stored.target) {
        case (.latency(let s, _), .latency(let t, _)), (.latency(let s, _), .cost(let t, _)),
             (.cost(let s, _), .latency(let t, _)), (.cost(let s, _), .cost(let t, _)):
            guard s == t, current.network == stored.target.network else { return }
            let query = stored.target.costQuery
            log("--resume: the search started with latencies \(query); it continues so")
            request.target = .cost(seconds: t, network: query.network.name, phase: query.phase, relu: query.relu)
        default:
            return
        }
    }

    /// The settings a request stands for (what the search log records and a resume must match).
    public static func settings(for request: PlanRequest, slots: [SlotDescriptor],
                                channelImportance: [[Double]]? = nil) throws -> SearchSettings {
        guard request.population >= 2 else { throw SearchError.invalidSetting("--population must be at least 2") }
        guard request.budgetEpochs > 0, request.budgetEpochs.isFinite else {
            throw SearchError.invalidSetting("--budget-epochs must be positive")
        }
        let exportable = PlanManifest.supportedPolynomialDegrees
        guard !request.degrees.isEmpty, request.degrees.allSatisfy({ exportable.contains($0) }) else {
            throw SearchError.invalidSetting("--degrees \(request.degrees.map(String.init).joined(separator: ",")): plans can be "
                + "exported and evaluated securely with polynomial degrees \(exportable) only, so a search over other degrees "
                + "would train for nothing")
        }
        let target = try request.searchTarget()
        let (rounds, epochsPerRound) = schedule(budgetEpochs: request.budgetEpochs, population: request.population,
                                                rounds: request.rounds)
        for (flag, range) in [("--lr-range", request.learningRateRange), ("--momentum-range", request.momentumRange)] {
            if let range, !(range.lowerBound > 0 && range.upperBound.isFinite) {
                throw SearchError.invalidSetting("\(flag) must lie between 0 and infinity (exclusive), e.g. 0.001:0.03")
            }
        }
        if let m = request.momentumRange, m.upperBound >= 1 {
            throw SearchError.invalidSetting("--momentum-range must stay below 1, e.g. 0.8:0.95")
        }
        if request.channels == true, channelImportance == nil {
            throw SearchError.invalidSetting("--channels needs the channels' importance (measured by PlanRun.run)")
        }
        if request.channels == true, !request.options.perChannelCoefficients {
            throw SearchError.invalidSetting("--channels needs one coefficient set per channel")
        }
        if let group = request.channelGroup, group < 1 { throw SearchError.invalidSetting("--channel-group must be at least 1") }
        let space = space(slots: slots, pinned: request.pinned, degrees: request.degrees, epochsPerRound: epochsPerRound,
                          learningRate: request.learningRateRange, momentum: request.momentumRange,
                          channelImportance: request.channels == true ? channelImportance : nil,
                          channelGroup: request.channelGroup)
        if let message = infeasibility(space: space, target: target, costModel: request.costModel) {
            throw SearchError.invalidSetting(message)
        }
        return SearchSettings(seed: request.seed, population: request.population, rounds: rounds,
                              epochsPerRound: epochsPerRound, space: space, target: target, costModel: request.costModel)
    }

    /// What a finished run produced.
    public struct Summary: Sendable {
        public var front: ParetoFront
        public var chosen: ParetoPoint?
        public var reports: [ReportedPoint]
        public var settings: SearchSettings
        public var seconds: Double
        /// The all-ReLU baseline on the validation split (measured when the coordinator trains in-process).
        public var baselineValidationAccuracy: Double?
        /// The last epoch of the anneal (`--anneal-epochs`): best.h5's validation accuracy after it.
        public var annealed: Anneal.Record?

        /// What `sibyl plan` prints at the end: the chosen member, the anneal, the baseline, the files.
        public func report(directory: URL) -> [String] {
            guard let chosen else { return ["no member met the target; see \(directory.appendingPathComponent("pareto.svg").path)"] }
            var lines = [String(format: "chosen: member %d round %d, validation accuracy %.4f, %d ReLUs, predicted %.4g s %@; "
                                + "%d points on the front; %.0f s", chosen.member, chosen.round, chosen.validationAccuracy,
                                chosen.relus, chosen.predictedOnlineSeconds, settings.target.costQuery.description,
                                front.points.count, seconds)]
            var final = chosen.validationAccuracy
            if let annealed {
                lines.append(String(format: "annealed %d epochs: validation accuracy %.4f (searched %.4f)", annealed.epochs,
                                    annealed.validationAccuracy, chosen.validationAccuracy))
                final = annealed.validationAccuracy
            }
            if let baseline = baselineValidationAccuracy {
                lines.append(String(format: "baseline validation accuracy %.4f: the chosen plan is %.2f points %@", baseline,
                                    abs(final - baseline) * 100, final >= baseline ? "above" : "below"))
            }
            lines.append("wrote \(directory.path)/{search.jsonl, pareto.json, pareto.svg, best.h5, placement.json}")
            return lines
        }
    }

    /// Where members train: in this process, in worker processes on this machine, or as Ray tasks.
    public enum Executor: Sendable {
        case local
        case processes(workers: Int)
        case ray(RayExecutor.Settings)
    }

    /// Runs (or resumes) the search a request describes, with `choice` (default: worker processes when the
    /// request has more than one worker, else this process). `log` receives one line per event worth
    /// showing; `wrap` may wrap the executor (tests use it to kill a search midway).
    public static func run(_ request: PlanRequest, resume: Bool, executor choice: Executor? = nil,
                           log: @escaping (String) -> Void = { _ in },
                           wrap: (RoundExecutor) -> RoundExecutor = { $0 }) throws -> Summary {
        let start = Date()
        Parallel.configure(threads: request.threads)
        guard let kind = request.datasetKind else {
            throw SearchError.invalidSetting("unknown --dataset '\(request.dataset)'; allowed: "
                                             + DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let baseline = URL(fileURLWithPath: request.baseline)
        let slots = try slots(ofBaseline: baseline)
        let directory = request.directory
        var importance: [[Double]]?
        if request.channels == true {
            // Measured once when the search starts, then read back from its log (it is part of the settings).
            let logURL = directory.appendingPathComponent("search.jsonl")
            if resume, let stored = try? SearchState.load(url: logURL).settings.space.channelImportance {
                importance = stored
            } else {
                let splits = try Datasets.load(kind, directory: URL(fileURLWithPath: request.dataDirectory),
                                               validationCount: request.validationCount)
                let measureStart = Date()
                importance = try ChannelImportance.measure(baseline: baseline, splits: splits, options: request.options,
                                                           degree: request.degrees.min() ?? 2, images: request.options.fitImages)
                log(String(format: "channel importance measured on %d images in %.0f s", request.options.fitImages,
                           Date().timeIntervalSince(measureStart)))
            }
        }
        var request = request
        if resume, let stored = try? SearchState.load(url: directory.appendingPathComponent("search.jsonl")).settings {
            adoptCosts(of: stored, into: &request, log: log)
        }
        let settings = try settings(for: request, slots: slots, channelImportance: importance)
        let logExists = FileManager.default.fileExists(atPath: directory.appendingPathComponent("search.jsonl").path)
        if resume && !logExists {
            throw SearchError.invalidSetting("--resume: there is no search in \(directory.path) (no search.jsonl); "
                                             + "start without --resume")
        }
        if !resume && logExists {
            throw SearchError.invalidSetting("\(directory.path) already holds a search (search.jsonl); pass --resume "
                                             + "to continue it, or choose another --out")
        }
        if resume, let stored = try? readRequest(in: directory), stored.options != request.options {
            // Member training options are not part of the search settings, so compare them here: a resumed
            // search must train its members the way it started.
            throw SearchError.invalidSetting("--resume: \(directory.path) was started with other training options ("
                + Self.describe(stored.options) + "; now " + Self.describe(request.options) + "); pass the flags it "
                + "was started with")
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let runner = try PopulationRunner(directory: directory, settings: settings, baseline: baseline, resume: resume)
        try writeRequest(request, to: directory)
        let query = settings.target.costQuery
        runner.onEvent = { event in
            guard event.kind == .report, let result = event.result else { return }
            let accuracy = result.diverged ? "diverged" : String(format: "%.4f", result.validationAccuracy)
            log(String(format: "round %d/%d member %d: val acc %@, ReLUs %d, predicted %.3f s (%@)", result.round,
                       settings.rounds, result.member, accuracy, event.relus ?? -1,
                       event.predictedOnlineSeconds ?? .nan, query.description))
        }
        if resume {
            log("resuming \(directory.path) after round \(runner.state.completedRounds) of \(settings.rounds) "
                + "(\(runner.state.pendingResults.count) member results of the next round kept)")
        }
        let choice = choice ?? (request.workers > 1 ? .processes(workers: request.workers) : .local)
        let where_: String
        switch choice {
        case .local: where_ = "in this process"
        case .processes(let workers): where_ = "\(workers) worker processes"
        case .ray(let ray): where_ = "Ray tasks (\(ray.address))"
        }
        log(String(format: "searching %d slots (%d ReLUs all-ReLU), population %d, %d rounds of %.3g epochs, %@",
                   slots.count, slots.reduce(0) { $0 + $1.elements }, settings.population, settings.rounds,
                   settings.epochsPerRound, where_))
        let executor: RoundExecutor
        var baselineAccuracy: Double?
        var inProcess: EngineTrainable?
        func makeTrainable() throws -> EngineTrainable {
            let splits = try Datasets.load(kind, directory: URL(fileURLWithPath: request.dataDirectory),
                                           validationCount: request.validationCount)
            return try EngineTrainable(baseline: baseline, splits: splits, options: request.options)
        }
        var ray: RayExecutor?
        defer { ray?.stop() }
        switch choice {
        case .processes(let workers):
            executor = try WorkerExecutor(directory: directory, workers: workers)
        case .ray(let settings):
            ray = try RayExecutor(directory: directory, settings: settings, log: log)
            executor = ray!
        case .local:
            let trainable = try makeTrainable()
            let accuracy = Double(Evaluation.run(trainable.network, images: trainable.splits.validation,
                                                 normalization: trainable.splits.normalization).accuracy)
            let polynomial = trainable.network.slots.contains { !$0.isReLU }
            log(String(format: "baseline (%@): validation accuracy %.4f", polynomial ? "polynomial" : "all ReLU", accuracy))
            baselineAccuracy = accuracy
            inProcess = trainable
            executor = InProcessExecutor(trainable: trainable)
        }
        let front = try runner.run(executor: wrap(executor))
        let replay = try SearchState.load(url: runner.logURL)
        let reports = try ReportedPoint.all(in: runner.logURL)
        let chosen = try writeOutputs(runner: runner, state: replay, reports: reports)
        var annealed: Anneal.Record?
        if let chosen, let epochs = request.annealEpochs, epochs > 0 {
            annealed = try Anneal.run(directory: directory, chosen: chosen,
                                      searched: runner.frontCheckpointURL(member: chosen.member, round: chosen.round),
                                      epochs: epochs, firstRound: settings.rounds + 1,
                                      trainable: try inProcess ?? makeTrainable(),
                                      destination: directory.appendingPathComponent("best.h5"), log: log)
        }
        return Summary(front: front, chosen: chosen, reports: reports, settings: settings,
                       seconds: Date().timeIntervalSince(start), baselineValidationAccuracy: baselineAccuracy,
                       annealed: annealed)
    }

    static let requestFile = "plan-request.json"

    /// The member-training flags of a request, as the command line spells them.
    static func describe(_ o: EngineOptions) -> String {
        var parts = ["--batch-size \(o.batchSize)", "--polynomial-init \(o.polynomialInitialization.rawValue)",
                     "--range-penalty \(o.rangePenaltyWeight)", "--distill \(o.distillationWeight)"]
        if let v = o.clipValue { parts.append("--clip-value \(v)") }
        parts.append("--seed \(o.seed)")
        return parts.joined(separator: " ")
    }

    static func writeRequest(_ request: PlanRequest, to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(request).write(to: directory.appendingPathComponent(requestFile), options: .atomic)
    }

    /// The request a run directory was started with (for worker processes).
    public static func readRequest(in directory: URL) throws -> PlanRequest {
        let url = directory.appendingPathComponent(requestFile)
        do {
            return try JSONDecoder().decode(PlanRequest.self, from: Data(contentsOf: url))
        } catch {
            throw SearchError.unreadableInput(path: url.path, reason: "\(error)")
        }
    }

    /// pareto.svg, best.h5 and placement.json; returns the chosen point.
    static func writeOutputs(runner: PopulationRunner, state: SearchState,
                             reports: [ReportedPoint]) throws -> ParetoPoint? {
        let directory = runner.directory
        let settings = runner.settings
        let chosen = state.front.best { point in
            settings.target.isMet(by: point.config.placement, space: settings.space, costModel: settings.costModel)
        }
        let svg = ParetoPlot.svg(front: state.front, reports: reports, chosen: chosen, title: "sibyl plan: "
                                 + targetDescription(settings.target),
                                 latency: settings.target.costQuery.phase == .online ? "online" : "total")
        try Data(svg.utf8).write(to: directory.appendingPathComponent("pareto.svg"), options: .atomic)
        guard let chosen else { return nil }
        let source = runner.frontCheckpointURL(member: chosen.member, round: chosen.round)
        let data: Data
        do { data = try Data(contentsOf: source) } catch {
            throw SearchError.unreadableInput(path: source.path, reason: "the chosen member's checkpoint is missing")
        }
        try data.write(to: directory.appendingPathComponent("best.h5"), options: .atomic)
        try PlacementFile.write(chosen.config.placement, slots: settings.space.slots,
                                to: directory.appendingPathComponent("placement.json"))
        return chosen
    }

    public static func targetDescription(_ target: SearchTarget) -> String {
        switch target {
        case .maxReLUs(let n): return "at most \(n) ReLUs"
        case .latency(let s, _), .cost(let s, _): return String(format: "at most %.4g s %@", s, target.costQuery.description)
        }
    }
}
