import Transport
import TwoParty
import XCTest

/// OT-based multiplication over Z_(2^64): every product, triple, pair and OLE reconstructs, and the
/// online steps produce shares of the right products.
final class MultiplicationTests: XCTestCase {
    /// Factors with edge values first, then random ones.
    private func factors(_ count: Int, using generator: inout AESPRG) -> [UInt64] {
        let edges: [UInt64] = [0, 1, .max, 1 << 63, (1 << 63) - 1, 2]
        return (0..<count).map { $0 < edges.count ? edges[($0 * 5) % edges.count] : generator.nextUInt64() }
    }

    private enum OTKind: CaseIterable { case iknp, ideal }

    /// Runs sender and receiver sides with the chosen OT over the chosen channel.
    private func withOLE<A: Sendable, B: Sendable>(
        _ ot: OTKind, _ channel: OTChannelKind = .inMemory, dealerSeed: Block = Block(lo: 9, hi: 9),
        sender: @escaping @Sendable (OLESender, any Channel) throws -> A,
        receiver: @escaping @Sendable (OLEReceiver, any Channel) throws -> B
    ) throws -> (A, B) {
        try runTwoParties(channel,
            first: { c in
                let cot: any CorrelatedOTSender = ot == .iknp ? try IKNPSender(channel: c) : IdealCOTSender(seed: dealerSeed, channel: c)
                return try sender(OLESender(ot: cot), c)
            },
            second: { c in
                let cot: any CorrelatedOTReceiver = ot == .iknp ? try IKNPReceiver(channel: c) : IdealCOTReceiver(seed: dealerSeed, channel: c)
                return try receiver(OLEReceiver(ot: cot), c)
            })
    }

    func testOLEProductsReconstruct() throws {
        for ot in OTKind.allCases {
            for (n, shift) in [(1, 0), (7, 0), (1000, 0), (5000, 0), (999, 1), (300, 5), (50, 63)] {
                let seed = UInt64(n * 64 + shift)
                var generator = testGenerator(seed: seed)
                let x = factors(n, using: &generator)
                let y = factors(n, using: &generator).reversed() as [UInt64]
                let (s0, s1) = try withOLE(ot,
                    sender: { ole, _ in try ole.multiply(x, shift: shift) },
                    receiver: { ole, _ in try ole.multiply(y, shift: shift) })
                for k in 0..<n where s0[k] &+ s1[k] != (x[k] &* y[k]) << UInt64(shift) {
                    XCTFail("\(ot), seed \(seed), n \(n), shift \(shift): element \(k) does not reconstruct")
                    break
                }
            }
        }
    }

    /// The C loops of both OLE sides against the Swift reference: random pads and factors (edge values
    /// first), both rings, every shift class, odd counts, the bit stream starting mid-word.
    func testOLEKernelsEqualTheReference() throws {
        func check<R: OLERing>(_: R.Type, count n: Int, bits: Int, shift: Int, seed: UInt64) {
            var generator = testGenerator(seed: seed)
            func element() -> R {
                R.bitWidth == 64 ? R(truncatingIfNeeded: generator.nextUInt64())
                                 : R(truncatingIfNeeded: generator.nextUInt64()) | (R(truncatingIfNeeded: generator.nextUInt64()) << 64)
            }
            let edges: [R] = [0, 1, R.max, R(1) << (R.bitWidth - 1)]
            let pad0 = (0..<(n * bits)).map { _ in Block(lo: generator.nextUInt64(), hi: generator.nextUInt64()) }
            let pad1 = (0..<(n * bits)).map { _ in Block(lo: generator.nextUInt64(), hi: generator.nextUInt64()) }
            let x = (0..<n).map { $0 < edges.count ? edges[$0] : element() }
            let y = (0..<n).map { e -> R in
                let v = e < edges.count ? edges[edges.count - 1 - e] : element()
                return bits + shift == R.bitWidth ? v : v & ((R(1) << R(bits)) &- 1)
            }
            let label = "ring \(R.bitWidth), n \(n), bits \(bits), shift \(shift)"
            let reference = OLELoops.sendReference(pad0: pad0, pad1: pad1, x: x, bits: bits, shift: shift)
            // Two calls, the second starting where the first ended (as the protocol's batches do).
            var words = [UInt64](repeating: 0, count: correctionWords(count: n, ring: R.bitWidth, shift: shift, bits: bits))
            var shares = [R](repeating: 0, count: n)
            let split = n / 3
            var at = 0
            pad0.withUnsafeBufferPointer { p0 in
                pad1.withUnsafeBufferPointer { p1 in
                    x.withUnsafeBufferPointer { x in
                        shares.withUnsafeMutableBufferPointer { shares in
                            for (start, end) in [(0, split), (split, n)] {
                                at = OLELoops.send(pad0: UnsafeBufferPointer(rebasing: p0[(start * bits)..<(end * bits)]),
                                                   pad1: UnsafeBufferPointer(rebasing: p1[(start * bits)..<(end * bits)]),
                                                   x: UnsafeBufferPointer(rebasing: x[start..<end]), bits: bits, shift: shift,
                                                   into: &words, at: at,
                                                   shares: UnsafeMutableBufferPointer(rebasing: shares[start..<end]))
                            }
                        }
                    }
                }
            }
            XCTAssertEqual(at, n * correctionBits(ringBits: R.bitWidth, shift: shift, bits: bits), label)
            XCTAssertEqual(words, reference.words, "corrections, \(label)")
            XCTAssertEqual(shares, reference.shares, "sender shares, \(label)")
            var received = [R](repeating: 0, count: n)
            pad0.withUnsafeBufferPointer { pads in
                received.withUnsafeMutableBufferPointer { received in
                    OLELoops.sumPads(pads, bits: bits, shift: shift, shares: received)
                }
            }
            OLELoops.correct(words, y: y, bits: bits, shift: shift, shares: &received)
            let expected = OLELoops.receiveReference(pads: pad0, words: reference.words, y: y, bits: bits, shift: shift)
            XCTAssertEqual(received, expected, "receiver shares, \(label)")
            // And what the loops are for: the shares add up to x·y·2^shift (pads as a COT with pad1 = the other message).
            let chosen = (0..<(n * bits)).map { r in ((y[r / bits] >> R(r % bits)) & 1) == 1 ? pad1[r] : pad0[r] }
            let receiver = OLELoops.receiveReference(pads: chosen, words: reference.words, y: y, bits: bits, shift: shift)
            for e in 0..<n where reference.shares[e] &+ receiver[e] != (x[e] &* y[e]) &<< R(shift) {
                XCTFail("element \(e) does not reconstruct, \(label)")
                break
            }
        }
        for (n, bits, shift) in [(1, 64, 0), (7, 64, 0), (33, 63, 1), (5, 1, 0), (9, 20, 44), (4, 13, 51)] {
            check(UInt64.self, count: n, bits: bits, shift: shift, seed: UInt64(n * 1000 + bits * 10 + shift))
        }
        for (n, bits, shift) in [(1, 128, 0), (7, 64, 0), (11, 128, 0), (9, 127, 1), (6, 30, 60), (5, 1, 127), (10, 65, 40)] {
            check(UInt128.self, count: n, bits: bits, shift: shift, seed: UInt64(n * 1000 + bits * 10 + shift) ^ 0x55)
        }
    }

