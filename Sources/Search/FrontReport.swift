// `sibyl front`: the Pareto fronts of several `sibyl plan` runs (searches at different targets, from the all-ReLU
// baseline or from another network measured on the same validation split, e.g. the all-polynomial one) and the
// all-ReLU baseline itself as one front, from all-ReLU down to the cheapest searched plan.
// Writes DIR/front.json, DIR/front.svg and DIR/front.md (a table).
import Foundation
import NetworkPlan
import Planner
import Training

public enum FrontReport {
    public struct Result: Sendable {
        public var front: CombinedFront
        /// Every member report of every run, plus the baseline, for the plot.
        public var reports: [ReportedPoint]
    }

    /// Reads each run directory (search.jsonl and plan-request.json). With `measureBaseline` the baseline
    /// checkpoint the runs started from joins the front, measured on the same validation split the searches
    /// used; with `measureTest` every front point's checkpoint is also measured on the test split (reported
    /// only: the front is ranked on validation accuracy). With `pricing`, every point's latency is predicted
    /// anew from its placement (`CombinedFront.combine`). Runs may start from different networks when they
    /// measured the same validation split; the baseline point is the first run's starting network that is all
    /// ReLU (none: no baseline point, said in the log).
    public static func build(runs: [URL], measureBaseline: Bool, measureTest: Bool, pricing: CombinedFront.Pricing? = nil,
                             log: (String) -> Void = { _ in }) throws -> Result {
        guard !runs.isEmpty else { throw SearchError.invalidSetting("give at least one run directory of sibyl plan") }
        var states: [(name: String, state: SearchState)] = []
        var requests: [PlanRequest] = []
        var reports: [ReportedPoint] = []
        let names = runNames(runs)
        for (run, name) in zip(runs, names) {
            let logURL = run.appendingPathComponent("search.jsonl")
            guard FileManager.default.fileExists(atPath: logURL.path) else {
                throw SearchError.unreadableInput(path: logURL.path, reason: "not a sibyl plan run directory (no search.jsonl)")
            }
            states.append((name, try SearchState.load(url: logURL)))
            requests.append(try PlanRun.readRequest(in: run))
            // The plot's points: as logged, or (priced anew, below) from the replayed state.
            if pricing == nil { reports += try ReportedPoint.all(in: logURL) }
        }
        try CombinedFront.checkCompatible(states, sameCosts: pricing == nil)
        let first = requests[0]
        for (request, name) in zip(requests, names).dropFirst() {
            if standardized(request.baseline) != standardized(first.baseline) {
                log("\(name) started from \(request.baseline), \(names[0]) from \(first.baseline): both measured "
                    + "on the same validation split, so their points compare")
            }
            if request.dataset != first.dataset || request.validationCount != first.validationCount {
                throw SearchError.invalidSetting("\(name) measured validation accuracy on another split than "
                                                 + "\(names[0]) (--dataset / --validation-count differ)")
            }
        }
        var extra: [CombinedFront.Point] = []
        var splits: DataSplits?
        func loadSplits() throws -> DataSplits {
            if let splits { return splits }
            guard let kind = DatasetKind(rawValue: first.dataset) else {
                throw SearchError.invalidSetting("unknown dataset '\(first.dataset)' in \(names[0])/plan-request.json")
            }
            let loaded = try Datasets.load(kind, directory: URL(fileURLWithPath: first.dataDirectory),
                                           validationCount: first.validationCount)
            splits = loaded
            return loaded
        }
        var baselinePath = first.baseline
        var baselineReport: ReportedPoint?
        if measureBaseline {
            let settings = states[0].state.settings
            let data = try loadSplits()
            var chosen: (path: String, network: Network, config: TrainingConfig)?
            var seen = Set<String>()
            for path in requests.map(\.baseline) where chosen == nil && seen.insert(standardized(path)).inserted {
                let (network, config) = try TrainingCheckpoint.loadNetwork(from: URL(fileURLWithPath: path))
                if network.slots.allSatisfy(\.isReLU) { chosen = (path, network, config) }
            }
            if let chosen {
                baselinePath = chosen.path
                let accuracy = Double(Evaluation.run(chosen.network, images: data.validation,
                                                     normalization: data.using(chosen.config).normalization).accuracy)
                let allReLU = Placement.allReLU(slotCount: settings.space.slots.count)
                let seconds = (pricing ?? CombinedFront.Pricing(costModel: settings.costModel, query: settings.target.costQuery))
                    .seconds(allReLU, slots: settings.space.slots)
                log(String(format: "baseline (all ReLU): validation accuracy %.4f", accuracy))
                extra.append(CombinedFront.Point(source: "baseline", member: nil, round: nil, validationAccuracy: accuracy,
                                                 predictedOnlineSeconds: seconds,
                                                 relus: settings.space.totalActivations, placement: allReLU.signature))
                baselineReport = ReportedPoint(member: 0, round: 0, validationAccuracy: accuracy,
                                               predictedOnlineSeconds: seconds, relus: settings.space.totalActivations,
                                               diverged: false)
            } else {
                log("no run started from an all-ReLU network: the front has no baseline point")
            }
        }
        if let pricing {
            // Every report's latency anew from its placement (diverged reports, which have no accuracy to plot,
            // are left out).
            reports = states.flatMap { run in
                run.state.reports.map { ReportedPoint(member: $0.member, round: $0.round, validationAccuracy: $0.validationAccuracy,
                                                      predictedOnlineSeconds: pricing.seconds($0.config.placement,
                                                                                              slots: run.state.settings.space.slots),
                                                      relus: $0.relus, diverged: false) }
            }
        }
        if let baselineReport { reports.append(baselineReport) }
        var front = try CombinedFront.combine(runs: states, extra: extra, pricing: pricing)
        if measureTest {
            let data = try loadSplits()
            for index in front.points.indices {
                let point = front.points[index]
                let checkpoint = checkpointURL(of: point, runs: runs, names: names, baseline: baselinePath)
                guard FileManager.default.fileExists(atPath: checkpoint.path) else {
                    log("no checkpoint for \(point.source) member \(point.member ?? -1) round \(point.round ?? -1) "
                        + "(\(checkpoint.path)); its test accuracy is left out")
                    continue
                }
                let (network, config) = try TrainingCheckpoint.loadNetwork(from: checkpoint)
                let result = Evaluation.run(network, images: data.test, normalization: data.using(config).normalization)
                front.points[index].testAccuracy = Double(result.accuracy)
                log(String(format: "%@: %d ReLUs, validation %.4f, test %.4f", point.source, point.relus,
                           point.validationAccuracy, result.accuracy))
            }
        }
        return Result(front: front, reports: reports)
    }

