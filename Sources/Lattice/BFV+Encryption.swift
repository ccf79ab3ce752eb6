// BFV secret-key encryption with seeded uniform halves, plaintext products, decryption and noise
// measurement. (Fan-Vercauteren, ePrint 2012/144; seeded halves as in Kyber/SEAL's "seeded"
// ciphertexts: c1 = a is expanded from a public seed, so only c0 and the seed travel.)

import ModularMath

/// A ternary secret key s in R_Q (kept by the client).
public struct SecretKey: Sendable {
    /// Coefficients in {-1, 0, 1}.
    public let coefficients: [Int8]
    /// s in evaluation form.
    public let eval: PolyRq<Eval>

    /// A uniform ternary key drawn from `prg` (use a PRG seeded from the OS CSPRNG).
    public init(context: BFVContext, prg: PRG) {
        let n = context.parameters.degree
        let s = (0..<n).map { _ in Int8(prg.ternary()) }
        coefficients = s
        eval = PolyRq<Coeff>(context: context.ring, signed: s.map { Int64($0) }).forwardNTT()
    }

    /// A fresh key from the OS CSPRNG.
    public init(context: BFVContext) {
        self.init(context: context, prg: PRG(purpose: .secret))
    }
}

/// A BFV ciphertext (c0, c1) with c0 + c1 * s = Delta(m) + e.
public struct Ciphertext<F: PolyFormat>: Sendable {
    public var c0: PolyRq<F>
    public var c1: PolyRq<F>

    public init(c0: PolyRq<F>, c1: PolyRq<F>) {
        precondition(c0.context === c1.context)
        self.c0 = c0
        self.c1 = c1
    }

    public static func += (a: inout Ciphertext<F>, b: Ciphertext<F>) { a.c0 += b.c0; a.c1 += b.c1 }
    public static func + (a: Ciphertext<F>, b: Ciphertext<F>) -> Ciphertext<F> { var c = a; c += b; return c }
}

extension Ciphertext where F == Coeff {
    public func forwardNTT() -> Ciphertext<Eval> { Ciphertext<Eval>(c0: c0.forwardNTT(), c1: c1.forwardNTT()) }
}

extension Ciphertext where F == Eval {
    public func inverseNTT() -> Ciphertext<Coeff> { Ciphertext<Coeff>(c0: c0.inverseNTT(), c1: c1.inverseNTT()) }

    /// The product with a plaintext polynomial in evaluation form (see `BFVContext.plaintext`).
    public static func * (a: Ciphertext<Eval>, p: PolyRq<Eval>) -> Ciphertext<Eval> {
        Ciphertext(c0: a.c0 * p, c1: a.c1 * p)
    }
}

extension BFVContext {
    /// The uniform half a in evaluation form, expanded from `seed` for ciphertext `index`.
    public func uniformHalf(seed: PRGSeed, index: UInt64, purpose: PRGPurpose = .uniformHalf) -> PolyRq<Eval> {
        let prg = PRG(seed: seed, purpose: purpose, index: index)
        var a = PolyRq<Eval>.zero(ring)
        for (i, m) in moduli.enumerated() {
            let q = m.value
            for j in 0..<degree { a.data[i * degree + j] = prg.uniform(below: q) }
        }
        return a
    }

    /// An error polynomial with centered binomial coefficients (parameter eta) from `prg`.
    public func errorPolynomial(prg: PRG) -> PolyRq<Coeff> {
        let eta = parameters.errorEta
        return PolyRq<Coeff>(context: ring, signed: (0..<degree).map { _ in prg.centeredBinomial(eta: eta) })
    }

    /// c0 = -a * s + e + Delta(m) for the seeded uniform half a (evaluation form), t = 2^plaintextBits.
    public func encryptC0(_ m: [UInt64], plaintextBits: Int = 64, secretKey: SecretKey, a: PolyRq<Eval>, noise: PRG) throws -> PolyRq<Coeff> {
        var c0 = try encode(m, plaintextBits: plaintextBits)
        c0 += errorPolynomial(prg: noise)
        c0 -= (a * secretKey.eval).inverseNTT()
        return c0
    }

