// `sibyl front`: several `sibyl plan` runs (searches at different targets from one baseline) and the baseline
// itself on one Pareto front (module Search, FrontReport).
import ArgumentParser
import Foundation
import Planner
import Search
import Tensors

struct FrontCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "front",
        abstract: "Combine the Pareto fronts of several plan runs and the all-ReLU baseline into one.",
        discussion: """
            One search covers placements near its own target. To see the whole trade-off from all-ReLU \
            down to all-polynomial, run sibyl plan at several targets from the same baseline and combine \
            them here. The baseline joins the front measured on the searches' validation split (unless \
            --no-baseline); --measure-test adds each front point's test accuracy (reported, never used to \
            rank). Writes DIR/front.json, DIR/front.svg and DIR/front.md (a table).

            Example: sibyl front runs/plan-53k runs/plan-0 runs/plan-150k --out Experiments/front --measure-test
            """)

    @Argument(help: "Run directories of sibyl plan (each holds search.jsonl and plan-request.json).")
    var runs: [String]
    @Option(help: "Directory to write front.json, front.svg and front.md into.") var out: String
    @Flag(name: .customLong("no-baseline"), help: "Leave the all-ReLU baseline off the front (then no dataset is read unless --measure-test).")
    var noBaseline = false
    @Flag(name: .customLong("measure-test"), help: "Also measure every front point's checkpoint on the test split.")
    var measureTest = false
    @Option(help: "Worker threads.") var threads: Int = 2

    func validate() throws {
        if runs.isEmpty { throw ValidationError("give at least one run directory of sibyl plan") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        for run in runs where !FileManager.default.fileExists(atPath: run) {
            throw ValidationError("\(run) does not exist; give run directories of sibyl plan (--out of each run)")
        }
    }

    func run() throws {
        Parallel.configure(threads: threads)
        let result: FrontReport.Result
        do {
            result = try FrontReport.build(runs: runs.map { URL(fileURLWithPath: $0) }, measureBaseline: !noBaseline,
                                           measureTest: measureTest) { print($0) }
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
