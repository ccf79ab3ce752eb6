// `sibyl serve` under hostile load, on loopback, each test bounded in time: idle, slow-trickle and
// garbage connections cannot keep a real client out, and the server's descriptors and memory return to
// their idle level; a client beyond the session and queue limits is told the server is busy; and
// `sibyl query` distrusts a hostile server (a huge announced frame, a malformed program, a busy notice).
import Foundation
import SecureInference
import TestSupport
import Transport
import XCTest

/// A `sibyl serve` process on a free loopback port, its log in a file.
final class ServerProcess {
    let process = Process()
    let logURL: URL
    private(set) var port: UInt16 = 0

    init(sibyl: URL, plan: String, arguments: [String], directory: URL) throws {
        logURL = directory.appendingPathComponent("serve-\(UUID().uuidString.prefix(8)).log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = sibyl
        process.arguments = ["serve", plan, "--port", "0"] + arguments
        process.currentDirectoryURL = directory
        process.standardOutput = log
        process.standardError = log
        try process.run()
        guard Self.waitFor(seconds: 60, { self.log.contains(" on 127.0.0.1:") }) else {
            throw XCTSkip("server did not start: \(self.log)")
        }
        let announced = self.log.components(separatedBy: " on 127.0.0.1:").last?.prefix { $0.isNumber } ?? ""
        port = UInt16(announced) ?? 0
    }

    deinit { stop() }

    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Open descriptors of the server process.
    var descriptors: Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.processIdentifier)/fd").count) ?? -1 }

    /// Resident memory of the server process, bytes.
    var residentBytes: Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }

    static func waitFor(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() && Date() < deadline { usleep(50_000) }
        return condition()
    }
}

final class ServeAdmissionTests: XCTestCase {
    var directory: URL!
    var sibyl: URL!