    /// front.json, front.svg and front.md in `directory`.
    public static func write(_ result: Result, to directory: URL, title: String) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(result.front).write(to: directory.appendingPathComponent("front.json"), options: .atomic)
        let svg = ParetoPlot.svg(front: result.front, reports: result.reports, title: title)
        try Data(svg.utf8).write(to: directory.appendingPathComponent("front.svg"), options: .atomic)
        try Data(table(result.front).utf8).write(to: directory.appendingPathComponent("front.md"), options: .atomic)
    }

    /// The front as a Markdown table, fewest ReLUs first.
    public static func table(_ front: CombinedFront) -> String {
        let latency = front.query.map { "\($0)" } ?? "online on \(front.network)"
        var out = "| ReLUs | share of all-ReLU | predicted \(latency) | validation | test | placement | from |\n"
        out += "|---:|---:|---:|---:|---:|---|---|\n"
        let total = Double(front.slots.reduce(0) { $0 + $1.elements })
        for p in front.points {
            let from = p.member.map { "\(p.source), member \($0) round \(p.round ?? 0)" } ?? p.source
            out += String(format: "| %d | %.1f%% | %.4f s | %.2f%% | %@ | `%@` | %@ |\n", p.relus,
                          100 * Double(p.relus) / total, p.predictedOnlineSeconds, 100 * p.validationAccuracy,
                          p.testAccuracy.map { String(format: "%.2f%%", 100 * $0) } ?? "-", p.placement, from)
        }
        return out
    }

    /// Run names for the table: the directory names, or the paths as given where two runs share a name (relative
    /// paths stay relative, so written fronts name no directory of this machine).
    static func runNames(_ runs: [URL]) -> [String] {
        let last = runs.map(\.lastPathComponent)
        return Set(last).count == last.count ? last : runs.map(\.relativePath)
    }

    static func standardized(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    static func checkpointURL(of point: CombinedFront.Point, runs: [URL], names: [String], baseline: String) -> URL {
        guard let member = point.member, let round = point.round,
              let index = names.firstIndex(of: point.source) else { return URL(fileURLWithPath: baseline) }
        return PopulationRunner.frontCheckpointURL(in: runs[index], member: member, round: round)
    }
}
