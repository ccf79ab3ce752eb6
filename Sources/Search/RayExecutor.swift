// Members of a round as Ray tasks (`sibyl plan --executor ray`): the coordinator writes the round's task
// files as `WorkerExecutor` does, and a Python driver (`RayDriverScript`, started once per search with the
// Python that has Ray) submits one task per member that runs `sibyl plan-worker --member M` on a node of the
// cluster, retries failed attempts, and streams progress back. The scheduler stays here: results are
// reported in member order, whatever order the tasks finish in, so the search log does not depend on the
// executor or the cluster.
import Foundation
import Planner

public final class RayExecutor: RoundExecutor {
    /// Where member-rounds read and write their files.
    public enum Storage: String, Codable, CaseIterable, Sendable {
        /// The run directory is on storage every node mounts at the same path (NFS, a shared disk).
        case shared
        /// Files travel through the driver and Ray's object store; only the datasets (`--data-dir`, absolute,
        /// or relative to a working directory with the same path there) and the sibyl binary need to be on
        /// every node, at the same paths.
        case driver
    }

    public struct Settings: Sendable {
        /// Python with Ray: a path, or a program name looked up on PATH.
        public var python: String
        /// A Ray cluster address (`auto`: the running cluster; `local`: a private Ray for this search).
        public var address: String
        /// CPUs each member-round asks Ray for, and the threads it trains with.
        public var threads: Int
        /// Further attempts of a failed member-round before the search stops.
        public var retries: Int
        public var storage: Storage

        public init(python: String, address: String = "auto", threads: Int, retries: Int = 3, storage: Storage = .shared) {
            self.python = python; self.address = address; self.threads = threads; self.retries = retries
            self.storage = storage
        }
    }

    public let directory: URL
    public let settings: Settings
    /// The sibyl executable the tasks run (this process's own: the same path on every node).
    public let executable: URL
    private let log: (String) -> Void
    private var driver: Process?
    private var requests: FileHandle?
    private var events: LineReader?

    public init(directory: URL, settings: Settings, executable: URL? = nil, log: @escaping (String) -> Void) throws {
        self.directory = directory
        self.settings = settings
        self.log = log
        self.executable = try executable ?? WorkerExecutor.ownExecutable(or: "use --executor local")
        // A driver that dies while a request is on its way must be an error here, not a SIGPIPE death.
        signal(SIGPIPE, SIG_IGN)
    }

    deinit { stop() }

    /// Ends the driver (Ray then cancels what it still runs for it).
    public func stop() {
        try? requests?.close()
        requests = nil
        if let driver, driver.isRunning {
            driver.terminate()
            driver.waitUntilExit()
        }
        driver = nil
    }

    public func execute(_ tasks: [MemberTask], report: (MemberTask, MemberOutcome) throws -> Void) throws {
        guard let round = try WorkerExecutor.writeTasks(tasks, in: directory) else { return }
        let ordered = tasks.sorted { $0.member < $1.member }
        var reported = 0
        // Reports the longest run of finished members in member order (never out of order).
        func reportFinished() throws {
            while reported < ordered.count,
                  WorkerExecutor.hasResult(directory, round: round, member: ordered[reported].member) {
                try WorkerExecutor.reportResults(of: [ordered[reported]], in: directory, report: report)
                reported += 1
            }
        }
        try reportFinished()
        let missing = ordered.map(\.member).filter { !WorkerExecutor.hasResult(directory, round: round, member: $0) }
        guard !missing.isEmpty else { return }
        try startIfNeeded()
        try send(["round": round, "members": missing, "run": directory.relativePath,
                  "label": directory.lastPathComponent])
        var progress = RoundProgress(round: round, members: missing)
        while true {
            let event = try nextEvent()
            guard let kind = event["event"] as? String else { continue }
            if kind == "round" { break }
            if kind == "waiting" {
                log("ray round \(round): " + (event["message"] as? String ?? "waiting for CPUs"))
                continue
            }
            if let line = progress.apply(kind, event) { log(line) }
            if kind == "done" { try reportFinished() }
        }
        try reportFinished()
        if !progress.failed.isEmpty {
            let list = progress.failed.sorted().map(String.init).joined(separator: ", ")
            throw SearchError.executorFailed("round \(round): member\(progress.failed.count == 1 ? "" : "s") \(list) failed "
                + "after \(settings.retries + 1) attempt\(settings.retries == 0 ? "" : "s") or with an error no retry fixes "
                + "(see above and tasks/round-\(round)/member-M.log); finished members are kept: fix the cause and rerun "
                + "with --resume")
        }
    }

