// Batched oblivious linear evaluation over prime fields from BFV with slot (NTT) encoding: the client
// holds vectors a_1..a_m over Z_t, the server vectors b_1..b_m and draws u; the client learns
// sum_i a_i * b_i - u (elementwise), the server nothing. One ciphertext carries N = 8192 slots; the m
// terms of a sum share one response (m request ciphertexts, one response ciphertext per N slots).
//
// Encoding. For an NTT-friendly prime t (t = 1 mod 2N), Z_t[X]/(X^N + 1) is isomorphic to Z_t^N through
// the negacyclic NTT, so a vector a is the plaintext m = INTT_t(a) and polynomial products are slotwise
// products (the batching of Smart-Vercauteren, "Fully homomorphic SIMD operations", DCC 2014, as in
// SEAL's BatchEncoder). Coefficient encoding (the linear layers') has no elementwise product.
//
// Protocol (semi-honest; the client's key is the linear layers' kind, under its own parameters; the
// uniform half is written A to tell it from the client's vectors a_i):
//   client: per term, c0 = -A s + e + Delta(INTT_t(a_i)), c1 = A expanded from a seed (only c0 and the seed travel);
//   server: c0' = sum_i c0_i p_i + b' r + e0 - Delta(INTT_t(u)) + F,  c1' = sum_i c1_i p_i + a' r + e1,  p_i = INTT_t(b_i) centered,
//           with (b', a') the client's rerandomisation key (LinearLayerServer), r ternary, e0, e1 fresh
//           errors, F uniform flooding at every coefficient; then switched to power-of-two moduli;
//   client: z = round(t (c0' + c1' s) / Q) mod t = sum_i INTT_t(a_i) INTT_t(b_i) - INTT_t(u), slots NTT_t(z).
// The response's c1 is an RLWE sample (r the secret), and F hides the noise, which depends on p and r.
//
// Noise before flooding, per coefficient (Delta(m) = round(Q m / t) = Q m / t + eps, |eps| <= 1/2, and
// Q m p / t = Q [m p]_t / t mod Q):
//   E = sum_i (e_i + eps_i) p_i + e' r + e0 + s e1 - eps_u,
//   |sum_i e_i p_i| <= sqrt(2 eta ln(2 / delta)) sqrt(m N) t / 2 (Hoeffding, as in ResponseWidths,
//   delta = 2^-(statistical + 15)),  |sum_i eps_i p_i| <= m N t / 4,  the rest <= 2 eta N + eta + 1/2.
// All N coefficients of c0' are revealed (the slots are a transform of all of them), so the flooding is
// log2 N bits wider than a linear layer's: each response's N revealed coefficients together are within
// statistical distance 2^-statistical of simulated ones (per response ciphertext, the linear layers'
// convention; a ResNet-32 image has 111 of them, 2^-33 together). Likewise one wrong coefficient spoils
// every slot, so c1's rounding margin is log2 N bits wider too: a response decrypts wrongly with probability
// at most 2^-correctness. Widths then follow ResponseWidths.switching with t's bit length
// (2^-(k+1) <= 1 / (2t)).
//
// Parameters (PrimeOLEParameters.default): N = 8192, Q three 56-bit primes (log2 Q ~ 168 <= 218: 128-bit
// security by the HE standard's table for ternary secrets), plaintext primes of 47 bits.

import ModularMath

/// Ciphertext parameters and the plaintext primes of a batched OLE.
public struct PrimeOLEParameters: Sendable, Hashable {
    public let cipher: HEParameters
    /// NTT-friendly primes t_j = 1 mod 2N (below 2^62), each a field of its own.
    public let plaintextPrimes: [UInt64]

    public init(cipher: HEParameters, plaintextPrimes: [UInt64]) throws {
        let twoN = UInt64(2 * cipher.degree)
        guard !plaintextPrimes.isEmpty,
              plaintextPrimes.allSatisfy({ $0 >> 62 == 0 && $0 % twoN == 1 && Modulus.isPrime($0) }),
              Set(plaintextPrimes).count == plaintextPrimes.count,
              Set(plaintextPrimes).isDisjoint(with: cipher.primes) else {
            throw LatticeError.invalidParameters("plaintext primes must be distinct primes = 1 mod 2N below 2^62, none of them a ciphertext prime")
        }
        self.cipher = cipher
        self.plaintextPrimes = plaintextPrimes
    }

