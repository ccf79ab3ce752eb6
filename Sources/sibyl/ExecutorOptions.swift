// Where `sibyl plan` trains its members: the --executor flag and its options.
import ArgumentParser
import Foundation
import Search

/// `--executor local|processes|ray`.
enum ExecutorChoice: String, CaseIterable, ExpressibleByArgument {
    case local, processes, ray
}

extension RayExecutor.Storage: ExpressibleByArgument {}

struct ExecutorOptions: ParsableArguments {
    @Option(help: "Where members train: local (this process), processes (--workers processes on this machine sharing --out) or ray (one Ray task per member-round on a Ray cluster; see --ray-address). Default: local, or processes with --workers above 1.")
    var executor: ExecutorChoice?
    @Option(help: "Worker processes per round with --executor processes.") var workers: Int = 1
    @Option(name: .customLong("ray-address"), help: "Ray cluster for --executor ray: auto (the cluster `ray start --head` started on this machine, or RAY_ADDRESS), HOST:PORT, or local (a private Ray started for this search).")
    var rayAddress: String = "auto"
    @Option(name: .customLong("ray-python"), help: "Python with Ray for --executor ray (default: $SIBYL_RAY_PYTHON, else .venv/bin/python when there (make ray), else python3).")
    var rayPython: String?
    @Option(name: .customLong("ray-retries"), help: "Further attempts of a failed member-round with --executor ray before the search stops.")
    var rayRetries: Int = 3
    @Option(name: .customLong("ray-storage"), help: "With --executor ray: shared (--out is on storage every node mounts at the same path) or driver (checkpoints travel through the driver and Ray's object store; only the datasets and sibyl must be on every node).")
    var rayStorage: RayExecutor.Storage = .shared

    func validate() throws {
        if workers < 1 { throw ValidationError("--workers must be at least 1") }
        if workers > 1 && (executor ?? .processes) != .processes {
            throw ValidationError("--workers applies to --executor processes only")
        }
        if executor == .processes && workers < 2 { throw ValidationError("--executor processes needs --workers 2 or more") }
        if executor != .ray {
            for (flag, given) in [("--ray-address", rayAddress != "auto"), ("--ray-python", rayPython != nil),
                                  ("--ray-retries", rayRetries != 3), ("--ray-storage", rayStorage != .shared)] where given {
                throw ValidationError("\(flag) applies to --executor ray only")
            }
        }
        if rayRetries < 0 { throw ValidationError("--ray-retries must be at least 0") }
    }

    /// The executor for a search whose member-rounds train with `threads` threads each.
    func choice(threads: Int) -> PlanRun.Executor {
        switch executor ?? (workers > 1 ? .processes : .local) {
        case .local: return .local
        case .processes: return .processes(workers: workers)
        case .ray:
            let python = rayPython ?? ProcessInfo.processInfo.environment["SIBYL_RAY_PYTHON"]
                ?? (FileManager.default.isExecutableFile(atPath: ".venv/bin/python") ? ".venv/bin/python" : "python3")
            return .ray(RayExecutor.Settings(python: python, address: rayAddress, threads: threads, retries: rayRetries,
                                             storage: rayStorage))
        }
    }
}
