import XCTest
import ModularMath
import TestSupport

final class ShareRingTests: XCTestCase {
    func testFixedPointRoundTrip() throws {
        for f in [0, 8, 12, 20] {
            let fp = try FixedPoint(fractionalBits: f)
            for x in [0.0, 1.0, -1.0, 3.25, -7.125, 1000.5, -0.00390625] {
                let expected = (x * fp.scale).rounded(.toNearestOrAwayFromZero) / fp.scale
                XCTAssertEqual(fp.decode(try fp.encode(x)), expected, "f \(f) x \(x)")
            }
            // Halves round away from zero (-2.5 -> -3 at f = 0), as plans and compiled programs round.
            XCTAssertEqual(try fp.encode(Float(-2.5)), UInt64(bitPattern: Int64((-2.5 * fp.scale).rounded(.toNearestOrAwayFromZero))))
            XCTAssertEqual(fp.truncate(try fp.encode(-3.0) &* (try fp.encode(2.0))), try fp.encode(-6.0))
        }
        XCTAssertThrowsError(try FixedPoint(fractionalBits: 40))
        let fp = try FixedPoint(fractionalBits: 8)
        XCTAssertThrowsError(try fp.encode(Double.nan))
        XCTAssertThrowsError(try fp.encode(1e30)) { e in
            XCTAssertEqual(e as? ModularMathError, .valueOutOfRange(value: 1e30, fractionalBits: 8))
        }
    }

    func testSharesReconstruct() throws {
        let seed: UInt64 = 21
        var rng = SplitMix64(seed: seed)
        let values = (0..<100).map { _ in rng.next() }
        let (s, c) = ShareRing.share(values, using: &rng)
        XCTAssertEqual(try ShareRing.reconstruct(s, c), values, "seed \(seed)")
        XCTAssertNotEqual(s, values)
        let (s2, c2) = ShareRing.share(values)  // OS CSPRNG
        XCTAssertEqual(try ShareRing.reconstruct(s2, c2), values)
        XCTAssertThrowsError(try ShareRing.reconstruct([1], [1, 2]))
        XCTAssertEqual(Party.server.shareIndex, 0)
        XCTAssertEqual(Party.client.peer, .server)
    }

    /// Local truncation is within 1 of the exact shift whenever `truncationFails` says so, the
    /// predicate agrees with an independent characterisation, and failures on random splits of small
    /// values are as rare as the bound says (none expected in this sample); and forced wrap-arounds fail.
    func testLocalTruncation() throws {
        let seed: UInt64 = 22
        var rng = SplitMix64(seed: seed)
        let f = 12
        var failures = 0
        for _ in 0..<20000 {
            let x = UInt64(bitPattern: Int64(bitPattern: rng.next()) >> 30)  // |x| < 2^33
            let x0 = rng.next()
            let x1 = x &- x0
            let t = ShareRing.truncate(share: x0, by: f, party: .server) &+ ShareRing.truncate(share: x1, by: f, party: .client)
            let diff = Int64(bitPattern: t) &- (Int64(bitPattern: x) >> Int64(f))
            let fails = ShareRing.truncationFails(serverShare: x0, clientShare: x1, by: f)
            XCTAssertEqual(fails, diff > 1 || diff < -1, "seed \(seed)")
            if fails { failures += 1 }
        }
        // Failure probability bound 2^(34 - 64) per truncation: 20000 trials should see none.
        XCTAssertEqual(failures, 0, "seed \(seed)")
        XCTAssertLessThan(ShareRing.truncationFailureBound(valueBits: 33), 1e-8)
        // SecureML's failure case: 0 <= x0 < x for x > 0 (the client's share wraps), e.g. x = 5000, x0 = 3.
        XCTAssertTrue(ShareRing.truncationFails(serverShare: 3, clientShare: 4997, by: f))
        XCTAssertFalse(ShareRing.truncationFails(serverShare: 1 << 63, clientShare: (1 << 63) + 5000, by: f))
        // Vector form agrees with the scalar one.
        let xs = (0..<10).map { _ in rng.next() }
        XCTAssertEqual(ShareRing.truncate(shares: xs, by: f, party: .client),
                       xs.map { ShareRing.truncate(share: $0, by: f, party: .client) })
    }
}