    override func setUpWithError() throws {
        sibyl = try ExportCLITests.requireBinary()
        directory = try makeTemporaryDirectory("serve-admission")
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
                              "--calibration-images", "32", "--accuracy-images", "50"])
        XCTAssertEqual(export.status, 0, export.output)
        return path("Plans/tiny")
    }

    /// `--network wan` makes silent OT the default (a tenth of IKNP's offline bytes there); an explicit `--ot` wins;
    /// elsewhere IKNP stays the default. The server announces its choice in its first log line.
    func testNetworkChoosesTheDefaultOT() throws {
        let plan = try tinyPlan()
        for (arguments, expected) in [([String](), "iknp OT"), (["--network", "wan"], "silent OT"),
                                      (["--network", "wan", "--ot", "iknp"], "iknp OT"), (["--network", "loopback"], "iknp OT"),
                                      (["--network", "lan", "--ot", "silent"], "silent OT")] {
            let server = try ServerProcess(sibyl: sibyl, plan: plan, arguments: arguments, directory: directory)
            XCTAssertTrue(server.log.contains(", \(expected), "), "\(arguments): \(server.log)")
            server.stop()
        }
        let refused = try run(["serve", plan, "--network", "moon"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("--network"), refused.output)
    }

    func query(_ port: UInt16, _ extra: [String] = []) throws -> (status: Int32, output: String) {
        try run(["query", "--port", "\(port)", "--cifar-index", "3", "--dataset", "synthetic", "--json"] + extra)
    }

    func testIdleSlowAndGarbageConnectionsDoNotLockOutARealClient() throws {
        let plan = try tinyPlan()
        let server = try ServerProcess(sibyl: sibyl, plan: plan, arguments: [
            "--max-concurrent", "2", "--queue", "4", "--max-handshaking", "256", "--handshake-timeout", "3",
            "--timeout", "5", "--message-timeout", "5"], directory: directory)
        defer { server.stop() }
        let warm = try query(server.port)
        XCTAssertEqual(warm.status, 0, warm.output + server.log)
        XCTAssertTrue(ServerProcess.waitFor(seconds: 10) { server.log.contains("served 1 image(s)") }, server.log)
        let idleDescriptors = server.descriptors
        let idleResident = server.residentBytes

        let load = try HostileLoad(port: server.port)
        // A real client, while all of that is open.
        let loaded = try query(server.port)
        XCTAssertEqual(loaded.status, 0, loaded.output + "\n" + server.log)
        // The idle and trickling connections are dropped at their handshake deadline (3 s), not held.
        XCTAssertTrue(ServerProcess.waitFor(seconds: 15) { server.log.contains("the connection's deadline is 3.0 s") }, server.log)
        try load.close()

        XCTAssertTrue(ServerProcess.waitFor(seconds: 20) { server.descriptors <= idleDescriptors },
                      "descriptors \(server.descriptors), idle \(idleDescriptors)")
        // Memory freed by the dropped connections goes back to the system shortly after the last one ends.
        XCTAssertTrue(ServerProcess.waitFor(seconds: 10) { server.residentBytes < idleResident + idleResident / 4 + (16 << 20) },
                      "resident \(server.residentBytes), idle \(idleResident)")
        let log = server.log
        XCTAssertTrue(log.contains("dropped in the handshake"), log)
        XCTAssertTrue(log.contains("bad magic") || log.contains("malformed frame header"), log)
    }

    func testASessionThatTricklesAMessageIsDropped() throws {
        let plan = try tinyPlan()
        let server = try ServerProcess(sibyl: sibyl, plan: plan, arguments: [
            "--max-concurrent", "1", "--timeout", "30", "--message-timeout", "2"], directory: directory)
        defer { server.stop() }
        // A client that sets up a real session, then sends an image request one byte every 0.3 s: each byte
        // is progress (the 30 s idle limit never fires), but the whole message must arrive within 2 s.
        let channel = try TCPChannel.connect(host: "127.0.0.1", port: server.port, timeout: 30)
        _ = try SecureClientSession(channel: channel)
        let started = Date()
        for byte in FrameHeader(type: 0x5180, length: 0).encoded() {
            do {
                try [byte].withUnsafeBytes { try channel.send($0) }
                try channel.flush()
            } catch { break }
            usleep(300_000)
        }
        XCTAssertTrue(ServerProcess.waitFor(seconds: 20) { server.log.contains("one message may take 2.0 s") }, server.log)
        XCTAssertLessThan(Date().timeIntervalSince(started), 20)
        channel.close()
        // The slot is free again.
        let served = try query(server.port)
        XCTAssertEqual(served.status, 0, served.output + server.log)
    }

    func testClientsBeyondTheLimitsAreToldTheServerIsBusy() throws {
        let plan = try tinyPlan()
        let server = try ServerProcess(sibyl: sibyl, plan: plan, arguments: [
            "--max-concurrent", "1", "--queue", "1", "--queue-timeout", "1", "--timeout", "20"], directory: directory)
        defer { server.stop() }
        // An in-process client holds the only session slot (set up, then silent).
        let holder = try TCPChannel.connect(host: "127.0.0.1", port: server.port, timeout: 30)
        let session = try SecureClientSession(channel: holder)
        // The next client waits in the queue for 1 s, then is declined; the query says so.
        let declined = try query(server.port)
        XCTAssertNotEqual(declined.status, 0, declined.output)
        XCTAssertTrue(declined.output.contains("server is busy"), declined.output)
        XCTAssertTrue(server.log.contains("declined after waiting"), server.log)
        session.finish()
        let served = try query(server.port)
        XCTAssertEqual(served.status, 0, served.output + server.log)
    }

    /// A fake server: accepts one client and sends `frames` (raw bytes), then waits for it to leave.
    func hostileServer(_ bytes: [UInt8]) throws -> (port: UInt16, done: Background<Void>) {
        let listener = try TCPListener()
        let done = Background {
            guard let channel = try? listener.accept(acceptTimeout: 30, timeout: 10) else { return }
            try? bytes.withUnsafeBytes { try channel.send($0) }
            try? channel.flush()
            var sink = [UInt8](repeating: 0, count: 1)
            _ = try? sink.withUnsafeMutableBytes { try channel.receive(into: $0) }
            channel.close()
            listener.close()
        }
        return (listener.port, done)
    }

    func testQueryDistrustsAHostileServer() throws {
        // A hello announcing 1 GiB: refused at the header, nothing of that size allocated.
        let huge = try hostileServer(FrameHeader(type: 0x5100, length: 1 << 30).encoded())
        let first = try query(huge.port)
        try huge.done.value()
        XCTAssertNotEqual(first.status, 0)
        XCTAssertTrue(first.output.contains("exceeds this channel's limit"), first.output)
        // A hello whose program declares a tensor of 2^40 elements: refused before anything is sized by it.
        let program = #"{"program":{"tensors":[{"shape":{"channels":1048576,"height":1048576,"width":1},"scale":12}],"#
            + #""steps":[],"output":0,"fractionalBits":12},"input":{"shape":{"channels":3,"height":32,"width":32},"#
            + #""mean":[0,0,0],"std":[1,1,1]},"classNames":[],"planName":"evil","heParameters":"standard"}"#
        let payload = Array(program.utf8)
        let evil = try hostileServer(FrameHeader(type: 0x5100, length: UInt64(payload.count)).encoded() + payload)
        let second = try query(evil.port)
        try evil.done.value()
        XCTAssertNotEqual(second.status, 0)
        XCTAssertTrue(second.output.contains("program is malformed"), second.output)
        // A busy notice instead of a hello.
        let reason = Array("all sessions busy".utf8)
        let busy = try hostileServer(FrameHeader(type: 0x5182, length: UInt64(reason.count)).encoded() + reason)
        let third = try query(busy.port)
        try busy.done.value()
        XCTAssertNotEqual(third.status, 0)
        XCTAssertTrue(third.output.contains("server is busy") && third.output.contains("all sessions busy"), third.output)
    }
}

