// `sibyl front`: several `sibyl plan` runs (searches at different targets) and the all-ReLU baseline on one
// Pareto front (module Search, FrontReport), with the latencies the searches logged or priced anew.
import ArgumentParser
import Foundation
import NetworkCost
import Planner
import Search
import Tensors

struct FrontCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "front",
        abstract: "Combine the Pareto fronts of several plan runs and the all-ReLU baseline into one.",
        discussion: """
            One search covers placements near its own target. To see the whole trade-off from all-ReLU \
            down to all-polynomial, run sibyl plan at several targets and combine them here. Runs may start \
            from different networks (the all-ReLU baseline, or e.g. an all-polynomial network giving ReLUs \
            back) when they measured the same validation split. The all-ReLU baseline among their starting \
            networks joins the front measured on that split (unless --no-baseline); --measure-test adds each \
            front point's test accuracy (reported, never used to rank). Writes DIR/front.json, DIR/front.svg \
            and DIR/front.md (a table).

            Latencies: by default those the searches logged (then every run must have used the same cost \
            model and query). With --network, every report of every run is priced anew from its placement \
            with one cost model (--cost-model, default as sibyl plan) for that network, --latency-phase \
            (online; total: offline + online, the default on wan) and --relu (ot, the default; or garbled): \
            e.g. a front on total cost, where polynomials' offline work counts.

            Example: sibyl front runs/plan-53k runs/plan-0 runs/plan-150k --out Experiments/front --measure-test
                     sibyl front runs/plan-0 runs/reverse-61k --network wan --out Experiments/front-wan
            """)

    @Argument(help: "Run directories of sibyl plan (each holds search.jsonl and plan-request.json).")
    var runs: [String]
    @Option(help: "Directory to write front.json, front.svg and front.md into.") var out: String
    @Flag(name: .customLong("no-baseline"), help: "Leave the all-ReLU baseline off the front (then no dataset is read unless --measure-test).")
    var noBaseline = false
    @Flag(name: .customLong("measure-test"), help: "Also measure every front point's checkpoint on the test split.")
    var measureTest = false
    @Option(help: "Worker threads.") var threads: Int = 2
    @Option(help: "Price every point anew for this network (lan, wan, loopback) instead of using the logged latencies.")
    var network: NetworkChoice?
    @Option(name: .customLong("latency-phase"), help: "With --network: online, or total (offline + online; default on wan).")
    var latencyPhase: CostPhase?
    @Option(help: "With --network: the ReLU protocol, ot (the default) or garbled.") var relu: ReLUProtocol?
    @Option(name: .customLong("cost-model"), help: "With --network: cost model JSON (sibyl calibrate); default as sibyl plan.")
    var costModel: String?

    func validate() throws {
        if runs.isEmpty { throw ValidationError("give at least one run directory of sibyl plan") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if network == nil, latencyPhase != nil || relu != nil || costModel != nil {
            throw ValidationError("--latency-phase, --relu and --cost-model price the front anew: give --network too")
        }
        for run in runs where !FileManager.default.fileExists(atPath: run) {
            throw ValidationError("\(run) does not exist; give run directories of sibyl plan (--out of each run)")
        }
    }

    func run() throws {
        Parallel.configure(threads: threads)
        let result: FrontReport.Result
        do {
            let pricing = try network.map { network in
                CombinedFront.Pricing(costModel: try CalibrateCommand.loadCostModel(costModel),
                                      query: .defaulted(network: network.profile, phase: latencyPhase, relu: relu))
            }
            result = try FrontReport.build(runs: runs.map { URL(fileURLWithPath: $0) }, measureBaseline: !noBaseline,
                                           measureTest: measureTest, pricing: pricing) { print($0) }
        } catch let error as SearchError {
            throw ValidationError(error.description)
        } catch let error as PlannerError {
            throw ValidationError(error.description)
        }
        let directory = URL(fileURLWithPath: out)
        try FrontReport.write(result, to: directory, title: "sibyl front: \(runs.count) search\(runs.count == 1 ? "" : "es")"
                              + (noBaseline ? "" : " and the baseline"))
        print(FrontReport.table(result.front), terminator: "")
        print("wrote \(directory.path)/{front.json, front.svg, front.md}")
    }
}