    /// N = 8192, Q = three 56-bit primes, three 47-bit plaintext primes (their product ~ 2^141).
    public static let `default`: PrimeOLEParameters = {
        let q = try! Modulus.nttPrimes(bits: 56, count: 3, degree: 8192)
        let t = try! Modulus.nttPrimes(bits: 47, count: 3, degree: 8192)
        return try! PrimeOLEParameters(cipher: try! HEParameters(degree: 8192, primes: q), plaintextPrimes: t)
    }()
}

/// The shared, public part of a batched OLE: contexts, slot transforms and response widths per prime.
public final class PrimeOLEContext: Sendable {
    public let parameters: PrimeOLEParameters
    public let bfv: BFVContext
    /// One ring per plaintext prime: its NTT maps plaintext polynomials to slots.
    let plain: [RingContext]
    public let plaintextModuli: [Modulus]
    /// Per plaintext prime: Delta(m) in RNS.
    let encoders: [PrimeEncoder]

    public init(parameters: PrimeOLEParameters = .default) throws {
        self.parameters = parameters
        let bfv = try BFVContext(parameters: parameters.cipher)
        self.bfv = bfv
        plain = try parameters.plaintextPrimes.map { try RingContext(degree: parameters.cipher.degree, primes: [$0]) }
        plaintextModuli = plain.map { $0.moduli[0] }
        encoders = try plaintextModuli.map { try PrimeEncoder(context: bfv, t: $0) }
    }

    /// Flooding width and switched widths of a response summing `terms` products modulo plaintext prime j.
    public func widths(prime j: Int, terms: Int) throws -> (floodBits: Int, c0Bits: Int, c1Bits: Int) {
        let p = parameters.cipher
        let n = Double(p.degree), eta = Double(p.errorEta), m = Double(terms)
        let lnInverseDelta = Double(p.statisticalSecurity + 16) * 0.6931471805599453
        let half = Double(plaintextModuli[j].value) / 2
        let bound = (2 * eta * lnInverseDelta * m * n).squareRoot() * half + m * n * half / 2 + 2 * eta * n + eta + 0.5
        let revealed = p.degree.trailingZeroBitCount
        return try ResponseWidths.switching(noiseBound: bound, plaintextBits: plaintextModuli[j].bitLength, outputsPerResponse: n,
                                            extraFloodBits: revealed, extraCorrectnessBits: revealed, context: bfv)
    }

    /// The context of the default parameters, made once per process.
    public static let standard: PrimeOLEContext = try! PrimeOLEContext()

    /// Slots per ciphertext (N).
    public var slots: Int { parameters.cipher.degree }

    /// The N-slot pieces of vectors of these lengths, vector by vector.
    func pieces(_ counts: [Int]) -> [(vector: Int, start: Int, count: Int)] {
        var out: [(Int, Int, Int)] = []
        for (v, c) in counts.enumerated() {
            var start = 0
            repeat { out.append((v, start, min(slots, c - start))); start += slots } while start < c
        }
        return out
    }

    /// Checks a layout: `counts[k]` values modulo plaintext prime `primes[k]`, summed in consecutive groups
    /// of `terms` vectors of one length and one prime.
    func check(counts: [Int], primes: [Int], terms: Int) throws {
        guard counts.count == primes.count, primes.allSatisfy({ plain.indices.contains($0) }), counts.allSatisfy({ $0 >= 0 }) else {
            throw LatticeError.shapeMismatch("\(counts.count) vectors with \(primes.count) prime indices (valid: 0..<\(plain.count))")
        }
        guard terms >= 1, counts.count % terms == 0,
              stride(from: 0, to: counts.count, by: terms).allSatisfy({ g in
                  (g..<(g + terms)).allSatisfy { counts[$0] == counts[g] && primes[$0] == primes[g] } }) else {
            throw LatticeError.shapeMismatch("\(counts.count) vectors do not form groups of \(terms) of one length and prime")
        }
    }

    func fingerprint(counts: [Int], primes: [Int], terms: Int) -> UInt32 {
        var h = bfv.parameterFingerprint
        for v in parameters.plaintextPrimes + counts.map(UInt64.init) + primes.map(UInt64.init) + [UInt64(terms)] {
            h = (h ^ v) &* 0x100_0000_01b3
        }
        return UInt32(truncatingIfNeeded: h ^ (h >> 32))
    }

    /// The plaintext polynomial INTT_t(values), values padded with zeros to N slots.
    func plaintextPolynomial(_ values: ArraySlice<UInt64>, prime j: Int) -> PolyRq<Coeff> {
        var slots = PolyRq<Eval>.zero(plain[j])
        for (k, v) in values.enumerated() { slots.data[k] = v }
        return slots.inverseNTT()
    }

