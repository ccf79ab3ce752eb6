// `sibyl plan-worker` (hidden): one worker process of `sibyl plan --executor processes|ray`.
import ArgumentParser
import Foundation
import Search
import Tensors
import Training

/// `sibyl plan-worker` (hidden): trains members of one round of a plan run from the task files in its run
/// directory: worker i of W (`--executor processes`: members m with m % W == i) or one member (`--executor ray`).
struct PlanWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan-worker",
        abstract: "Train members of a plan round (started by sibyl plan --executor processes|ray).",
        shouldDisplay: false)

    @Option(name: .customLong("run"), help: "Run directory of the plan.") var runDirectory: String
    @Option(help: "Round to train.") var round: Int
    @Option(help: "This worker's index.") var worker: Int?
    @Option(help: "Number of workers.") var workers: Int?
    @Option(help: "Train this member only.") var member: Int?
    @Option(help: "Threads (default: the run's --threads shared among its workers).") var threads: Int?

    func validate() throws {
        switch (worker, workers, member) {
        case let (worker?, workers?, nil):
            if workers < 1 || worker < 0 || worker >= workers { throw ValidationError("need 0 <= --worker < --workers") }
        case let (nil, nil, member?):
            if member < 0 { throw ValidationError("--member must be at least 0") }
        default:
            throw ValidationError("give --worker I --workers W, or --member M")
        }
        if round < 1 { throw ValidationError("--round must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: runDirectory)
        let request = try PlanRun.readRequest(in: directory)
        Parallel.configure(threads: threads ?? max(1, request.threads / (workers ?? 1)))
        guard let kind = request.datasetKind else { throw ValidationError("unknown dataset \(request.dataset)") }
        let splits = try Datasets.load(kind, directory: URL(fileURLWithPath: request.dataDirectory),
                                       validationCount: request.validationCount)
        let trainable = try EngineTrainable(baseline: URL(fileURLWithPath: request.baseline), splits: splits,
                                            options: request.options)
        let wanted: (Int) -> Bool
        if let member {
            let task = WorkerExecutor.taskURL(directory, round: round, member: member)
            guard FileManager.default.fileExists(atPath: task.path) else {
                throw ValidationError("no task for member \(member) of round \(round): \(task.path) is missing")
            }
            wanted = { $0 == member }
        } else {
            let worker = worker!, workers = workers!
            wanted = { $0 % workers == worker }
        }
        try WorkerExecutor.work(directory: directory, round: round, members: wanted, trainable: trainable) { print($0) }
    }
}