    // MARK: - The driver process

    private func startIfNeeded() throws {
        if let driver, driver.isRunning { return }
        let tasksFolder = directory.appendingPathComponent("tasks")
        try FileManager.default.createDirectory(at: tasksFolder, withIntermediateDirectories: true)
        let script = tasksFolder.appendingPathComponent(RayDriverScript.fileName)
        try Data(RayDriverScript.source.utf8).write(to: script, options: .atomic)
        let environment = ProcessInfo.processInfo.environment
        // The tasks' training processes get this process's OpenBLAS settings, not those of whoever started Ray
        // (kernel choice changes results in the last bits; the executors must agree).
        let blas = environment.filter { $0.key.hasPrefix("OPENBLAS_") }
        let configuration: [String: Any] = [
            "address": settings.address, "threads": settings.threads, "retries": settings.retries,
            "storage": settings.storage.rawValue, "executable": executable.path,
            "cwd": FileManager.default.currentDirectoryPath, "run": directory.relativePath,
            "env": blas, "unset": ["OPENBLAS_CORETYPE"].filter { blas[$0] == nil },
        ]
        let arguments = String(decoding: try JSONSerialization.data(withJSONObject: configuration, options: [.sortedKeys]),
                               as: UTF8.self)
        let process = Process()
        if settings.python.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: settings.python) else {
                throw SearchError.invalidSetting("--ray-python \(settings.python) is not an executable; run `make ray` "
                                                 + "(Ray into .venv) or name a Python that has Ray")
            }
            process.executableURL = URL(fileURLWithPath: settings.python)
            process.arguments = [script.path, arguments]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [settings.python, script.path, arguments]
        }
        let logURL = tasksFolder.appendingPathComponent("ray-driver.log")
        if !FileManager.default.fileExists(atPath: logURL.path) {
            _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        }
        let logHandle = try FileHandle(forWritingTo: logURL)
        logHandle.seekToEndOfFile()
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = logHandle
        do { try process.run() } catch {
            throw SearchError.invalidSetting("cannot start \(settings.python) for the Ray driver: \(error)")
        }
        driver = process
        requests = input.fileHandleForWriting
        events = LineReader(output.fileHandleForReading)
        let ready = try nextEvent()
        switch ready["event"] as? String {
        case "ready":
            let nodes = ready["nodes"] as? Int ?? 0
            let cpus = ready["cpus"] as? Double ?? 0
            var line = String(format: "ray: connected to %@ (%d node%@, %g CPUs); one task per member-round with %d CPUs, %d retr%@, storage %@",
                              ready["address"] as? String ?? settings.address, nodes, nodes == 1 ? "" : "s", cpus,
                              settings.threads, settings.retries, settings.retries == 1 ? "y" : "ies", settings.storage.rawValue)
            if let dashboard = ready["dashboard"] as? String, !dashboard.isEmpty { line += "; dashboard http://\(dashboard)" }
            log(line)
        case "error":
            stop()
            throw SearchError.invalidSetting(ready["message"] as? String ?? "the Ray driver failed to start")
        default:
            stop()
            throw SearchError.executorFailed("the Ray driver said \(ready) instead of ready")
        }
    }

    private func send(_ request: [String: Any]) throws {
        guard let requests else { throw SearchError.executorFailed("the Ray driver is not running") }
        var data = try JSONSerialization.data(withJSONObject: request, options: [.sortedKeys])
        data.append(0x0A)
        do { try requests.write(contentsOf: data) } catch {
            throw driverEnded()
        }
    }

    /// The driver's next event; anything else on its output (a library printing to stdout) is passed on.
    private func nextEvent() throws -> [String: Any] {
        while true {
            guard let line = events?.next() else { throw driverEnded() }
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], object["event"] != nil {
                return object
            }
            if !line.trimmingCharacters(in: .whitespaces).isEmpty { log("ray driver: " + line) }
        }
    }

    private func driverEnded() -> SearchError {
        let logURL = directory.appendingPathComponent("tasks/ray-driver.log")
        let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        let tail = text.split(separator: "\n").suffix(8).joined(separator: "\n")
        stop()
        return .executorFailed("the Ray driver ended unexpectedly; the end of \(logURL.relativePath):\n\(tail)\n"
                               + "finished members are kept: rerun with --resume")
    }
}