    /// Exact bytes of a request for vectors of these lengths.
    public func requestBytes(counts: [Int]) -> Int {
        2 + 4 + 32 + 4 + pieces(counts).count * bfv.packedPolynomialBytes
    }

    /// Exact bytes of the response summing groups of `terms` vectors.
    public func responseBytes(counts: [Int], primes: [Int], terms: Int) throws -> Int {
        let groups = stride(from: 0, to: counts.count, by: terms).map { $0 }
        return try groups.reduce(2 + 4 + 4) { total, g in
            let w = try widths(prime: primes[g], terms: terms)
            return total + pieces([counts[g]]).count * ((slots * (w.c0Bits + w.c1Bits) + 7) / 8)
        }
    }
}

/// The client of a batched OLE: holds the secret key (fresh per session, from the OS CSPRNG).
public final class PrimeOLEClient: Sendable {
    public let context: PrimeOLEContext
    let keys: LinearLayerClient

    public init(context: PrimeOLEContext) {
        self.context = context
        keys = LinearLayerClient(context: context.bfv)
    }

    /// Once per session: the rerandomisation key (as LinearLayerClient.setupMessage).
    public func setupMessage() throws -> [UInt8] { try keys.setupMessage() }

    /// Encrypts the vectors (values[k] modulo plaintext prime primes[k]).
    /// Message: version, type, fingerprint (of the layout), 32-byte seed, ciphertext count, then each c0's residues (vector by vector,
    /// N slots each).
    public func request(_ values: [[UInt64]], primes: [Int]) throws -> [UInt8] {
        let ctx = context, bfv = ctx.bfv
        try ctx.check(counts: values.map(\.count), primes: primes, terms: 1)
        let pieces = ctx.pieces(values.map(\.count))
        let seed = PRGSeed.random()
        let noise = PRG(purpose: .error)
        var w = MessageWriter(capacity: ctx.requestBytes(counts: values.map(\.count)))
        LinearLayerMessage.writeHeader(&w, .oleRequest, fingerprint: ctx.fingerprint(counts: values.map(\.count), primes: primes, terms: 0))
        w.raw(seed.bytes)
        w.uint32(UInt32(pieces.count))
        for (index, piece) in pieces.enumerated() {
            let j = primes[piece.vector], t = ctx.plaintextModuli[j].value
            let slice = values[piece.vector][piece.start..<(piece.start + piece.count)]
            guard slice.allSatisfy({ $0 < t }) else { throw LatticeError.malformedInput("OLE value not below its prime \(t)") }
            let m = ctx.plaintextPolynomial(slice, prime: j)
            let a = bfv.uniformHalf(seed: seed, index: UInt64(index))
            var c0 = bfv.errorPolynomial(prg: noise)
            ctx.encoders[j].add(m.data, to: &c0)
            c0 -= (a * keys.secretKey.eval).inverseNTT()
            bfv.writePolynomial(c0, to: &w)
        }
        return w.finish()
    }

    /// Decrypts the response to sum_i a_i * b_i - u for each group of `terms` consecutive vectors
    /// (`counts`, `primes`: the request's vectors).
    public func decode(_ message: [UInt8], counts: [Int], primes: [Int], terms: Int = 1) throws -> [[UInt64]] {
        let ctx = context, n = ctx.slots
        try ctx.check(counts: counts, primes: primes, terms: terms)
        var r = MessageReader(message)
        try LinearLayerMessage.readHeader(&r, .oleResponse, fingerprint: ctx.fingerprint(counts: counts, primes: primes, terms: terms))
        let groups = stride(from: 0, to: counts.count, by: terms).map { $0 }
        let pieces = ctx.pieces(groups.map { counts[$0] })
        let count = Int(try r.uint32())
        guard count == pieces.count else { throw LatticeError.malformedInput("OLE response has \(count) ciphertexts, expected \(pieces.count)") }
        let needed = try ctx.responseBytes(counts: counts, primes: primes, terms: terms)
        guard message.count >= needed else { throw LatticeError.truncatedMessage(expected: needed, actual: message.count) }
        var out = groups.map { [UInt64](repeating: 0, count: counts[$0]) }
        for piece in pieces {
            let j = primes[groups[piece.vector]], w = try ctx.widths(prime: j, terms: terms)
            let c1 = try (0..<n).map { _ in try r.bits(width: w.c1Bits) }
            let c0 = try (0..<n).map { _ in try r.bits(width: w.c0Bits) }
            r.alignBits()
            let ct = try SwitchedCiphertext(c0Bits: w.c0Bits, c1Bits: w.c1Bits, positions: Array(0..<n), c0: c0, c1: c1)
            let z = try ctx.bfv.decrypt(ct, secretKey: keys.secretKey, plaintextModulus: ctx.plaintextModuli[j])
            let slots = PolyRq<Coeff>(context: ctx.plain[j], data: z).forwardNTT()
            for k in 0..<piece.count { out[piece.vector][piece.start + k] = slots.data[k] }
        }
        try r.expectEnd()
        return out
    }
}

