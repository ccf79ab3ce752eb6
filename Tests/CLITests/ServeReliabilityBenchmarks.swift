// Load and soak measurements of `sibyl serve` (tiny plan, loopback), written to
// Experiments/reliability/{load,soak}.json. Run only with SIBYL_BENCH=1 (`make bench`); no timing
// assertions, only figures.
import Foundation
import TestSupport
import XCTest

final class ServeReliabilityBenchmarks: XCTestCase {
    var directory: URL!
    var sibyl: URL!
    static let output = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Experiments/reliability")

    override func setUpWithError() throws {
        guard ProcessInfo.processInfo.environment["SIBYL_BENCH"] == "1" else { throw XCTSkip("set SIBYL_BENCH=1 to run") }
        sibyl = try ExportCLITests.requireBinary()
        directory = try makeTemporaryDirectory("serve-bench")
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    func plan() -> String { Self.output.appendingPathComponent("fuzz-plan").path }

    /// Wall seconds of one `sibyl query` (it must succeed).
    func timedQuery(_ port: UInt16) throws -> Double {
        let start = Date()
        let result = try runProcess(sibyl, ["query", "--port", "\(port)", "--cifar-index", "1", "--dataset", "synthetic", "--json"],
                                    in: directory)
        XCTAssertEqual(result.status, 0, result.output)
        return Date().timeIntervalSince(start)
    }

    func write(_ object: [String: Any], to name: String) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: Self.output.appendingPathComponent(name))
        print(String(decoding: data, as: UTF8.self))
    }

    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    func testLoad() throws {
        let server = try ServerProcess(sibyl: sibyl, plan: plan(), arguments: [
            "--max-concurrent", "2", "--queue", "16", "--max-handshaking", "256", "--handshake-timeout", "10"], directory: directory)
        defer { server.stop() }
        _ = try timedQuery(server.port)
        let idle = try (0..<5).map { _ in try timedQuery(server.port) }
        let idleDescriptors = server.descriptors, idleResident = server.residentBytes
        let load = try HostileLoad(port: server.port)
        usleep(500_000)
        let loadedDescriptors = server.descriptors, loadedResident = server.residentBytes
        let loaded = try (0..<5).map { _ in try timedQuery(server.port) }
        try load.close()
        _ = ServerProcess.waitFor(seconds: 30) { server.descriptors <= idleDescriptors }
        usleep(1_500_000)   // the server trims freed memory 0.5 s after its last connection ended
        try write([
            "command": "SIBYL_BENCH=1 swift test -c release --filter ServeReliabilityBenchmarks/testLoad",
            "plan": "Experiments/reliability/fuzz-plan", "idle_connections": 50, "garbage_connections": 50,
            "slow_trickle_connections": 10,
            "query_seconds_idle_median": median(idle), "query_seconds_under_load_median": median(loaded),
            "query_seconds_under_load_max": loaded.max()!, "query_seconds_idle": idle, "query_seconds_under_load": loaded,
            "server_descriptors": ["idle": idleDescriptors, "under_load": loadedDescriptors, "after": server.descriptors],
            "server_resident_mb": ["idle": Double(idleResident) / 1e6, "under_load": Double(loadedResident) / 1e6,
                                   "after": Double(server.residentBytes) / 1e6],
        ], to: "load.json")
    }

    func testSoak() throws {
        let server = try ServerProcess(sibyl: sibyl, plan: plan(), arguments: ["--max-concurrent", "2"], directory: directory)
        defer { server.stop() }
        var resident: [Int: Double] = [:], descriptors: [Int: Int] = [:]
        var seconds: [Double] = []
        for i in 1...500 {
            seconds.append(try timedQuery(server.port))
            if [10, 100, 250, 500].contains(i) {
                usleep(200_000)   // the server logs and closes the connection after the client's goodbye
                resident[i] = Double(server.residentBytes) / 1e6
                descriptors[i] = server.descriptors
            }
        }
        try write([
            "command": "SIBYL_BENCH=1 swift test -c release --filter ServeReliabilityBenchmarks/testSoak",
            "plan": "Experiments/reliability/fuzz-plan", "queries": 500,
            "server_resident_mb_after": Dictionary(uniqueKeysWithValues: resident.map { ("\($0.key)", $0.value) }),
            "server_descriptors_after": Dictionary(uniqueKeysWithValues: descriptors.map { ("\($0.key)", $0.value) }),
            "resident_growth_after_10_percent": 100 * (resident[500]! / resident[10]! - 1),
            "query_seconds_median": median(seconds), "query_seconds_max": seconds.max()!,
        ], to: "soak.json")
    }
}
