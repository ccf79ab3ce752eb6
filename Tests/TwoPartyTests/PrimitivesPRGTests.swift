// AESPRG is AES-CTR keyed by its seed; SystemRandom draws from getrandom(2).
import TwoParty
import XCTest

final class PrimitivesPRGTests: XCTestCase {
    func testStreamIsCounterModeAndAllReadersAgree() {
        let seed = SystemRandom.block()
        let aes = AES128(key: seed)
        var a = AESPRG(seed: seed)
        let singles = (0..<20).map { _ in a.nextBlock() }
        XCTAssertEqual(singles, (0..<20).map { aes.encrypt(Block(lo: UInt64($0), hi: 0)) }, "seed \(seed)")

        var b = AESPRG(seed: seed)
        var batch = [Block](repeating: .zero, count: 13)
        batch.withUnsafeMutableBufferPointer { b.fill($0) }
        XCTAssertEqual(batch, Array(singles[0..<13]), "seed \(seed)")
        XCTAssertEqual(b.nextBlock(), singles[13], "seed \(seed)")

        var c = AESPRG(seed: seed)
        var bytes = [UInt8](repeating: 0, count: 40) // 2.5 blocks
        bytes.withUnsafeMutableBytes { c.fillBytes($0) }
        let expectedBytes = singles[0].bytes + singles[1].bytes + Array(singles[2].bytes[0..<8])
        XCTAssertEqual(bytes, expectedBytes, "seed \(seed)")
        XCTAssertEqual(c.nextBlock(), singles[3], "seed \(seed)")

        var d = AESPRG(seed: seed)
        XCTAssertEqual(d.nextUInt64(), singles[0].lo)
        XCTAssertEqual(d.nextUInt64(), singles[0].hi)
        XCTAssertEqual(d.nextUInt64(), singles[1].lo)
    }

    func testDifferentSeedsDiffer() {
        var a = AESPRG()
        var b = AESPRG()
        XCTAssertNotEqual(a.nextBlock(), b.nextBlock())
    }

    func testSystemRandomLooksRandom() {
        let blocks = (0..<64).map { _ in SystemRandom.block() }
        XCTAssertEqual(Set(blocks).count, 64)
        var ones = 0
        for b in blocks { ones += b.lo.nonzeroBitCount + b.hi.nonzeroBitCount }
        // 8192 fair bits: mean 4096, standard deviation about 45; 10 sigma cannot fail by chance.
        XCTAssertLessThan(abs(ones - 4096), 450)
        var buffer = [UInt8](repeating: 0, count: 1000)
        buffer.withUnsafeMutableBytes { SystemRandom.fill($0) }
        XCTAssertGreaterThan(Set(buffer).count, 200)
        XCTAssertNotEqual(SystemRandom.uint64(), SystemRandom.uint64())
    }

    func testBlockBytesRoundTrip() {
        let b = Block(lo: 0x0706_0504_0302_0100, hi: 0x0F0E_0D0C_0B0A_0908)
        XCTAssertEqual(b.bytes, Array(0..<16))
        XCTAssertEqual(Block(bytes: b.bytes), b)
        XCTAssertTrue(Block(lo: 1, hi: 0).lsb)
        XCTAssertFalse(Block(lo: 2, hi: 1).lsb)
        XCTAssertEqual(b ^ b, .zero)
        XCTAssertEqual(b & Block(lo: 0xFF, hi: 0), Block(lo: 0, hi: 0))
    }
}
