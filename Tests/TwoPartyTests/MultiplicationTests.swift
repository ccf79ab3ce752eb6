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

    func testBeaverTriplesReconstruct() throws {
        for ot in OTKind.allCases {
            let (t0, t1) = try withOLE(ot,
                sender: { ole, _ in try ole.generateTriples(count: 3000) },
                receiver: { ole, _ in try ole.generateTriples(count: 3000) })
            XCTAssertEqual(t0.role, .sender)
            XCTAssertEqual(t1.role, .receiver)
            for k in 0..<3000 where (t0.a[k] &+ t1.a[k]) &* (t0.b[k] &+ t1.b[k]) != t0.c[k] &+ t1.c[k] {
                XCTFail("\(ot): triple \(k) does not reconstruct")
                break
            }
        }
    }

    func testSquarePairsReconstruct() throws {
        for ot in OTKind.allCases {
            let (p0, p1) = try withOLE(ot,
                sender: { ole, _ in try ole.generateSquarePairs(count: 5000) },
                receiver: { ole, _ in try ole.generateSquarePairs(count: 5000) })
            for k in 0..<5000 {
                let a = p0.a[k] &+ p1.a[k]
                if a &* a != p0.aSquared[k] &+ p1.aSquared[k] {
                    XCTFail("\(ot): square pair \(k) does not reconstruct")
                    break
                }
            }
        }
    }

    func testKnownFactorOLEReconstructs() throws {
        var generator = testGenerator(seed: 79)
        let b = factors(1000, using: &generator)
        let (o0, o1) = try withOLE(.iknp,
            sender: { ole, _ in try ole.generateKnownFactor(b) },
            receiver: { ole, _ in try ole.generateKnownFactor(count: 1000) })
        XCTAssertEqual(o0.factor, b)
        for k in 0..<1000 {
            XCTAssertEqual(o0.share[k] &+ o1.share[k], b[k] &* o1.factor[k], "seed 79, element \(k)")
        }
    }

    /// Splits each value into two random shares.
    private func share(_ values: [UInt64], using generator: inout AESPRG) -> ([UInt64], [UInt64]) {
        let first = values.map { _ in generator.nextUInt64() }
        return (first, zip(values, first).map { $0 &- $1 })
    }

    /// Offline then online, over both channel kinds: products, squares and known-factor products of
    /// shared inputs reconstruct to the plain results.
    func testOnlineStepsProduceSharesOfProducts() throws {
        for kind in OTChannelKind.allCases {
            let seed: UInt64 = 80
            var generator = testGenerator(seed: seed)
            let n = 2500
            let x = factors(n, using: &generator)
            let y = factors(n, using: &generator).reversed() as [UInt64]
            let weights = factors(n, using: &generator).shuffled(using: &generator)
            let (x0, x1) = share(x, using: &generator)
            let (y0, y1) = share(y, using: &generator)
            let (r0, r1) = try withOLE(.iknp, kind,
                sender: { ole, channel -> [[UInt64]] in
                    let triples = try ole.generateTriples(count: n)
                    let pairs = try ole.generateSquarePairs(count: n)
                    let known = try ole.generateKnownFactor(weights)
                    return [try SharedMultiplication.multiply(x: x0, y: y0, triples: triples, channel: channel),
                            try SharedMultiplication.square(x: x0, pairs: pairs, channel: channel),
                            try SharedMultiplication.multiplyKnownFactor(x: x0, correlation: known, channel: channel)]
                },
                receiver: { ole, channel -> [[UInt64]] in
                    let triples = try ole.generateTriples(count: n)
                    let pairs = try ole.generateSquarePairs(count: n)
                    let known = try ole.generateKnownFactor(count: n)
                    return [try SharedMultiplication.multiply(x: x1, y: y1, triples: triples, channel: channel),
                            try SharedMultiplication.square(x: x1, pairs: pairs, channel: channel),
                            try SharedMultiplication.multiplyKnownFactor(x: x1, correlation: known, channel: channel)]
                })
            let expected = [zip(x, y).map { $0 &* $1 }, x.map { $0 &* $0 }, zip(x, weights).map { $0 &* $1 }]
            for (step, name) in ["beaver", "square", "known factor"].enumerated() {
                XCTAssertEqual(zip(r0[step], r1[step]).map { $0 &+ $1 }, expected[step], "\(kind), seed \(seed), \(name)")
            }
        }
    }

    /// Traffic of square-pair generation matches the documented 63 COTs + 252 B per pair.
    func testSquarePairBytes() throws {
        let n = 4096
        let ((sent, received), _) = try withOLE(.iknp,
            sender: { ole, channel -> (UInt64, UInt64) in
                channel.resetStats()
                _ = try ole.generateSquarePairs(count: n)
                return (channel.stats.bytesSent, channel.stats.bytesReceived)
            },
            receiver: { ole, _ in try ole.generateSquarePairs(count: n) })
        let cots = 63 * n
        let frames = (cots + 8191) / 8192
        XCTAssertEqual(received, UInt64(cots * 16 + frames * Framing.headerSize))
        XCTAssertEqual(sent, UInt64(252 * n + Framing.headerSize))
    }
}
