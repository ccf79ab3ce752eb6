// Known-answer tests from FIPS-197 (Appendix A.1 key expansion, Appendix B and C.1 cipher vectors),
// and every available AES implementation against the portable software path on random inputs.
import TwoParty
import XCTest

func hexBytes(_ hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var i = hex.startIndex
    while i < hex.endIndex {
        let j = hex.index(i, offsetBy: 2)
        out.append(UInt8(hex[i..<j], radix: 16)!)
        i = j
    }
    return out
}

func hexBlock(_ hex: String) -> Block { Block(bytes: hexBytes(hex)) }

final class PrimitivesAESTests: XCTestCase {
    let implementations = AES128.Implementation.allCases.filter { $0.isAvailable }

    func testFIPS197AppendixC1() {
        for impl in implementations {
            let aes = AES128(key: hexBlock("000102030405060708090a0b0c0d0e0f"), implementation: impl)
            XCTAssertEqual(aes.encrypt(hexBlock("00112233445566778899aabbccddeeff")),
                           hexBlock("69c4e0d86a7b0430d8cdb78070b4c55a"), "implementation \(impl)")
        }
    }

    func testFIPS197AppendixBAndKeyExpansionA1() {
        for impl in implementations {
            let aes = AES128(key: hexBlock("2b7e151628aed2a6abf7158809cf4f3c"), implementation: impl)
            let rk = aes.roundKeys
            XCTAssertEqual(rk[0], hexBlock("2b7e151628aed2a6abf7158809cf4f3c"), "\(impl)")
            XCTAssertEqual(rk[1], hexBlock("a0fafe1788542cb123a339392a6c7605"), "w[4..7], \(impl)")
            XCTAssertEqual(rk[10], hexBlock("d014f9a8c9ee2589e13f0cc8b6630ca6"), "w[40..43], \(impl)")
            XCTAssertEqual(aes.encrypt(hexBlock("3243f6a8885a308d313198a2e0370734")),
                           hexBlock("3925841d02dc09fbdc118597196a0b32"), "\(impl)")
        }
    }

    func testImplementationsAgreeOnRandomInputs() {
        let seed = SystemRandom.block()
        var prg = AESPRG(seed: seed)
        for trial in 0..<4 {
            let key = prg.nextBlock()
            let reference = AES128(key: key, implementation: .software)
            // Lengths around the 8- and 16-block batch widths exercise the remainder loops.
            let count = [1, 7, 37, 100][trial]
            var input = [Block](repeating: .zero, count: count)
            input.withUnsafeMutableBufferPointer { prg.fill($0) }
            let expected = input.map { reference.encrypt($0) }
            for impl in implementations {
                let aes = AES128(key: key, implementation: impl)
                XCTAssertEqual(aes.roundKeys, reference.roundKeys, "seed \(seed) impl \(impl)")
                var batch = input
                batch.withUnsafeMutableBufferPointer { aes.encrypt($0) }
                XCTAssertEqual(batch, expected, "seed \(seed) impl \(impl) count \(count)")
                var stream = [Block](repeating: .zero, count: count)
                stream.withUnsafeMutableBufferPointer { aes.keystream(nonce: 5, counter: 1000, into: $0) }
                let expectedStream = (0..<count).map { reference.encrypt(Block(lo: 1000 + UInt64($0), hi: 5)) }
                XCTAssertEqual(stream, expectedStream, "seed \(seed) impl \(impl)")
            }
        }
    }

    func testFixedKeyHashesMatchTheirDefinitions() {
        let seed = SystemRandom.block()
        var prg = AESPRG(seed: seed)
        var input = [Block](repeating: .zero, count: 45)
        input.withUnsafeMutableBufferPointer { prg.fill($0) }
        let reference = AES128(key: FixedKeyAES.publicKey, implementation: .software)
        func sigma(_ x: Block) -> Block { Block(lo: x.hi, hi: x.hi ^ x.lo) }
        for impl in implementations {
            let h = FixedKeyAES(key: FixedKeyAES.publicKey, implementation: impl)
            let cr = input.map { reference.encrypt($0) ^ $0 }
            XCTAssertEqual(input.map { h.hash($0) }, cr, "seed \(seed) impl \(impl)")
            var batch = input
            batch.withUnsafeMutableBufferPointer { h.hash($0) }
            XCTAssertEqual(batch, cr, "seed \(seed) impl \(impl)")
            let tccr = input.enumerated().map { i, x -> Block in
                let y = sigma(x) ^ Block(lo: 77 + 3 * UInt64(i), hi: 0)
                return reference.encrypt(y) ^ y
            }
            XCTAssertEqual(input.enumerated().map { h.hash($1, tweak: 77 + 3 * UInt64($0)) }, tccr, "seed \(seed) impl \(impl)")
            var tweaked = input
            tweaked.withUnsafeMutableBufferPointer { h.hash($0, firstTweak: 77, tweakStride: 3) }
            XCTAssertEqual(tweaked, tccr, "seed \(seed) impl \(impl)")
            // Tweaks moved into the input (the small OT's receiver): H(x ⊕ (t ‖ t), 0) = H(x, t).
            var offset = input.enumerated().map { $1 ^ FixedKeyAES.tweakOffset(77 + 3 * UInt64($0)) }
            offset.withUnsafeMutableBufferPointer { h.hash($0, firstTweak: 0, tweakStride: 0) }
            XCTAssertEqual(offset, tccr, "seed \(seed) impl \(impl)")
        }
        XCTAssertEqual(FixedKeyAES.shared.hash(input[0]), reference.encrypt(input[0]) ^ input[0])
        XCTAssertNotEqual(FixedKeyAES.shared.hash(input[0], tweak: 1), FixedKeyAES.shared.hash(input[0], tweak: 2))
    }
}
