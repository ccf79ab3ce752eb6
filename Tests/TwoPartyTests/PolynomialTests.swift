import Transport
import TwoParty
import XCTest

/// OLE over Z_(2^128) and the one-round polynomial: shares reconstruct to the clear computation, over
/// IKNP and the ideal (dealer) OT, for every degree, random and edge inputs.
final class PolynomialTests: XCTestCase {
    private enum OTKind: CaseIterable { case iknp, ideal }

    private func withOT<A: Sendable, B: Sendable>(
        _ ot: OTKind, _ channel: OTChannelKind = .inMemory,
        sender: @escaping @Sendable (any CorrelatedOTSender, any Channel) throws -> A,
        receiver: @escaping @Sendable (any CorrelatedOTReceiver, any Channel) throws -> B
    ) throws -> (A, B) {
        let seed = Block(lo: 31, hi: 7)
        return try runTwoParties(channel,
            first: { c in try sender(ot == .iknp ? try IKNPSender(channel: c) : IdealCOTSender(seed: seed, channel: c), c) },
            second: { c in try receiver(ot == .iknp ? try IKNPReceiver(channel: c) : IdealCOTReceiver(seed: seed, channel: c), c) })
    }

    private func wideValues(_ count: Int, bits: Int, using generator: inout AESPRG) -> [UInt128] {
        let mask: UInt128 = bits == 128 ? .max : (1 << UInt128(bits)) - 1
        let edges: [UInt128] = [0, 1, mask, mask >> 1, 1 << UInt128(bits - 1)]
        return (0..<count).map { k in
            k < edges.count ? edges[k] : (UInt128(generator.nextUInt64()) | UInt128(generator.nextUInt64()) << 64) & mask
        }
    }

    func testWideOLEProductsReconstruct() throws {
        for ot in OTKind.allCases {
            for (n, bits) in [(1, 128), (9, 128), (700, 128), (300, 64), (50, 1), (40, 77)] {
                let seed = UInt64(n * 131 + bits)
                var generator = testGenerator(seed: seed)
                let x = wideValues(n, bits: 128, using: &generator)
                let y = wideValues(n, bits: bits, using: &generator).reversed() as [UInt128]
                let (s0, s1) = try withOT(ot,
                    sender: { cot, _ in try OLESender(ot: cot).multiply(x, bits: bits) },
                    receiver: { cot, _ in try OLEReceiver(ot: cot).multiply(y, bits: bits) })
                for k in 0..<n where s0[k] &+ s1[k] != x[k] &* y[k] {
                    XCTFail("\(ot), seed \(seed), n \(n), bits \(bits): element \(k) does not reconstruct")
                    break
                }
            }
        }
    }

    /// The documented traffic: bits COTs (16 B each with IKNP) one way, bits(257 - bits)/2 correction bits the other.
    func testWideOLEBytes() throws {
        let n = 1000
        for bits in [64, 128] {
            let (sent, received) = try withOT(.iknp,
                sender: { cot, channel -> (UInt64, UInt64) in
                    channel.resetStats()
                    _ = try OLESender(ot: cot).multiply([UInt128](repeating: 3, count: n), bits: bits)
                    return (channel.stats.bytesSent, channel.stats.bytesReceived)
                },
                receiver: { cot, _ in try OLEReceiver(ot: cot).multiply([UInt128](repeating: 5, count: n), bits: bits) }).0
            let cots = bits * n
            XCTAssertEqual(received, UInt64(cots * 16 + ((cots + 8191) / 8192) * Framing.headerSize), "bits \(bits)")
            XCTAssertEqual(sent, UInt64((n * bits * (257 - bits) / 2 + 63) / 64 * 8 + Framing.headerSize), "bits \(bits)")
        }
    }

    /// Fixed-point coefficients of a ReLU-like polynomial of the given degree: A_k = a_k 2^(F - k s).
    private func coefficients(channels: Int, degree: Int, inputScale s: Int, scale F: Int,
                              using generator: inout AESPRG) -> [[UInt128]] {
        (0..<channels).map { _ in
            (0...degree).map { k in
                let a = (Double(generator.nextUInt64() % 2001) / 1000 - 1) / pow(4, Double(k))
                return UInt128(bitPattern: Int128((a * pow(2, Double(F - k * s))).rounded()))
            }
        }
    }