/// The server of a batched OLE.
public final class PrimeOLEServer: Sendable {
    public let context: PrimeOLEContext
    let keys: LinearLayerServer

    /// Reads the client's setup message (its rerandomisation key).
    public init(context: PrimeOLEContext, setupMessage: [UInt8]) throws {
        self.context = context
        keys = try LinearLayerServer(context: context.bfv, setupMessage: setupMessage)
    }

    /// Answers a request with the server's vectors (factors[k] modulo plaintext prime primes[k], the
    /// request's layout), summing groups of `terms` consecutive products, and u drawn from the OS CSPRNG
    /// per group: returns the response and the u, so that the client decodes sum_i a_i * b_i - u.
    public func respond(_ request: [UInt8], factors: [[UInt64]], primes: [Int], terms: Int = 1) throws
        -> (message: [UInt8], shares: [[UInt64]]) {
        let ctx = context, bfv = ctx.bfv, n = ctx.slots
        let counts = factors.map(\.count)
        try ctx.check(counts: counts, primes: primes, terms: terms)
        let pieces = ctx.pieces(counts)
        var r = MessageReader(request)
        try LinearLayerMessage.readHeader(&r, .oleRequest, fingerprint: ctx.fingerprint(counts: counts, primes: primes, terms: 0))
        let seed = try PRGSeed(bytes: try r.raw(32))
        let count = Int(try r.uint32())
        guard count == pieces.count else { throw LatticeError.malformedInput("OLE request has \(count) ciphertexts, expected \(pieces.count)") }
        let needed = ctx.requestBytes(counts: counts)
        guard request.count >= needed else { throw LatticeError.truncatedMessage(expected: needed, actual: request.count) }
        // Request pieces by (vector, start): ciphertext index and c0.
        var c0s: [PolyRq<Eval>] = []
        for _ in pieces { c0s.append((try bfv.readPolynomial(from: &r) as PolyRq<Coeff>).forwardNTT()) }
        try r.expectEnd()
        var firstPiece = [Int](repeating: 0, count: counts.count)
        for (index, piece) in pieces.enumerated().reversed() where piece.start == 0 { firstPiece[piece.vector] = index }

        let rng = PRG(purpose: .rerandomisation)
        let groups = stride(from: 0, to: counts.count, by: terms).map { $0 }
        var shares = groups.map { [UInt64](repeating: 0, count: counts[$0]) }
        var w = MessageWriter(capacity: try ctx.responseBytes(counts: counts, primes: primes, terms: terms))
        LinearLayerMessage.writeHeader(&w, .oleResponse, fingerprint: ctx.fingerprint(counts: counts, primes: primes, terms: terms))
        let responsePieces = ctx.pieces(groups.map { counts[$0] })
        w.uint32(UInt32(responsePieces.count))
        for piece in responsePieces {
            let first = groups[piece.vector], j = primes[first], t = ctx.plaintextModuli[j]
            let widths = try ctx.widths(prime: j, terms: terms)
            // sum_i (c0_i, c1_i) p_i plus a fresh encryption of zero (b' r, a' r).
            let rerandomiser = PolyRq<Coeff>(context: bfv.ring, signed: (0..<n).map { _ in rng.ternary() }).forwardNTT()
            var firsts = [keys.keyB], seconds = [keys.keyA], products = [rerandomiser]
            for v in first..<(first + terms) {
                let index = firstPiece[v] + piece.start / n
                let slice = factors[v][piece.start..<(piece.start + piece.count)]
                guard slice.allSatisfy({ $0 < t.value }) else { throw LatticeError.malformedInput("OLE factor not below its prime \(t.value)") }
                let p = ctx.plaintextPolynomial(slice, prime: j)
                firsts.append(c0s[index])
                seconds.append(bfv.uniformHalf(seed: seed, index: UInt64(index)))
                products.append(PolyRq<Coeff>(context: bfv.ring, signed: p.data.map { t.centered($0) }).forwardNTT())
            }
            let (acc0, acc1) = PolyRq<Eval>.dotProducts(firsts, seconds, products)
            var d0 = acc0.inverseNTT(), d1 = acc1.inverseNTT()
            d0 += bfv.errorPolynomial(prg: rng)
            d1 += bfv.errorPolynomial(prg: rng)
            // u over all N slots (the unused ones too: their -u is all the client sees there).
            var u = [UInt64](repeating: 0, count: n)
            for k in 0..<n { u[k] = rng.uniform(below: t.value) }
            for k in 0..<piece.count { shares[piece.vector][piece.start + k] = u[k] }
            ctx.encoders[j].add(ctx.plaintextPolynomial(u[...], prime: j).data, to: &d0, subtracting: true)
            bfv.flood(&d0, bits: widths.floodBits, prg: rng)
            let switched = try bfv.switchModulus(Ciphertext(c0: d0, c1: d1), c0Bits: widths.c0Bits, c1Bits: widths.c1Bits)
            for v in switched.c1 { w.bits(v, width: widths.c1Bits) }
            for v in switched.c0 { w.bits(v, width: widths.c0Bits) }
            w.flushBits()
        }
        return (w.finish(), shares)
    }
}

