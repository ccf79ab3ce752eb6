// Secure comparison from OT: XOR shares of 1{x < y} against the clear comparison on random values and on
// the edges (0, 2^ℓ - 1, equal, off by one, the top bit), for widths that do and do not fill the last
// 4-bit block, over IKNP and silent OT; 1-of-16 OT delivers exactly the chosen entry.
import Transport
import TwoParty
import XCTest

final class MillionaireTests: XCTestCase {
    func testSmallOTDeliversTheChosenEntry() throws {
        var generator = testGenerator(seed: 50)
        let n = 500, m = 4
        let messages = (0..<(n << m)).map { _ in generator.nextUInt64() & 0x3FF }
        let choices = (0..<n).map { _ in Int(generator.nextUInt64() & 15) }
        let (_, received) = try runTwoParties(
            first: { try SmallOT.send(try IKNPSender(channel: $0), m: m, bits: 10, messages: messages) },
            second: { try SmallOT.receive(try IKNPReceiver(channel: $0), m: m, bits: 10, choices: choices) })
        XCTAssertEqual(received, (0..<n).map { messages[($0 << m) + choices[$0]] })
    }

    func testComparisonMatchesTheClearOneOnRandomAndEdgeValues() throws {
        var generator = testGenerator(seed: 51)
        for bits in [1, 3, 4, 5, 12, 31, 39, 40, 64] {
            let top: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
            var x: [UInt64] = [0, top, 0, top, 5 & top, 6 & top, 1 << UInt64(bits - 1), (1 << UInt64(bits - 1)) - 1]
            var y: [UInt64] = [0, top, top, 0, 6 & top, 5 & top, (1 << UInt64(bits - 1)) - 1, 1 << UInt64(bits - 1)]
            for _ in 0..<200 {
                let a = generator.nextUInt64() & top
                x.append(a)
                y.append(generator.nextUInt64() % 4 == 0 ? a : generator.nextUInt64() & top)   // equal a quarter of the time
            }
            let (xs, ys) = (x, y)
            for silent in [false, true] {
                let (s0, s1) = try runTwoParties(
                    first: { channel -> [Bool] in
                        let ot: any CorrelatedOTSender = silent ? try SilentOTSender(channel: channel, parameters: SilentOTTests.toy)
                                                                : try IKNPSender(channel: channel)
                        return try Millionaire.send(xs, bits: bits, ot: ot)
                    },
                    second: { channel -> [Bool] in
                        let ot: any CorrelatedOTReceiver = silent ? try SilentOTReceiver(channel: channel, parameters: SilentOTTests.toy)
                                                                  : try IKNPReceiver(channel: channel)
                        return try Millionaire.receive(ys, bits: bits, ot: ot)
                    })
                for k in xs.indices where (s0[k] != s1[k]) != (xs[k] < ys[k]) {
                    XCTFail("ℓ = \(bits), silent \(silent): 1{\(xs[k]) < \(ys[k])} wrong")
                    break
                }
                // Shares alone say nothing: each side's bits are not the result.
                XCTAssertNotEqual(s0, zip(xs, ys).map { $0 < $1 }, "ℓ = \(bits): the sender's shares equal the result")
            }
        }
    }

    /// DReLU: the sign of v = (s + c) mod 2^k, signed, against the clear one; v at 0, -1, 1, the extremes
    /// ±2^(k-1) boundaries and random, each split into random shares.
    func testDReLUMatchesTheClearSign() throws {
        var generator = testGenerator(seed: 52)
        for k in [2, 8, 33, 40, 64] {
            let mask: UInt64 = k == 64 ? .max : (1 << UInt64(k)) - 1
            let half: UInt64 = 1 << UInt64(k - 1)
            var values: [UInt64] = [0, mask, 1, half, half - 1, half + 1, mask - 1]   // 0, -1, 1, -2^(k-1), 2^(k-1)-1, ...
            for _ in 0..<200 { values.append(generator.nextUInt64() & mask) }
            let s = values.map { _ in generator.nextUInt64() & mask }
            let c = zip(values, s).map { ($0 &- $1) & mask }
            let (d0, d1) = try runTwoParties(
                first: { try DReLU.send(s, bits: k, ot: try IKNPSender(channel: $0)) },
                second: { try DReLU.receive(c, bits: k, ot: try IKNPReceiver(channel: $0)) })
            for (i, v) in values.enumerated() where (d0[i] != d1[i]) != ((v >> UInt64(k - 1)) & 1 == 0) {
                XCTFail("k = \(k): DReLU of \(v) wrong")
                break
            }
        }
    }
}