/// Counts of one round's member-rounds and the progress line each event makes.
struct RoundProgress {
    let round: Int
    let total: Int
    var queued: Set<Int>
    var running: [Int: Date] = [:]
    var done: [Int: Double] = [:]
    var failed: Set<Int> = []

    init(round: Int, members: [Int]) {
        self.round = round
        total = members.count
        queued = Set(members)
    }

    mutating func apply(_ kind: String, _ event: [String: Any]) -> String? {
        guard let member = event["member"] as? Int else { return nil }
        let attempt = event["attempt"] as? Int ?? event["attempts"] as? Int ?? 1
        let what: String
        switch kind {
        case "started":
            guard done[member] == nil, !failed.contains(member) else { return nil }
            queued.remove(member)
            running[member] = Date()
            what = "member \(member) started on \(event["host"] as? String ?? "?")" + (attempt > 1 ? " (attempt \(attempt))" : "")
        case "done":
            queued.remove(member)
            running[member] = nil
            let seconds = event["seconds"] as? Double ?? 0
            done[member] = seconds
            what = String(format: "member %d done on %@ in %.0f s", member, event["host"] as? String ?? "?", seconds)
        case "retry":
            running[member] = nil
            queued.insert(member)
            what = "member \(member) attempt \(attempt) failed, retrying: \(firstLine(event["error"]))"
        case "failed":
            running[member] = nil
            queued.remove(member)
            failed.insert(member)
            what = "member \(member) failed after \(attempt) attempt\(attempt == 1 ? "" : "s"): \(event["error"] as? String ?? "?")"
        default:
            return nil
        }
        return "ray round \(round): \(what) [\(summary)]"
    }

    var summary: String {
        var text = "\(done.count)/\(total) done, \(running.count) running, \(queued.count) queued, \(failed.count) failed"
        if !done.isEmpty, done.count + failed.count < total {
            // Left = tasks not done, each about the mean duration, spread over the tasks running now.
            let mean = done.values.reduce(0, +) / Double(done.count)
            let left = Double(total - done.count - failed.count)
            let eta = mean * left / Double(max(1, running.count))
            text += String(format: ", round ETA %.0f s", eta)
        }
        return text
    }

    private func firstLine(_ value: Any?) -> String {
        (value as? String ?? "?").split(separator: "\n").first.map(String.init) ?? ""
    }
}

/// Lines from a pipe, read as they arrive (blocking).
final class LineReader {
    private let handle: FileHandle
    private var buffer = Data()

    init(_ handle: FileHandle) { self.handle = handle }

    func next() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = buffer[buffer.startIndex..<newline]
                buffer.removeSubrange(buffer.startIndex...newline)
                return String(decoding: line, as: UTF8.self)
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }
}