extension BFVContext {
    /// Adds a uniform integer from [-2^bits, 2^bits) to each coefficient (at `positions`, or all).
    func flood(_ c0: inout PolyRq<Coeff>, bits: Int, prg: PRG, positions: [Int]? = nil) {
        let n = degree
        for pos in positions ?? Array(0..<n) {
            let f = Int128(bitPattern: prg.wideBits(bits + 1)) - (Int128(1) << Int128(bits))
            for i in 0..<moduli.count {
                let m = moduli[i]
                let mag = reduce128(f.magnitude, prime: i)
                c0.data[i * n + pos] = m.add(c0.data[i * n + pos], f < 0 ? m.negate(mag) : mag)
            }
        }
    }
}

/// Delta(m) = round(Q m / t) for a prime t in RNS, without multiprecision: with rho = (Q mod t) m mod t,
/// Q m = t floor(Q m / t) + rho, so round(Q m / t) = (Q m - rho + t [2 rho >= t]) / t, which modulo each q_i
/// (Q = 0 there) is (t [2 rho >= t] - rho) t^-1. `BFVContext.encode(_:plaintextModulus:)` is the
/// multiprecision reference.
struct PrimeEncoder: Sendable {
    let t: Modulus
    let qModT: UInt64
    let qModTShoup: UInt64
    let tInverse: [UInt64]
    let tInverseShoup: [UInt64]
    let tModQ: [UInt64]

    init(context: BFVContext, t: Modulus) throws {
        self.t = t
        qModT = Multiprecision.remainder(context.modulusLimbs, t)
        qModTShoup = t.shoupPrecompute(qModT)
        tInverse = try context.moduli.map { try $0.inverse($0.reduce(t.value)) }
        tInverseShoup = zip(context.moduli, tInverse).map { $0.shoupPrecompute($1) }
        tModQ = context.moduli.map { $0.reduce(t.value) }
    }

    /// Adds (or subtracts) Delta(m) to `poly`, m's coefficients below t.
    func add(_ m: [UInt64], to poly: inout PolyRq<Coeff>, subtracting: Bool = false) {
        let n = poly.context.degree, moduli = poly.context.moduli
        let half = t.value / 2
        poly.data.withUnsafeMutableBufferPointer { out in
            for j in 0..<min(n, m.count) {
                let rho = t.multiplyShoup(m[j], qModT, qModTShoup)
                let up = rho > half
                for i in moduli.indices {
                    let q = moduli[i]
                    // rho < t may exceed q_i (t and q_i are independent primes).
                    let numerator = q.subtract(up ? tModQ[i] : 0, q.reduce(rho))
                    let delta = q.multiplyShoup(numerator, tInverse[i], tInverseShoup[i])
                    out[i * n + j] = subtracting ? q.subtract(out[i * n + j], delta) : q.add(out[i * n + j], delta)
                }
            }
        }
    }
}

extension PrimeOLEContext {
    /// Delta(m) by the RNS encoder of plaintext prime j (what requests and responses use; for tests).
    public func encodeForTesting(_ m: [UInt64], prime j: Int) -> PolyRq<Coeff> {
        var p = PolyRq<Coeff>.zero(bfv.ring)
        encoders[j].add(m, to: &p)
        return p
    }
}