    /// Every degree 1...6: the server's and client's outputs add up to the reference (p(x) >> shift) up to
    /// one unit (local truncation), for inputs spread over [-16, 16] and the edges 0, +-1 unit, +-16.
    func testEachDegreeMatchesTheReference() throws {
        let plane = 20, channels = 3, n = plane * channels
        for ot in OTKind.allCases {
            for degree in OneRoundPolynomial.degrees {
                let seed = UInt64(100 + degree)
                var generator = testGenerator(seed: seed)
                let s = min(13, 60 / degree), F = 84, shift = F - 13
                let a = coefficients(channels: channels, degree: degree, inputScale: s, scale: F, using: &generator)
                let limit = Int64(16) << s
                let edges: [Int64] = [0, 1, -1, limit, -limit, limit - 1, 1 - limit]
                let x: [UInt64] = (0..<n).map { k in
                    UInt64(bitPattern: k < edges.count ? edges[k] : Int64(generator.nextUInt64() % UInt64(2 * limit + 1)) - limit)
                }
                let c = (0..<n).map { _ in generator.nextUInt64() }
                let serverShares = zip(x, c).map { $0 &- $1 }
                let output = (0..<n).map { _ in generator.nextUInt64() }
                let (server, _) = try withOT(ot,
                    sender: { cot, channel -> [UInt64] in
                        let state = try OneRoundPolynomial.serverOffline(count: n, degree: degree, ot: cot)
                        return try OneRoundPolynomial.serverOnline(state, shares: serverShares, coefficients: a, plane: plane,
                                                                   shift: shift, channel: channel)
                    },
                    receiver: { cot, channel -> Bool in
                        let state = try OneRoundPolynomial.clientOffline(shares: c, degree: degree, ot: cot)
                        try OneRoundPolynomial.clientOnline(state, output: output, shift: shift, channel: channel)
                        return true
                    })
                for k in 0..<n {
                    let expected = OneRoundPolynomial.reference(x: x[k], coefficients: a[k / plane], shift: shift)
                    let difference = Int64(bitPattern: server[k] &+ output[k] &- expected)
                    XCTAssertTrue(abs(difference) <= 1, "\(ot), degree \(degree), seed \(seed), element \(k): off by \(difference)")
                }
            }
        }
    }

    /// The reference itself against Double arithmetic on a hand-picked polynomial.
    func testReferenceIsTheFixedPointPolynomial() {
        // p(x) = 0.25 + 0.5 x + 0.125 x^2 - 0.0078125 x^4 at input scale 8, coefficient scale F = 60.
        let a: [Double] = [0.25, 0.5, 0.125, 0, -0.0078125]
        let s = 8, F = 60
        let A = a.enumerated().map { k, v in UInt128(bitPattern: Int128((v * pow(2, Double(F - k * s))).rounded())) }
        for x in [-3.0, -0.5, 0, 1.25, 7.75] {
            let encoded = UInt64(bitPattern: Int64(x * 256))
            let y = Int64(bitPattern: OneRoundPolynomial.reference(x: encoded, coefficients: A, shift: F - 16))
            let exact = a.enumerated().reduce(0.0) { $0 + $1.element * pow(x, Double($1.offset)) }
            XCTAssertEqual(Double(y) / 65536, exact, accuracy: 1.0 / 65536, "x = \(x)")
        }
    }

    /// An input whose power leaves 128 bits wraps the ring: counted as exceeded even when the reduced result
    /// happens to look small. The bound against the real value, computed in Double: |p(x)| 2^F < 2^127.
    func testWrapInTheWideRingIsCounted() {
        let a: [Double] = [0.25, 0.5, 0.125, 0, -0.0078125]
        let s = 8, F = 60
        let A = a.enumerated().map { k, v in UInt128(bitPattern: Int128((v * pow(2, Double(F - k * s))).rounded())) }
        for x in [-3.0, 7.75, 100, 1e4, 2e6, 3e7, -5e8] {
            let encoded = UInt64(bitPattern: Int64(x * 256))
            let (_, exceeded) = OneRoundPolynomial.referenceChecked(x: encoded, coefficients: A, shift: F - 16)
            // Horner's largest intermediate here is the last one, a_4 x^4 + ... scaled by 2^F: the whole value.
            let exact = a.enumerated().reduce(0.0) { $0 + $1.element * pow(x, Double($1.offset)) }
            let fits128 = abs(exact) * pow(2, Double(F)) < pow(2, 126)
            let fits64 = abs(exact) * 65536 < pow(2, 63)
            XCTAssertEqual(exceeded, !(fits128 && fits64), "x = \(x)")
        }
    }