    func testOLEOverTCP() throws {
        var generator = testGenerator(seed: 77)
        let x = factors(2000, using: &generator)
        let y = factors(2000, using: &generator)
        let (s0, s1) = try withOLE(.iknp, .tcp,
            sender: { ole, _ in try ole.multiply(x) },
            receiver: { ole, _ in try ole.multiply(y) })
        XCTAssertEqual(zip(s0, s1).map { $0 &+ $1 }, zip(x, y).map { $0 &* $1 }, "seed 77")
    }

    func testReferenceMultiplicationAgrees() throws {
        var generator = testGenerator(seed: 78)
        let x = factors(40, using: &generator)
        let y = factors(40, using: &generator)
        let (s0, s1) = try runTwoParties(
            first: { try GilboaReference.senderMultiply(x, ot: IKNPSender(channel: $0)) },
            second: { try GilboaReference.receiverMultiply(y, ot: IKNPReceiver(channel: $0)) })
        XCTAssertEqual(zip(s0, s1).map { $0 &+ $1 }, zip(x, y).map { $0 &* $1 }, "seed 78")
    }

    /// Splits each value into two random shares.
    private func share(_ values: [UInt64], using generator: inout AESPRG) -> ([UInt64], [UInt64]) {
        let first = values.map { _ in generator.nextUInt64() }
        return (first, zip(values, first).map { $0 &- $1 })
    }

    /// The runtime's square: the client's share fixed offline, the server's online; the server's result
    /// plus the client's chosen output share is x^2, over both OT kinds and channel kinds, edge values included.
    func testOneRoundSquareReconstructs() throws {
        for (ot, kind) in [(OTKind.iknp, OTChannelKind.tcp), (.ideal, .inMemory)] {
            let seed: UInt64 = 80
            var generator = testGenerator(seed: seed)
            let n = 2500
            let x = factors(n, using: &generator)
            let (s, c) = share(x, using: &generator)
            let output = factors(n, using: &generator).reversed() as [UInt64]
            let (server, _) = try withOLE(ot, kind,
                sender: { ole, channel -> [UInt64] in
                    let state = try OneRoundSquare.serverOffline(count: n, ot: ole.ot)
                    return try OneRoundSquare.serverOnline(state, shares: s, channel: channel)
                },
                receiver: { ole, channel -> Bool in
                    let state = try OneRoundSquare.clientOffline(shares: c, ot: ole.ot)
                    try OneRoundSquare.clientOnline(state, output: output, channel: channel)
                    return true
                })
            XCTAssertEqual(zip(server, output).map { $0 &+ $1 }, x.map { $0 &* $0 }, "\(ot), \(kind), seed \(seed)")
        }
    }

    /// Traffic of a square's offline correlation matches the documented 63 COTs + 252 B per pair.
    func testSquarePairBytes() throws {
        let n = 4096
        let ((sent, received), _) = try withOLE(.iknp,
            sender: { ole, channel -> (UInt64, UInt64) in
                channel.resetStats()
                _ = try OneRoundSquare.serverOffline(count: n, ot: ole.ot)
                return (channel.stats.bytesSent, channel.stats.bytesReceived)
            },
            receiver: { ole, _ in try OneRoundSquare.clientOffline(shares: [UInt64](repeating: 7, count: n), ot: ole.ot).count })
        let cots = 63 * n
        let frames = (cots + 8191) / 8192
        XCTAssertEqual(received, UInt64(cots * 16 + frames * Framing.headerSize))
        XCTAssertEqual(sent, UInt64(252 * n + Framing.headerSize))
    }
}
