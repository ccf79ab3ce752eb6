// `sibyl evaluate`, `sibyl serve` and `sibyl query` through the built binary, on a tiny network trained
// on generated data: secure logits equal the oracle's, and a server survives a client that sends garbage
// and one that vanishes, then serves the next client.
import Foundation
import TestSupport
import Transport
import XCTest

final class SecureCLITests: XCTestCase {
    var directory: URL!
    var sibyl: URL!

    override func setUpWithError() throws {
        sibyl = try ExportCLITests.requireBinary()
        directory = try makeTemporaryDirectory("secure-cli")
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    @discardableResult
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runProcess(sibyl, arguments, in: directory)
    }

    func path(_ relative: String) -> String { directory.appendingPathComponent(relative).path }

    func tinyPlan() throws -> String {
        let train = try run(["train", "--model", "tiny", "--dataset", "synthetic", "--epochs", "1", "--out", path("run")])
        XCTAssertEqual(train.status, 0, train.output)
        let export = try run(["export", "--checkpoint", path("run/checkpoint.h5"), "--out", path("Plans/tiny"),
                              "--calibration-images", "64", "--accuracy-images", "100"])
        XCTAssertEqual(export.status, 0, export.output)
        return path("Plans/tiny")
    }

    func testEvaluateMatchesOracleAndReportsCosts() throws {
        let plan = try tinyPlan()
        let result = try run(["evaluate", plan, "--images", "3", "--dataset", "synthetic", "--network", "wan", "--json"])
        XCTAssertEqual(result.status, 0, result.output)
        let json = String(result.output[try XCTUnwrap(result.output.firstIndex(of: "{"), result.output)...])
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(report["images"] as? Int, 3)
        XCTAssertEqual(report["agreement_with_oracle"] as? Double, 1.0, json)
        XCTAssertNotNil(report["agreement_with_float"] as? Double)
        XCTAssertNotNil(report["accuracy"] as? Double)
        XCTAssertEqual(report["relu"] as? String, "ot", "--network wan picks the OT-based ReLU (the lower total)")
        for phase in ["offline", "online"] {
            let stats = try XCTUnwrap(report[phase] as? [String: Any], "missing \(phase)")
            XCTAssertGreaterThan(stats["bytes"] as? Double ?? 0, 0)
            XCTAssertGreaterThan(stats["seconds"] as? Double ?? 0, 0)
        }
        let online = try XCTUnwrap(report["online"] as? [String: Any])
        XCTAssertGreaterThan(online["rounds"] as? Double ?? 0, 0)
        // WAN latency includes at least one RTT per flight pair.
        XCTAssertGreaterThan(report["latency"] as? Double ?? 0, (online["rounds"] as? Double ?? 0) * 0.02)
    }

    func testServerSurvivesGarbageAndDroppedClientsThenServesQuery() throws {
        let plan = try tinyPlan()
        // The server picks a free port (--port 0) and announces it on its first log line.
        let serve = try ServerProcess(sibyl: sibyl, plan: plan, arguments: ["--connections", "3", "--timeout", "20"],
                                      directory: directory)
        defer { serve.stop() }
        let server = serve.process, port = serve.port
        func logText() -> String { serve.log }
        func waitFor(_ condition: () -> Bool, seconds: Double) -> Bool { ServerProcess.waitFor(seconds: seconds, condition) }
        // Client 1: garbage instead of the protocol.
        let garbage = try TCPChannel.connect(host: "127.0.0.1", port: port, connectTimeout: 10, retryFor: 20, timeout: 10)
        let junk = [UInt8](repeating: 0xAB, count: 4096)
        try junk.withUnsafeBytes { try garbage.send($0) }
        try garbage.flush()
        garbage.close()
        // Client 2: connects and vanishes without a word.
        let silent = try TCPChannel.connect(host: "127.0.0.1", port: port, connectTimeout: 10, retryFor: 20, timeout: 10)
        silent.close()
        // Client 3: a real query.
        let query = try run(["query", "--port", "\(port)", "--cifar-index", "7", "--dataset", "synthetic", "--json"])
        XCTAssertEqual(query.status, 0, query.output)
        let json = String(query.output[try XCTUnwrap(query.output.firstIndex(of: "{"), query.output)...])
        let answer = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let top = try XCTUnwrap(answer["top"] as? [[String: Any]])
        XCTAssertEqual(top.count, 5)
        XCTAssertEqual((answer["logits"] as? [Double])?.count, 10)
        XCTAssertTrue(waitFor({ !server.isRunning }, seconds: 60), "server did not stop after 3 connections: \(logText())")
        XCTAssertEqual(server.terminationStatus, 0, logText())
        XCTAssertTrue(logText().contains("client 1 (127.0.0.1:") && logText().contains("dropped in the handshake"), logText())
        XCTAssertTrue(logText().range(of: #"client 3 \(127\.0\.0\.1:[0-9]+\): served 1 image\(s\)"#, options: .regularExpression) != nil,
                      logText())
    }

    /// `serve --ot silent` announces silent OT, `serve --relu garbled` garbled ReLUs (the OT-based ReLU is the
    /// default), and `query` follows both by itself; the answers equal the one over IKNP and garbled ReLUs
    /// (within the plan's local truncation error: its average pool).
    func testQueryFollowsTheServersSilentOT() throws {
        let plan = try tinyPlan()
        let settings: [(arguments: [String], log: String)] = [
            (["--ot", "iknp", "--relu", "garbled"], "iknp OT, garbled ReLUs"),
            (["--ot", "silent", "--relu", "garbled"], "silent OT, garbled ReLUs"),
            (["--ot", "silent"], "silent OT, ot ReLUs"),
            (["--ot", "iknp"], "iknp OT, ot ReLUs"),
        ]
        var answers: [[Double]] = []
        for (arguments, expected) in settings {
            let serve = try ServerProcess(sibyl: sibyl, plan: plan, arguments: ["--connections", "1"] + arguments, directory: directory)
            defer { serve.stop() }
            let query = try run(["query", "--port", "\(serve.port)", "--cifar-index", "3", "--dataset", "synthetic", "--json"])
            XCTAssertEqual(query.status, 0, query.output)
            let json = String(query.output[try XCTUnwrap(query.output.firstIndex(of: "{"), query.output)...])
            let answer = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            answers.append(try XCTUnwrap(answer["logits"] as? [Double]))
            XCTAssertTrue(ServerProcess.waitFor(seconds: 60) { !serve.process.isRunning }, serve.log)
            XCTAssertTrue(serve.log.contains(expected), "\(arguments): \(serve.log)")
        }
        for (setting, answer) in zip(settings.dropFirst(), answers.dropFirst()) {
            XCTAssertEqual(answers[0].count, answer.count)
            for (a, b) in zip(answers[0], answer) { XCTAssertEqual(a, b, accuracy: 1e-3, "\(setting.arguments)") }
        }
    }

    func testQueryFlagsAreValidated() throws {
        let both = try run(["query", "--image", "x.png", "--cifar-index", "1"])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.output.contains("exactly one of --image"), both.output)
        let refused = try run(["query", "--port", "1", "--cifar-index", "0", "--dataset", "synthetic"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.lowercased().contains("refused") || refused.output.contains("connect"), refused.output)
        let missingPlan = try run(["evaluate", path("nowhere"), "--images", "1"])
        XCTAssertNotEqual(missingPlan.status, 0)
        XCTAssertTrue(missingPlan.output.contains("nowhere"), missingPlan.output)
    }
}
