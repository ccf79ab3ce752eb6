import XCTest
import Lattice

final class TmpOLEProfile: XCTestCase {
    func testProfile() throws {
        guard ProcessInfo.processInfo.environment["TMP_PROFILE"] == "1" else { throw XCTSkip("") }
        let f = try LatticeBenchmark.primeOLE(ciphertexts: 48, repeats: 2)
        for (k, v) in f.sorted(by: { $0.key < $1.key }) { print("\(k): \(v)") }
    }
}