    /// The fast evaluator the fixed-point evaluators use returns exactly `referenceChecked`'s value and flag:
    /// every degree, coefficients from a few bits to the full 128, inputs from 0 to the 64-bit extremes and
    /// on both sides of its no-overflow bound.
    func testCheckedEvaluatorEqualsReferenceChecked() {
        var generator = AESPRG(seed: Block(lo: 77, hi: 12))
        var compared = 0, slowPath = 0
        for degree in 1...6 {
            for coefficientBits in [12, 40, 70, 128] {
                let a = wideValues(degree + 1, bits: coefficientBits, using: &generator).map { v -> UInt128 in
                    // Signed coefficients: half of them negative.
                    generator.nextUInt64() & 1 == 0 ? v : 0 &- v
                }
                for shift in [0, 40, 100] {
                    let evaluate = OneRoundPolynomial.CheckedEvaluator(coefficients: a, shift: shift)
                    var inputs: [UInt64] = [0, 1, UInt64.max, UInt64(bitPattern: Int64.min), UInt64(Int64.max)]
                    for bits in [1, 4, 8, 12, 16, 20, 24, 32, 48, 63] {
                        let m = UInt64(1) << UInt64(bits)
                        inputs += [m, m - 1, m + 1, 0 &- m, 0 &- m &- 1, 0 &- m &+ 1, generator.nextUInt64() % m,
                                   0 &- generator.nextUInt64() % m]
                    }
                    for x in inputs {
                        let fast = evaluate(x), slow = OneRoundPolynomial.referenceChecked(x: x, coefficients: a, shift: shift)
                        XCTAssertEqual(fast.value, slow.value, "degree \(degree), \(coefficientBits)-bit coefficients, shift \(shift), x \(Int64(bitPattern: x))")
                        XCTAssertEqual(fast.exceeded, slow.exceeded, "degree \(degree), \(coefficientBits)-bit coefficients, shift \(shift), x \(Int64(bitPattern: x))")
                        if slow.exceeded { slowPath += 1 }
                        compared += 1
                    }
                }
            }
        }
        XCTAssertGreaterThan(slowPath, 100, "the inputs reach the overflowing range too")
        XCTAssertGreaterThan(compared - slowPath, 1000, "and the exact range")
    }

    /// One round: the server's masked values and the client's reply are the only online messages
    /// (16 B per element per degree, then 8 B back).
    func testOnlineTrafficIsOneRoundTrip() throws {
        let n = 64, degree = 4
        let a = [[UInt128]](repeating: [1, 2, 3, 4, 5], count: 1)
        let (bytes, _) = try withOT(.ideal,
            sender: { cot, channel -> (UInt64, UInt64, Int) in
                let state = try OneRoundPolynomial.serverOffline(count: n, degree: degree, ot: cot)
                channel.resetStats()
                _ = try OneRoundPolynomial.serverOnline(state, shares: [UInt64](repeating: 1, count: n), coefficients: a,
                                                        plane: n, shift: 3, channel: channel)
                return (channel.stats.bytesSent, channel.stats.bytesReceived, Int(channel.stats.totalRounds))
            },
            receiver: { cot, channel -> Bool in
                let state = try OneRoundPolynomial.clientOffline(shares: [UInt64](repeating: 2, count: n), degree: degree, ot: cot)
                try OneRoundPolynomial.clientOnline(state, output: [UInt64](repeating: 0, count: n), shift: 3, channel: channel)
                return true
            })
        XCTAssertEqual(bytes.0, UInt64(16 * degree * n + Framing.headerSize))
        XCTAssertEqual(bytes.1, UInt64(8 * n + Framing.headerSize))
        XCTAssertEqual(bytes.2, 2)
    }
}
