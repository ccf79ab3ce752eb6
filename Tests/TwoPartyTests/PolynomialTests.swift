import Lattice
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

    /// Runs the two sides of a polynomial exchange with the batched OLE set up (the client's key, its
    /// rerandomisation key sent first).
    private func withOLE<A: Sendable, B: Sendable>(
        server: @escaping @Sendable (PrimeOLEServer, any Channel) throws -> A,
        client: @escaping @Sendable (PrimeOLEClient, any Channel) throws -> B
    ) throws -> (A, B) {
        try runTwoParties(.inMemory,
            first: { c in try server(try PrimeOLEServer(context: .standard, setupMessage: try c.receiveMessage(expecting: 0x7777)), c) },
            second: { c in
                let ole = PrimeOLEClient(context: .standard)
                try c.sendMessage(type: 0x7777, try ole.setupMessage())
                try c.flush()
                return try client(ole, c)
            })
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
    /// one unit (local truncation), for inputs spread over [-16, 16] and the edges 0, +-1 unit, +-16 (|p(X)|
    /// up to about 2^96 of the declared 2^99), over more elements than one ciphertext holds.
    func testEachDegreeMatchesTheReference() throws {
        let plane = 2750, channels = 3, n = plane * channels
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
            let (server, _) = try withOLE(
                server: { ole, channel -> [UInt64] in
                    let state = try OneRoundPolynomial.serverOffline(count: n, degree: degree, ole: ole, channel: channel)
                    return try OneRoundPolynomial.serverOnline(state, shares: serverShares, coefficients: a, plane: plane,
                                                               shift: shift, channel: channel)
                },
                client: { ole, channel -> Bool in
                    let state = try OneRoundPolynomial.clientOffline(shares: c, degree: degree, ole: ole, channel: channel)
                    try OneRoundPolynomial.clientOnline(state, output: output, shift: shift, channel: channel)
                    return true
                })
            var exceeded = 0
            for k in 0..<n {
                let (expected, out) = OneRoundPolynomial.referenceChecked(x: x[k], coefficients: a[k / plane], shift: shift)
                if out { exceeded += 1 }
                let difference = Int64(bitPattern: server[k] &+ output[k] &- expected)
                XCTAssertTrue(abs(difference) <= 1, "degree \(degree), seed \(seed), element \(k): off by \(difference)")
            }
            XCTAssertEqual(exceeded, 0, "degree \(degree): inputs inside the declared range")
        }
    }

    /// The C kernels against their Swift references at every level (scalar, AVX-512 with floating-point
    /// quotients, IFMA Montgomery products where the CPU has them): the server's masked values and residues,
    /// the client's residues, the CRT back to shifted shares, degrees 1, 4 and 6, on real offline material.
    func testKernelsEqualTheirReferences() throws {
        for degree in [1, 4, 6] {
            let plane = 37, channels = 5, n = plane * channels
            var generator = testGenerator(seed: UInt64(40 + degree))
            let s = min(13, 60 / degree)
            let a = coefficients(channels: channels, degree: degree, inputScale: s, scale: 84, using: &generator)
            let x = (0..<n).map { _ in generator.nextUInt64() }
            let (server, client) = try withOLE(
                server: { ole, channel -> Bool in
                    let state = try OneRoundPolynomial.serverOffline(count: n, degree: degree, ole: ole, channel: channel)
                    let slow = OneRoundPolynomial.maskedValuesReference(state, shares: x, coefficients: a, plane: plane)
                    var same = true
                    for kernels: Int32 in [0, 1, 2] {
                        let fast = OneRoundPolynomial.maskedValues(state, shares: x, coefficients: a, plane: plane, kernels: kernels)
                        same = same && fast.message == slow.message && fast.sums == slow.sums
                    }
                    try channel.sendMessage(type: 0x7778, slow.message)
                    try channel.flush()
                    return same
                },
                client: { ole, channel -> Bool in
                    let state = try OneRoundPolynomial.clientOffline(shares: x.reversed(), degree: degree, ole: ole, channel: channel)
                    let masked = try channel.receiveMessage(expecting: 0x7778)
                    let slow = try OneRoundPolynomial.clientResiduesReference(state, masked: masked)
                    var same = true
                    for kernels: Int32 in [0, 1, 2] { same = try same && OneRoundPolynomial.clientResidues(state, masked: masked, kernels: kernels) == slow }
                    // A value at or above its prime is refused by both.
                    // (12 bytes of ones hold at least one whole 47-bit value: 2^47 - 1 >= t.)
                    var bad = masked
                    for b in (bad.count / 2)..<(bad.count / 2 + 12) { bad[b] = 0xFF }
                    let refused = (try? OneRoundPolynomial.clientResidues(state, masked: bad)) == nil
                        && (try? OneRoundPolynomial.clientResiduesReference(state, masked: bad)) == nil
                    return same && refused
                })
            XCTAssertTrue(server, "degree \(degree): server kernel")
            XCTAssertTrue(client, "degree \(degree): client kernel")
        }
        let system = OneRoundPolynomial.residues
        var generator = testGenerator(seed: 3)
        let count = 3000, J = system.moduli.count
        // Random residues, and first the integers 0, 1, 2, T - 1, T - 2, ... (the quotient's estimate is near
        // an integer there: the exact fallback).
        let edges: [Int64] = [0, 1, 2, -1, -2, 1 << 40, -(1 << 40), 3, -3, 5]
        let residues = (0..<(J * count)).map { index -> UInt64 in
            let t = system.moduli[index / count], k = index % count
            return k < edges.count ? system.reduce(signed: Int128(edges[k]), modulo: t) : generator.nextUInt64() % t.value
        }
        let adding = (0..<count).map { _ in generator.nextUInt64() }
        for shift in [0, 1, 63, 64, 71, 127, 150] {
            for server in [false, true] {
                let fast = system.shiftedShares(residues, count: count, shift: shift, server: server, adding: adding)
                let scalar = system.shiftedShares(residues, count: count, shift: shift, server: server, adding: adding, vector: false)
                for k in 0..<count {
                    let slow = system.shiftedShare(of: { residues[$0 * count + k] }, shift: shift, server: server) &+ adding[k]
                    XCTAssertEqual(fast[k], slow, "shift \(shift), server \(server), element \(k)")
                    XCTAssertEqual(scalar[k], slow, "scalar: shift \(shift), server \(server), element \(k)")
                }
            }
        }
    }

    /// The residue system's way back: integer shares sigma - T and tau of Z give Z >> shift (or one less),
    /// against Int128 arithmetic, at the declared range's edges and for every shift the compiler uses.
    func testResiduesCombineToTheShiftedValue() throws {
        let system = OneRoundPolynomial.residues
        var generator = testGenerator(seed: 5)
        let range = Int128(1) << Int128(system.rangeBits)
        for z in [Int128(0), 1, -1, range - 1, 1 - range, 12345, -98765] + (0..<200).map({ _ in
            Int128(bitPattern: UInt128(generator.nextUInt64()) << 40 | UInt128(generator.nextUInt64())) % range }) {
            for shift in [0, 13, 64, 71, 100, 127] {
                // A random client residue vector tau; the server's sigma = z - tau modulo each prime.
                let tau = system.moduli.map { generator.nextUInt64() % $0.value }
                let sigma = zip(system.moduli, tau).map { t, r in t.subtract(system.reduce(signed: z, modulo: t), r) }
                let server = system.shiftedShare(of: { sigma[$0] }, shift: shift, server: true)
                let client = system.shiftedShare(of: { tau[$0] }, shift: shift, server: false)
                let expected = UInt64(truncatingIfNeeded: z >> Int128(shift))
                let difference = Int64(bitPattern: server &+ client &- expected)
                // The lift's failure events (tau <= z for z >= 0, tau > z + T for z < 0: probability below 2^-41) do not occur for these draws.
                XCTAssertTrue(difference == 0 || difference == -1, "z \(z), shift \(shift): off by \(difference)")
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

    /// An input whose value leaves the declared range (or whose power leaves 128 bits) is counted as exceeded
    /// even when the reduced result happens to look small. The bound against the real value, computed in
    /// Double: |p(x)| 2^F < 2^rangeBits.
    func testWrapInTheWideRingIsCounted() {
        let a: [Double] = [0.25, 0.5, 0.125, 0, -0.0078125]
        let s = 8, F = 60
        let A = a.enumerated().map { k, v in UInt128(bitPattern: Int128((v * pow(2, Double(F - k * s))).rounded())) }
        for x in [-3.0, 7.75, 100, 1e4, 2e6, 3e7, -5e8] {
            let encoded = UInt64(bitPattern: Int64(x * 256))
            let (_, exceeded) = OneRoundPolynomial.referenceChecked(x: encoded, coefficients: A, shift: F - 16)
            // Horner's largest intermediate here is the last one, a_4 x^4 + ... scaled by 2^F: the whole value.
            let exact = a.enumerated().reduce(0.0) { $0 + $1.element * pow(x, Double($1.offset)) }
            let inRange = abs(exact) * pow(2, Double(F)) < pow(2, Double(OneRoundPolynomial.rangeBits))
            let fits64 = abs(exact) * 65536 < pow(2, 63)
            XCTAssertEqual(exceeded, !(inRange && fits64), "x = \(x)")
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
    /// (d values per plaintext prime at its bit length per element, then 8 B back).
    func testOnlineTrafficIsOneRoundTrip() throws {
        let n = 64, degree = 4
        let a = [[UInt128]](repeating: [1, 2, 3, 4, 5], count: 1)
        let (bytes, _) = try withOLE(
            server: { ole, channel -> (UInt64, UInt64, Int) in
                let state = try OneRoundPolynomial.serverOffline(count: n, degree: degree, ole: ole, channel: channel)
                channel.resetStats()
                _ = try OneRoundPolynomial.serverOnline(state, shares: [UInt64](repeating: 1, count: n), coefficients: a,
                                                        plane: n, shift: 3, channel: channel)
                return (channel.stats.bytesSent, channel.stats.bytesReceived, Int(channel.stats.totalRounds))
            },
            client: { ole, channel -> Bool in
                let state = try OneRoundPolynomial.clientOffline(shares: [UInt64](repeating: 2, count: n), degree: degree,
                                                                 ole: ole, channel: channel)
                try OneRoundPolynomial.clientOnline(state, output: [UInt64](repeating: 0, count: n), shift: 3, channel: channel)
                return true
            })
        let bits = OneRoundPolynomial.residues.moduli.reduce(0) { $0 + $1.bitLength }
        XCTAssertEqual(bytes.0, UInt64((n * degree * bits + 7) / 8 + Framing.headerSize))
        XCTAssertEqual(bytes.1, UInt64(8 * n + Framing.headerSize))
        XCTAssertEqual(bytes.2, 2)
    }

    /// A client that answers with masked values of the wrong length or out of range gets a clear error.
    func testMalformedMaskedValuesAreRefused() throws {
        let n = 8, degree = 3
        let (_, outcome) = try withOLE(
            server: { ole, channel -> Bool in
                _ = try OneRoundPolynomial.serverOffline(count: n, degree: degree, ole: ole, channel: channel)
                try channel.sendMessage(type: 0x0206, [UInt8](repeating: 0xFF, count: 10))
                try channel.flush()
                return true
            },
            client: { ole, channel -> String in
                let state = try OneRoundPolynomial.clientOffline(shares: [UInt64](repeating: 2, count: n), degree: degree,
                                                                 ole: ole, channel: channel)
                do {
                    _ = try OneRoundPolynomial.clientReply(state, output: [UInt64](repeating: 0, count: n), shift: 3, channel: channel)
                    return "accepted"
                } catch { return "\(error)" }
            })
        XCTAssertTrue(outcome.contains("bytes, expected"), outcome)
    }
}
