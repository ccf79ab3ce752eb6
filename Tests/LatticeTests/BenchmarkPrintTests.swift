import XCTest
import Lattice

/// Prints the Lattice benchmark figures; runs only with SIBYL_BENCH=1 (no timing assertions).
final class BenchmarkPrintTests: XCTestCase {
    func testBenchmarkPrint() throws {
        guard ProcessInfo.processInfo.environment["SIBYL_BENCH"] == "1" else {
            throw XCTSkip("set SIBYL_BENCH=1 to print the Lattice benchmark")
        }
        let figures = try LatticeBenchmark.run()
        for (k, v) in figures.sorted(by: { $0.key < $1.key }) { print("\(k): \(v)") }
    }
}
