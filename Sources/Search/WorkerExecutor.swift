// Members of a round as separate worker processes sharing the run directory, coordinated through files:
// the coordinator writes one task file per member (tasks/round-R/member-M.json), starts W workers
// (`sibyl plan-worker --run DIR --round R --worker i --workers W`), each trains the members m with
// m % W == i and writes member-M.result.json atomically; when all have exited the coordinator reads the
// results. A result file already present is reused, so a killed round resumes with its finished members.
// `RayExecutor` starts the same worker command, one member per task (`--member M`), on a Ray cluster.
import Foundation
import Planner

public struct WorkerExecutor: RoundExecutor {
    public let directory: URL
    public let workers: Int
    /// The executable that understands `plan-worker` (this process's own by default).
    public let executable: URL

    public init(directory: URL, workers: Int, executable: URL? = nil) throws {
        precondition(workers >= 1, "at least one worker")
        self.directory = directory
        self.workers = workers
        self.executable = try executable ?? Self.ownExecutable(or: "use --executor local")
    }

    /// This program's executable, which understands `plan-worker`; `advice` says what to do without one.
    static func ownExecutable(or advice: String) throws -> URL {
        guard let path = Bundle.main.executablePath else {
            throw SearchError.invalidSetting("cannot find this program's executable to start workers; \(advice)")
        }
        return URL(fileURLWithPath: path).standardizedFileURL
    }

    public static func roundFolder(_ directory: URL, round: Int) -> URL {
        directory.appendingPathComponent("tasks/round-\(round)")
    }

    public static func taskURL(_ directory: URL, round: Int, member: Int) -> URL {
        roundFolder(directory, round: round).appendingPathComponent("member-\(member).json")
    }

    public static func resultURL(_ directory: URL, round: Int, member: Int) -> URL {
        roundFolder(directory, round: round).appendingPathComponent("member-\(member).result.json")
    }

    public func execute(_ tasks: [MemberTask], report: (MemberTask, MemberOutcome) throws -> Void) throws {
        guard let round = try Self.writeTasks(tasks, in: directory) else { return }
        let folder = Self.roundFolder(directory, round: round)
        var processes: [(Int, Process, URL)] = []
        for worker in 0..<workers {
            let logURL = folder.appendingPathComponent("worker-\(worker).log")
            _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
            let handle = try FileHandle(forWritingTo: logURL)
            let process = Process()
            process.executableURL = executable
            process.arguments = ["plan-worker", "--run", directory.path, "--round", "\(round)",
                                 "--worker", "\(worker)", "--workers", "\(workers)"]
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            processes.append((worker, process, logURL))
        }
        var failure: SearchError?
        for (worker, process, logURL) in processes {
            process.waitUntilExit()
            if process.terminationStatus != 0 && failure == nil {
                failure = .workerFailed(worker: worker, status: process.terminationStatus, log: logURL.path)
            }
        }
        // Report what finished even when a worker failed, so a resume keeps it.
        try Self.reportResults(of: tasks, in: directory, report: report)
        if let failure { throw failure }
    }

    /// Writes one task file per member of a round (the round's folder created); nil when there are no tasks.
    /// Every executor that hands members to other processes goes through these files.
    public static func writeTasks(_ tasks: [MemberTask], in directory: URL) throws -> Int? {
        guard let round = tasks.first?.round else { return nil }
        precondition(tasks.allSatisfy { $0.round == round }, "one round at a time")
        try FileManager.default.createDirectory(at: roundFolder(directory, round: round), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for task in tasks {
            try encoder.encode(task).write(to: taskURL(directory, round: round, member: task.member), options: .atomic)
        }
        return round
    }

    /// Whether a member's result file is there (a finished member-round, kept across a killed round).
    public static func hasResult(_ directory: URL, round: Int, member: Int) -> Bool {
        FileManager.default.fileExists(atPath: resultURL(directory, round: round, member: member).path)
    }

    /// Reports the tasks whose result file is there, in member order whatever order they finished in (so the
    /// log a search writes does not depend on the executor); skips the others.
    public static func reportResults(of tasks: [MemberTask], in directory: URL,
                                     report: (MemberTask, MemberOutcome) throws -> Void) throws {
        let decoder = JSONDecoder()
        for task in tasks.sorted(by: { $0.member < $1.member }) {
            let url = resultURL(directory, round: task.round, member: task.member)
            guard let data = try? Data(contentsOf: url), let outcome = try? decoder.decode(MemberOutcome.self, from: data)
            else { continue }
            try report(task, outcome)
        }
    }

    /// A worker's part of a round: trains the round's tasks whose member `wanted` selects and whose result
    /// file is missing, with `trainable`, and writes each result file atomically.
    public static func work(directory: URL, round: Int, members wanted: (Int) -> Bool, trainable: Trainable,
                            log: (String) -> Void = { _ in }) throws {
        let decoder = JSONDecoder()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let folder = roundFolder(directory, round: round)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let members = names.compactMap { name -> Int? in
            guard name.hasPrefix("member-"), name.hasSuffix(".json"), !name.hasSuffix(".result.json") else { return nil }
            return Int(name.dropFirst("member-".count).dropLast(".json".count))
        }.filter(wanted).sorted()
        for member in members {
            let resultURL = self.resultURL(directory, round: round, member: member)
            if FileManager.default.fileExists(atPath: resultURL.path) { continue }
            let taskURL = self.taskURL(directory, round: round, member: member)
            let task: MemberTask
            do { task = try decoder.decode(MemberTask.self, from: Data(contentsOf: taskURL)) } catch {
                throw SearchError.unreadableInput(path: taskURL.path, reason: "\(error)")
            }
            let outcome = try InProcessExecutor.perform(task, with: trainable)
            try encoder.encode(outcome).write(to: resultURL, options: .atomic)
            log(String(format: "round %d member %d val acc %.4f%@", round, member,
                       outcome.validationAccuracy, outcome.diverged ? " (diverged)" : ""))
        }
    }
}
