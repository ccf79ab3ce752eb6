import XCTest
import Lattice

final class PRGTests: XCTestCase {
    /// RFC 8439, section 2.3.2: block function test vector (key 00..1f, nonce 000000090000004a00000000,
    /// counter 1).
    func testChaCha20BlockKnownAnswer() throws {
        let c = try ChaCha20(key: (0..<32).map { UInt8($0) }, nonce: [0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0])
        let expected = "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
            + "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e"
        XCTAssertEqual(hex(c.keystreamReference(counter: 1, count: 64)), expected)
    }

    /// RFC 8439, section 2.4.2: the first keystream bytes for the "Ladies and Gentlemen" example
    /// (nonce 000000000000004a00000000, initial counter 1), and the fast four-block path against the
    /// reference block function.
    func testChaCha20KeystreamKnownAnswerAndFastPath() throws {
        let c = try ChaCha20(key: (0..<32).map { UInt8($0) }, nonce: [0, 0, 0, 0, 0, 0, 0, 0x4a, 0, 0, 0, 0])
        XCTAssertEqual(hex(c.keystreamReference(counter: 1, count: 32)),
                       "224f51f3401bd9e12fde276fb8631ded8c131f823d2c06e27e4fcaec9ef3cf78")
        let buf = UnsafeMutablePointer<UInt32>.allocate(capacity: 64)
        defer { buf.deallocate() }
        for counter: UInt32 in [0, 1, 7, 0xffff_fffe] {
            c.fourBlocks(counter: counter, into: buf)
            var ref: [UInt32] = []
            for b in 0..<4 { ref += c.block(counter: counter &+ UInt32(b)) }
            XCTAssertEqual(Array(UnsafeBufferPointer(start: buf, count: 64)), ref, "counter \(counter)")
        }
    }

    /// The PRG's stream (sixteen blocks per refill, AVX-512 where the CPU has it) is ChaCha20's keystream
    /// for key = seed and nonce = (purpose, index), block 0 first, across several refills.
    func testPRGStreamIsTheChaCha20Keystream() throws {
        let seed = try PRGSeed(bytes: (0..<32).map { UInt8(3 * $0 + 1) })
        let prg = PRG(seed: seed, purpose: .flooding, index: 0x0102_0304_0506)
        var nonce = [UInt8](repeating: 0, count: 12)
        nonce[0] = UInt8(PRGPurpose.flooding.rawValue)
        for k in 0..<6 { nonce[4 + k] = UInt8(6 - k) }
        let cipher = try ChaCha20(key: seed.bytes, nonce: nonce)
        let words = (0..<(3 * 128 + 5)).map { _ in prg.next() }
        let stream = cipher.keystreamReference(counter: 0, count: 8 * words.count)
        let expected = (0..<words.count).map { w in (0..<8).reduce(UInt64(0)) { $0 | UInt64(stream[8 * w + $1]) << UInt64(8 * $1) } }
        XCTAssertEqual(words, expected)
    }

    func testPRGStreamsAreSeparatedAndSamplersInRange() throws {
        let seed = try PRGSeed(bytes: [UInt8](repeating: 5, count: 32))
        let a = PRG(seed: seed, purpose: .uniformHalf, index: 0), b = PRG(seed: seed, purpose: .uniformHalf, index: 1)
        let a2 = PRG(seed: seed, purpose: .uniformHalf, index: 0)
        let xa = (0..<100).map { _ in a.next() }, xb = (0..<100).map { _ in b.next() }
        XCTAssertEqual(xa, (0..<100).map { _ in a2.next() })
        XCTAssertNotEqual(xa, xb)
        let p = PRG(seed: seed, purpose: .test)
        var counts = [Int64: Int]()
        for _ in 0..<3000 {
            XCTAssertLessThan(p.uniform(below: 1_000_003), 1_000_003)
            let e = p.centeredBinomial(eta: 21)
            XCTAssertLessThanOrEqual(abs(e), 21)
            counts[p.ternary(), default: 0] += 1
        }
        XCTAssertEqual(Set(counts.keys), [-1, 0, 1])
        XCTAssertTrue(counts.values.allSatisfy { $0 > 800 }, "ternary counts \(counts)")
        XCTAssertThrowsError(try PRGSeed(bytes: [1, 2, 3]))
        XCTAssertNotEqual(PRGSeed.random(), PRGSeed.random())
    }

    func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }
}