    /// Secret-key encryption of m (at most N values in Z_(2^64), one per coefficient) with the uniform
    /// half expanded from (seed, index); `noise` draws the error (a PRG seeded from the OS CSPRNG).
    public func encrypt(_ m: [UInt64], secretKey: SecretKey, seed: PRGSeed, index: UInt64,
                        noise: PRG = PRG(purpose: .error)) throws -> Ciphertext<Coeff> {
        let a = uniformHalf(seed: seed, index: index)
        let c0 = try encryptC0(m, secretKey: secretKey, a: a, noise: noise)
        return Ciphertext(c0: c0, c1: a.inverseNTT())
    }

    /// A plaintext polynomial with small signed integer coefficients (weights), in evaluation form, for
    /// products with ciphertexts: Enc(m) * w decrypts to m * w mod (X^N + 1, 2^64).
    public func plaintext(weights: [Int64]) throws -> PolyRq<Eval> {
        guard weights.count <= degree else { throw LatticeError.shapeMismatch("\(weights.count) weights for degree \(degree)") }
        var w = weights
        w += [Int64](repeating: 0, count: degree - w.count)
        return PolyRq<Coeff>(context: ring, signed: w).forwardNTT()
    }

    /// c0 + c1 * s in coefficient form.
    func phase(_ ct: Ciphertext<Coeff>, secretKey: SecretKey) -> PolyRq<Coeff> {
        ct.c0 + (ct.c1.forwardNTT() * secretKey.eval).inverseNTT()
    }

    /// Decrypts to N values in Z_(2^64): round(t * (c0 + c1 s) / Q) mod t.
    public func decrypt(_ ct: Ciphertext<Coeff>, secretKey: SecretKey) -> [UInt64] {
        let v = phase(ct, secretKey: secretKey)
        let n = degree
        return (0..<n).map { j in roundToPlaintext { v.data[$0 * n + j] } }
    }

    /// The noise c0 + c1 s - Delta(expected) as signed integers (exact while |noise| < Q / 4).
    public func noise(_ ct: Ciphertext<Coeff>, secretKey: SecretKey, expected: [UInt64]) throws -> [Int128] {
        var v = phase(ct, secretKey: secretKey)
        v -= try encode(expected)
        let n = degree
        return (0..<n).map { j in Int128(bitPattern: centeredLiftLow128 { v.data[$0 * n + j] }) }
    }

    /// log2 of the largest noise magnitude (for comparing with a bound).
    public func noiseBits(_ ct: Ciphertext<Coeff>, secretKey: SecretKey, expected: [UInt64]) throws -> Double {
        let e = try noise(ct, secretKey: secretKey, expected: expected)
        let mx = e.map { $0.magnitude }.max() ?? 0
        return mx == 0 ? -1 : log2(mx)
    }

    /// Noise bound of a fresh encryption: eta (centered binomial errors are bounded by eta).
    public var freshNoiseBound: Double { Double(parameters.errorEta) }

    /// log2 of the largest noise decryption tolerates before modulus switching: Q / (2t) - 1.
    public var noiseCeilingBits: Double { logQ - 65 }
}

/// log2 of an unsigned 128-bit integer as a Double.
func log2(_ x: UInt128) -> Double {
    Multiprecision.log2([UInt64(truncatingIfNeeded: x), UInt64(truncatingIfNeeded: x >> 64)])
}

/// Negacyclic product of two integer polynomials modulo 2^64 (the plaintext-side reference).
public func negacyclicProductMod64Reference(_ a: [UInt64], _ b: [Int64]) -> [UInt64] {
    precondition(a.count == b.count)
    let n = a.count
    var out = [UInt64](repeating: 0, count: n)
    for j in 0..<n where b[j] != 0 {
        let w = UInt64(bitPattern: b[j])
        for i in 0..<n {
            let p = a[i] &* w
            let k = i + j
            if k < n { out[k] &+= p } else { out[k - n] &-= p }
        }
    }
    return out
}
