// `sibyl plan-worker` (hidden): one worker process of `sibyl plan --workers W`.
import ArgumentParser
import Foundation
import Search
import Tensors
import Training

/// `sibyl plan-worker` (hidden): trains one worker's share of a round of a `sibyl plan --workers W` run.
struct PlanWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan-worker",
        abstract: "Train one worker's members of a plan round (started by sibyl plan --workers).",
        shouldDisplay: false)

    @Option(name: .customLong("run"), help: "Run directory of the plan.") var runDirectory: String
    @Option(help: "Round to train.") var round: Int
    @Option(help: "This worker's index.") var worker: Int
    @Option(help: "Number of workers.") var workers: Int

    func validate() throws {
        if workers < 1 || worker < 0 || worker >= workers { throw ValidationError("need 0 <= --worker < --workers") }
        if round < 1 { throw ValidationError("--round must be at least 1") }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: runDirectory)
        let request = try PlanRun.readRequest(in: directory)
        Parallel.configure(threads: max(1, request.threads / request.workers))
        guard let kind = request.datasetKind else { throw ValidationError("unknown dataset \(request.dataset)") }
        let splits = try Datasets.load(kind, directory: URL(fileURLWithPath: request.dataDirectory),
                                       validationCount: request.validationCount)
        let trainable = try EngineTrainable(baseline: URL(fileURLWithPath: request.baseline), splits: splits,
                                            options: request.options)
        try WorkerExecutor.work(directory: directory, round: round, worker: worker, workers: workers,
                                trainable: trainable) { print($0) }
    }
}
