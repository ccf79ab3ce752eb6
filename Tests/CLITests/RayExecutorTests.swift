import Foundation
import PlanStore
import TestSupport
import XCTest

/// `sibyl plan --executor ray` against a real local Ray cluster, which `make test` installs and starts
/// (Tests/ray/cluster.sh, address in SIBYL_RAY_ADDRESS). Without one, under `make test` these tests fail with
/// the reason; run by hand without that variable they are skipped with a note.
final class RayExecutorTests: XCTestCase {
    struct RayUnavailable: Error, CustomStringConvertible { let description: String }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static var python: String { repository.appendingPathComponent(".venv/bin/python").path }

    func rayAddress() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let error = environment["SIBYL_RAY_ERROR"] {
            throw RayUnavailable(description: "no Ray cluster for the Ray executor's tests: \(error)")
        }
        guard let address = environment["SIBYL_RAY_ADDRESS"] else {
            throw XCTSkip("SIBYL_RAY_ADDRESS is not set: `make test` installs Ray and starts a local cluster for these "
                          + "tests (Tests/ray/cluster.sh start STATE, then source STATE)")
        }
        return address
    }

    /// A TinyNet baseline on synthetic data in `directory/base` (paths below are relative to `directory`,
    /// the working directory of every run, as a user's would be).
    func baseline(in directory: URL) throws {
        let (status, output) = try PlanCLI.runSibyl(["train", "--model", "tiny", "--dataset", "synthetic", "--epochs", "1",
                                                     "--batch-size", "64", "--lr", "0.05", "--validation-count", "500",
                                                     "--out", "base"], in: directory)
        XCTAssertEqual(status, 0, output)
    }

    /// Four members, four rounds of a quarter epoch, one thread per member-round (so two run at once on the
    /// test cluster's two CPUs and finish in either order).
    func search(_ out: String) -> [String] {
        ["plan", "--baseline", "base/checkpoint.h5", "--dataset", "synthetic", "--population", "4", "--budget-epochs", "4",
         "--rounds", "4", "--max-relus", "1024", "--pinned", "none", "--batch-size", "64", "--validation-count", "500",
         "--seed", "5", "--threads", "1", "--out", out]
    }

    func ray(_ address: String) -> [String] {
        ["--executor", "ray", "--ray-address", address, "--ray-python", Self.python]
    }

    /// The decisions and the chosen member of two runs are the same, byte for byte (the log has no timestamps
    /// or host names), and so are the chosen checkpoints' contents.
    func assertSameSearch(_ a: URL, _ b: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        for name in ["search.jsonl", "placement.json", "pareto.json"] {
            let left = try Data(contentsOf: a.appendingPathComponent(name))
            let right = try Data(contentsOf: b.appendingPathComponent(name))
            XCTAssertTrue(left == right, "\(name) differs between \(a.lastPathComponent) and \(b.lastPathComponent)",
                          file: file, line: line)
        }
        XCTAssertEqual(try CheckpointIO.read(from: a.appendingPathComponent("best.h5")),
                       try CheckpointIO.read(from: b.appendingPathComponent("best.h5")), file: file, line: line)
    }

    func testEveryExecutorMakesTheSameSearch() throws {
        let address = try rayAddress()
        let directory = PlanCLI.temporaryDirectory("ray-same")
        try baseline(in: directory)
        var (status, output) = try PlanCLI.runSibyl(search("local"), in: directory)
        XCTAssertEqual(status, 0, output)
        (status, output) = try PlanCLI.runSibyl(search("processes") + ["--executor", "processes", "--workers", "2"], in: directory)
        XCTAssertEqual(status, 0, output)
        try assertSameSearch(directory.appendingPathComponent("local"), directory.appendingPathComponent("processes"))
        for storage in ["shared", "driver"] {
            (status, output) = try PlanCLI.runSibyl(search("ray-\(storage)") + ray(address) + ["--ray-storage", storage],
                                                    in: directory)
            XCTAssertEqual(status, 0, output)
            XCTAssertTrue(output.contains("ray: connected to") && output.contains("storage \(storage)"), output)
            XCTAssertTrue(output.contains("ray round 4: member 3 done on"), output)
            try assertSameSearch(directory.appendingPathComponent("local"), directory.appendingPathComponent("ray-\(storage)"))
        }
        // The tasks carry readable names on the cluster (what the dashboard lists).
        let script = """
            import ray, sys
            from ray.util.state import list_tasks
            ray.init(address=sys.argv[1], logging_level="ERROR")
            names = [t.name for t in list_tasks(filters=[("name", "=", sys.argv[2])], raise_on_missing_output=False)]
            print(len(names))
            """
        (status, output) = try runProcess(URL(fileURLWithPath: Self.python),
                                          ["-c", script, address, "sibyl plan ray-shared: round 2 member 1"])
        XCTAssertEqual(status, 0, output)
        XCTAssertEqual(output.split(separator: "\n").last.flatMap { Int($0) }, 1, output)
    }

    func testAKilledWorkerIsRetriedAndTheSearchIsUnchanged() throws {
        let address = try rayAddress()
        let directory = PlanCLI.temporaryDirectory("ray-worker")
        try baseline(in: directory)
        var (status, output) = try PlanCLI.runSibyl(search("local"), in: directory)
        XCTAssertEqual(status, 0, output)
        let run = try startSibyl(search("killed") + ray(address), in: directory)
        // SIGKILL the first training process of this search, wherever it is in its member-round.
        let killed = killFirstWorker(of: directory.appendingPathComponent("killed"), while: run.process)
        run.process.waitUntilExit()
        output = run.output()
        XCTAssertNotNil(killed, "no worker process of the search was seen: \(output)")
        XCTAssertEqual(run.process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("failed, retrying: sibyl plan-worker was killed by signal 9"), output)
        try assertSameSearch(directory.appendingPathComponent("local"), directory.appendingPathComponent("killed"))
        // With no retries left the search stops and says so, keeping what finished; --resume completes it.
        let stopped = try startSibyl(search("stopped") + ray(address) + ["--ray-retries", "0"], in: directory)
        killFirstWorker(of: directory.appendingPathComponent("stopped"), while: stopped.process)
        stopped.process.waitUntilExit()
        output = stopped.output()
        XCTAssertNotEqual(stopped.process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("after 1 attempt") && output.contains("rerun with --resume"), output)
        (status, output) = try PlanCLI.runSibyl(search("stopped") + ray(address) + ["--resume"], in: directory)
        XCTAssertEqual(status, 0, output)
        try assertSameSearch(directory.appendingPathComponent("local"), directory.appendingPathComponent("stopped"))
    }

    /// SIGKILLs the first training process of the search in `run` that appears while `process` runs.
    @discardableResult
    func killFirstWorker(of run: URL, while process: Process) -> Int32? {
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline {
            if let pid = processes(matching: ["plan-worker", run.path]).first {
                kill(pid, SIGKILL)
                return pid
            }
            usleep(20_000)
        }
        return nil
    }

    func testAKilledDriverResumesWithNothingLost() throws {
        let address = try rayAddress()
        let directory = PlanCLI.temporaryDirectory("ray-driver")
        try baseline(in: directory)
        var (status, output) = try PlanCLI.runSibyl(search("local"), in: directory)
        XCTAssertEqual(status, 0, output)
        let out = directory.appendingPathComponent("resumed")
        let run = try startSibyl(search("resumed") + ray(address), in: directory)
        // Kill sibyl itself once round 2 has begun reporting.
        let deadline = Date().addingTimeInterval(120)
        while run.process.isRunning && Date() < deadline {
            let log = (try? String(contentsOf: out.appendingPathComponent("search.jsonl"), encoding: .utf8)) ?? ""
            if log.contains("\"round\":2") { break }
            usleep(20_000)
        }
        XCTAssertTrue(run.process.isRunning, "the search ended before it could be killed: \(run.output())")
        kill(run.process.processIdentifier, SIGKILL)
        run.process.waitUntilExit()
        // Its Ray driver goes with it (and with the driver, the tasks it submitted).
        let gone = Date().addingTimeInterval(10)
        while !processes(matching: [out.appendingPathComponent("tasks/ray-driver.py").path]).isEmpty && Date() < gone {
            usleep(100_000)
        }
        XCTAssertTrue(processes(matching: [out.appendingPathComponent("tasks/ray-driver.py").path]).isEmpty,
                      "the Ray driver outlived the killed search")
        // And with it the tasks it submitted (their training processes die with their Ray workers).
        while !processes(matching: ["plan-worker", out.path]).isEmpty && Date() < gone.addingTimeInterval(20) {
            usleep(100_000)
        }
        XCTAssertTrue(processes(matching: ["plan-worker", out.path]).isEmpty, "a training process outlived the killed search")
        (status, output) = try PlanCLI.runSibyl(search("resumed") + ray(address) + ["--resume"], in: directory)
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("resuming"), output)
        try assertSameSearch(directory.appendingPathComponent("local"), out)
    }

    func testClusterErrorsSayWhatToDo() throws {
        let address = try rayAddress()
        let directory = PlanCLI.temporaryDirectory("ray-errors")
        try baseline(in: directory)
        var (status, output) = try PlanCLI.runSibyl(search("big") + ray(address) + ["--threads", "64"], in: directory)
        XCTAssertTrue(status != 0 && output.contains("asks for 64 CPUs") && output.contains("--threads 2"), output)
        // A Python without Ray (site-packages off).
        let bare = directory.appendingPathComponent("bare-python")
        try Data("#!/bin/sh\nexec \(Self.python) -S \"$@\"\n".utf8).write(to: bare)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bare.path)
        (status, output) = try PlanCLI.runSibyl(search("bare") + ["--executor", "ray", "--ray-python", bare.path], in: directory)
        XCTAssertTrue(status != 0 && output.contains("Ray is not importable") && output.contains("make ray"), output)
    }

    func testExecutorFlagsAreChecked() throws {
        let directory = PlanCLI.temporaryDirectory("ray-flags")
        try baseline(in: directory)
        var (status, output) = try PlanCLI.runSibyl(search("a") + ["--ray-address", "local"], in: directory)
        XCTAssertTrue(status != 0 && output.contains("--ray-address applies to --executor ray only"), output)
        (status, output) = try PlanCLI.runSibyl(search("a") + ["--executor", "ray", "--workers", "2"], in: directory)
        XCTAssertTrue(status != 0 && output.contains("--workers applies to --executor processes only"), output)
        (status, output) = try PlanCLI.runSibyl(search("a") + ["--executor", "processes"], in: directory)
        XCTAssertTrue(status != 0 && output.contains("needs --workers 2 or more"), output)
        (status, output) = try PlanCLI.runSibyl(search("a") + ["--executor", "cluster"], in: directory)
        XCTAssertTrue(status != 0 && output.contains("'cluster' is invalid"), output)
        (status, output) = try PlanCLI.runSibyl(search("a") + ["--executor", "ray", "--ray-python", "/nonexistent/python"],
                                                in: directory)
        XCTAssertTrue(status != 0 && output.contains("is not an executable") && output.contains("make ray"), output)
    }

    // MARK: - Helpers

    final class Running {
        let process: Process
        let logURL: URL
        init(process: Process, logURL: URL) { self.process = process; self.logURL = logURL }
        func output() -> String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
    }

    /// Starts the built sibyl without waiting for it; its output goes to a file.
    func startSibyl(_ arguments: [String], in directory: URL) throws -> Running {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sibyl")
        let logURL = directory.appendingPathComponent("sibyl-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logURL)
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return Running(process: process, logURL: logURL)
    }

    /// Processes whose command line contains every one of `parts`, from /proc.
    func processes(matching parts: [String]) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), pid != getpid(),
                  let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let line = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return parts.allSatisfy { line.contains($0) } ? pid : nil
        }
    }
}