/// 50 idle connections, 50 that send garbage and stay open, and 10 that trickle a valid-looking HE
/// setup one byte every 0.3 s, all at once, until `close`.
final class HostileLoad {
    private var idle: [TCPChannel] = [], garbage: [TCPChannel] = []
    private let stop = Atomic(false)
    private var tricklers: [Background<Void>] = []

    init(port: UInt16, idle idleCount: Int = 50, garbage garbageCount: Int = 50, slow: Int = 10) throws {
        for _ in 0..<idleCount { idle.append(try TCPChannel.connect(host: "127.0.0.1", port: port, timeout: 10)) }
        for _ in 0..<garbageCount {
            let junk = try TCPChannel.connect(host: "127.0.0.1", port: port, timeout: 10)
            try [UInt8](repeating: 0x5A, count: 512).withUnsafeBytes { try junk.send($0) }
            try junk.flush()
            garbage.append(junk)
        }
        let stop = self.stop
        tricklers = (0..<slow).map { _ in Background {
            guard let channel = try? TCPChannel.connect(host: "127.0.0.1", port: port, timeout: 10) else { return }
            let header = FrameHeader(type: 0x5101, length: 100_000).encoded()
            var sent = 0
            while !stop.value, sent < header.count + 100_000 {
                let byte: [UInt8] = [sent < header.count ? header[sent] : 0]
                do {
                    try byte.withUnsafeBytes { try channel.send($0) }
                    try channel.flush()
                } catch { break }
                sent += 1
                usleep(300_000)
            }
            channel.close()
        } }
    }

    func close() throws {
        stop.value = true
        for trickler in tricklers { try trickler.value(timeout: 60) }
        for channel in idle + garbage { channel.close() }
        idle = []
        garbage = []
    }
}

/// A Bool shared across threads.
final class Atomic: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Bool
    init(_ value: Bool) { stored = value }
    var value: Bool {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
