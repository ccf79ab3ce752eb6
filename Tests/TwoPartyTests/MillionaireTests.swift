// Secure comparison from OT: XOR shares of 1{x < y} against the clear comparison on random values and on
// the edges (0, 2^ℓ - 1, equal, off by one, the top bit), for widths that do and do not fill the last
// 4-bit block, over IKNP and silent OT; 1-of-16 OT delivers exactly the chosen entry.
import Transport
import TwoParty
import XCTest

final class MillionaireTests: XCTestCase {
    /// 1-of-2^m OT for m = 1...8, entry widths 1...64, over IKNP and silent OT, with batches that span several
    /// chunks of COTs (2,048 to 16,384 instances per chunk) and partial last chunks.
    func testSmallOTDeliversTheChosenEntry() throws {
        var generator = testGenerator(seed: 50)
        for (n, m, bits) in [(500, 4, 10), (9000, 4, 2), (300, 1, 64), (2500, 8, 7), (6000, 3, 33), (17000, 1, 1)] {
            let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
            let messages = (0..<(n << m)).map { _ in generator.nextUInt64() & mask }
            let choices = (0..<n).map { _ in Int(generator.nextUInt64() & ((1 << UInt64(m)) - 1)) }
            for silent in [false, true] {
                let (_, received) = try runTwoParties(
                    first: { channel in
                        let ot: any CorrelatedOTSender = silent ? try SilentOTSender(channel: channel, parameters: SilentOTTests.toy)
                                                                : try IKNPSender(channel: channel)
                        try SmallOT.send(ot, m: m, bits: bits, messages: messages)
                    },
                    second: { channel in
                        let ot: any CorrelatedOTReceiver = silent ? try SilentOTReceiver(channel: channel, parameters: SilentOTTests.toy)
                                                                  : try IKNPReceiver(channel: channel)
                        return try SmallOT.receive(ot, m: m, bits: bits, choices: choices)
                    })
                XCTAssertEqual(received, (0..<n).map { messages[($0 << m) + choices[$0]] }, "n \(n) m \(m) bits \(bits) silent \(silent)")
            }
        }
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

    /// The comparison of the low bits from the same tree: for widths and cut points that do and do not fall
    /// on a 4-bit block (and none, and all bits), both results against the clear ones, on random and edge values.
    func testLowBitsComparisonComesFromTheSameTree() throws {
        var generator = testGenerator(seed: 53)
        for (bits, low) in [(33, 12), (33, 13), (39, 12), (12, 12), (5, 1), (7, 0), (64, 30), (64, 64), (2, 1)] {
            let top: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
            let lowMask: UInt64 = low == 64 ? .max : (1 << UInt64(low)) - 1
            var x: [UInt64] = [0, top, 0, top, lowMask, lowMask & top, (lowMask &+ 1) & top, top & ~lowMask]
            var y: [UInt64] = [0, top, top, 0, lowMask & ~1, lowMask, lowMask & top, top]
            for _ in 0..<150 {
                let a = generator.nextUInt64() & top
                x.append(a)
                // Equal, equal in the low bits only, or unrelated.
                switch generator.nextUInt64() % 3 {
                case 0: y.append(a)
                case 1: y.append((generator.nextUInt64() & top & ~lowMask) | (a & lowMask))
                default: y.append(generator.nextUInt64() & top)
                }
            }
            let (xs, ys) = (x, y)
            let (s0, s1) = try runTwoParties(
                first: { try Millionaire.send(xs, bits: bits, low: low, ot: try SilentOTSender(channel: $0, parameters: SilentOTTests.toy)) },
                second: { try Millionaire.receive(ys, bits: bits, low: low, ot: try SilentOTReceiver(channel: $0, parameters: SilentOTTests.toy)) })
            for k in xs.indices {
                if (s0.all[k] != s1.all[k]) != (xs[k] < ys[k]) { XCTFail("ℓ \(bits) low \(low): 1{\(xs[k]) < \(ys[k])} wrong"); break }
                if (s0.low[k] != s1.low[k]) != (xs[k] & lowMask < ys[k] & lowMask) {
                    XCTFail("ℓ \(bits) low \(low): low comparison of \(xs[k]), \(ys[k]) wrong")
                    break
                }
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
