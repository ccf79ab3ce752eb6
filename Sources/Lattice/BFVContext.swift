// BFV context: the ring, exact RNS encoding Delta(m) = round(Q m / t) with t = 2^64 (Kim, Polyakov,
// Zucca, Asiacrypt 2021), and exact RNS decoding through the fractional part of x / Q, computed from
// the CRT identity x / Q = sum_i [x_i (Q/q_i)^-1]_{q_i} / q_i mod 1 in 128-bit fixed point.
// BFV: Fan and Vercauteren, "Somewhat Practical Fully Homomorphic Encryption", ePrint 2012/144.

import ModularMath

/// A BFV context over `HEParameters`, with plaintext modulus t = 2^64.
public final class BFVContext: Sendable {
    public let parameters: HEParameters
    public let ring: RingContext
    /// Q as little-endian limbs.
    public let modulusLimbs: [UInt64]
    /// log2 Q.
    public let logQ: Double
    let degree: Int
    let moduli: [Modulus]
    /// 2^(64 k) mod q_i, for k = 0 ... limbs: reducing multi-limb integers into each prime.
    let wordPowers: [[UInt64]]
    /// (Q / q_i)^-1 mod q_i and its Shoup companion.
    let crtInverse: [UInt64]
    let crtInverseShoup: [UInt64]
    /// floor(2^128 / q_i) and floor((2^128 mod q_i) * 2^64 / q_i): 2^128 * y / q_i in fixed point.
    let fracWhole: [UInt128]
    let fracRemainderShoup: [UInt64]
    /// (Q / q_i) mod 2^128, Q mod 2^128 and 1 / q_i: exact centered lifts of small values.
    let crtBasisLow: [UInt128]
    let modulusLow: UInt128
    let inversePrime: [Double]

    public init(parameters: HEParameters = .default) throws {
        self.parameters = parameters
        self.ring = try RingContext(degree: parameters.degree, primes: parameters.primes)
        self.degree = parameters.degree
        self.moduli = ring.moduli
        let qLimbs = Multiprecision.product(parameters.primes)
        self.modulusLimbs = qLimbs
        self.logQ = Multiprecision.log2(qLimbs)
        var wp: [[UInt64]] = []
        var inv: [UInt64] = [], invS: [UInt64] = []
        var fw: [UInt128] = [], frs: [UInt64] = []
        var basis: [UInt128] = []
        for m in moduli {
            let twoTo64 = m.reduce(high: 1, low: 0)
            var pw: [UInt64] = [1 % m.value]
            for _ in 0...qLimbs.count { pw.append(m.multiply(pw.last!, twoTo64)) }
            wp.append(pw)
            let others = parameters.primes.filter { $0 != m.value }
            let qHat = Multiprecision.product(others)
            let qHatMod = Multiprecision.remainder(qHat, m)
            let i = try m.inverse(qHatMod)
            inv.append(i)
            invS.append(m.shoupPrecompute(i))
            let q128 = UInt128(m.value)
            let whole = UInt128.max / q128
            let rem = UInt128.max % q128 + 1  // 2^128 mod q (q does not divide 2^128)
            let (wholeFixed, remFixed) = rem == q128 ? (whole + 1, UInt128(0)) : (whole, rem)
            fw.append(wholeFixed)
            frs.append(m.shoupPrecompute(UInt64(remFixed)))
            basis.append(Multiprecision.low128(qHat))
        }
        self.wordPowers = wp
        self.crtInverse = inv
        self.crtInverseShoup = invS
        self.fracWhole = fw
        self.fracRemainderShoup = frs
        self.crtBasisLow = basis
        self.modulusLow = Multiprecision.low128(qLimbs)
        self.inversePrime = parameters.primes.map { 1.0 / Double($0) }
    }

    // MARK: Encoding

    /// Delta(m) = round(Q * m / t) for every coefficient, t = 2^plaintextBits (m has at most N entries,
    /// each below t; missing ones are zero), computed exactly with multiprecision and reduced into each prime.
    public func encode(_ m: [UInt64], plaintextBits k: Int = 64) throws -> PolyRq<Coeff> {
        guard m.count <= degree else { throw LatticeError.shapeMismatch("\(m.count) plaintext values for degree \(degree)") }
        guard (1...64).contains(k) else { throw LatticeError.invalidParameters("plaintext modulus 2^\(k) must lie in 2^1...2^64") }
        var out = PolyRq<Coeff>.zero(ring)
        let limbs = modulusLimbs.count
        var prod = [UInt64](repeating: 0, count: limbs + 2)
        for j in 0..<m.count where m[j] != 0 {
            guard k == 64 || m[j] >> UInt64(k) == 0 else {
                throw LatticeError.malformedInput("plaintext value \(m[j]) is not below 2^\(k)")
            }
            // prod = Q * m[j] + 2^(k-1), then shifted right by k: round(Q m / 2^k).
            prod[limbs + 1] = 0
            modulusTimes(m[j], plus: 0, into: &prod)
            var l = 0, add: UInt64 = 1 << UInt64(k - 1)
            while add != 0 && l <= limbs { let (s, o) = prod[l].addingReportingOverflow(add); prod[l] = s; add = o ? 1 : 0; l += 1 }
            // Limb l of prod >> k.
            for l in 0...limbs { prod[l] = k == 64 ? prod[l + 1] : (prod[l] >> UInt64(k)) | (prod[l + 1] << UInt64(64 - k)) }
            writeResidues(of: prod[0...limbs], into: &out, at: j)
        }
        return out
    }

    /// Delta(m) = round(Q m / t) for a plaintext modulus t below 2^63 that need not be a power of two (a
    /// prime, for slot encoding: PrimeOLE), values below t: floor((Q m + floor(t / 2)) / t) in multiprecision.
    public func encode(_ m: [UInt64], plaintextModulus t: UInt64) throws -> PolyRq<Coeff> {
        guard m.count <= degree else { throw LatticeError.shapeMismatch("\(m.count) plaintext values for degree \(degree)") }
        guard t >= 2, t >> 63 == 0 else { throw LatticeError.invalidParameters("plaintext modulus \(t) must lie in 2...2^63") }
        var out = PolyRq<Coeff>.zero(ring)
        let limbs = modulusLimbs.count
        var prod = [UInt64](repeating: 0, count: limbs + 1)
        for j in 0..<m.count where m[j] != 0 {
            guard m[j] < t else { throw LatticeError.malformedInput("plaintext value \(m[j]) is not below \(t)") }
            modulusTimes(m[j], plus: t / 2, into: &prod)
            // Long division by t, top word first (each partial remainder stays below t).
            var remainder: UInt64 = 0
            for l in stride(from: limbs, through: 0, by: -1) {
                (prod[l], remainder) = t.dividingFullWidth((high: remainder, low: prod[l]))
            }
            writeResidues(of: prod[0...limbs], into: &out, at: j)
        }
        return out
    }

    /// prod[0...limbs] = Q m + add (add < 2^64), little-endian words.
    @inline(__always) func modulusTimes(_ m: UInt64, plus add: UInt64, into prod: inout [UInt64]) {
        var carry = add
        for l in 0..<modulusLimbs.count {
            let p = modulusLimbs[l].multipliedFullWidth(by: m)
            let (lo, o) = p.low.addingReportingOverflow(carry)
            prod[l] = lo
            carry = p.high &+ (o ? 1 : 0)
        }
        prod[modulusLimbs.count] = carry
    }

    /// The integer with these little-endian words, reduced into each prime at coefficient `position`.
    @inline(__always) func writeResidues(of words: ArraySlice<UInt64>, into out: inout PolyRq<Coeff>, at position: Int) {
        for (i, mod) in moduli.enumerated() {
            var acc: UInt64 = 0
            for (l, word) in words.enumerated() where word != 0 { acc = mod.add(acc, mod.multiply(mod.reduce(word), wordPowers[i][l])) }
            out.data[i * degree + position] = acc
        }
    }

    // MARK: Decoding helpers

    /// 2^128 * frac(x / Q) (up to a few units) for the integer x whose residues are `residues[i]`.
    @inline(__always) func fractionOfModulus(_ residue: (Int) -> UInt64) -> UInt128 {
        var phi: UInt128 = 0
        for i in 0..<moduli.count {
            let y = moduli[i].multiplyShoup(residue(i), crtInverse[i], crtInverseShoup[i])
            let whole = UInt128(y) &* fracWhole[i]
            let part = UInt128(y.multipliedFullWidth(by: fracRemainderShoup[i]).high)
            phi = phi &+ whole &+ part
        }
        return phi
    }

    /// round(t x / Q) mod t for the integer x with the given residues, t = 2^plaintextBits: decryption's rounding.
    @inline(__always) func roundToPlaintext(plaintextBits k: Int = 64, _ residue: (Int) -> UInt64) -> UInt64 {
        UInt64(truncatingIfNeeded: switchToPowerOfTwo(bits: k, residue))
    }

    /// Bit length L of Q.
    public var modulusBitLength: Int {
        let top = modulusLimbs.lastIndex { $0 != 0 }!
        return 64 * top + (64 - modulusLimbs[top].leadingZeroBitCount)
    }

    /// Two's-complement width of a request coefficient whose mask the request chose
    /// (LinearLayerClient.offlineRequest(choosingMaskFor:)): |c0| <= Q / (2t) + 1/2 < 2^(L - k - 1) + 1 for
    /// t = 2^k, so L - k + 1 bits (69 for the default 132-bit Q and k = 64); for a request switched to 2^b
    /// (ResponseWidths.requestBits), b - k + 1. nil where that would save nothing or exceed the 120 bits
    /// the exact lifts handle (tiny t).
    public func compactRequestBits(plaintextBits k: Int = 64, requestBits: Int? = nil) -> Int? {
        let b = requestBits ?? modulusBitLength
        let width = b - k + 1
        return width <= min(120, b - 1) ? width : nil
    }

    /// (2^bits)^-1 modulo each prime, for `switchBack`.
    public func powerOfTwoInverses(bits: Int) throws -> [UInt64] {
        try moduli.enumerated().map { i, m in try m.inverse(reduce128(UInt128(1) << UInt128(bits), prime: i)) }
    }

    /// round(Q v / 2^bits) mod Q for v < 2^bits <= 2^120 (a coefficient switched to 2^bits, switched back),
    /// written as its residues into coefficient `position` of `poly`, from the low bits alone: with
    /// Q v + 2^(bits-1) = y 2^bits + rho (0 <= rho < 2^bits) and Q = 0 mod q_i,
    /// y = (2^(bits-1) - rho) (2^bits)^-1 mod q_i, and rho needs only Q mod 2^128. `inverses`:
    /// `powerOfTwoInverses(bits:)`. `switchBackReference` computes y in multiprecision.
    @inline(__always) public func switchBack(_ v: UInt128, bits: Int, inverses: [UInt64], into poly: inout PolyRq<Coeff>, position: Int) {
        let half = UInt128(1) << UInt128(bits - 1)
        let rho = (modulusLow &* v &+ half) & ((half << 1) - 1)
        let negative = rho > half
        let magnitude = negative ? rho - half : half - rho
        for i in 0..<moduli.count {
            let m = moduli[i]
            let r = reduce128(magnitude, prime: i)
            poly.data[i * degree + position] = m.multiply(negative ? m.negate(r) : r, inverses[i])
        }
    }

    /// The same in multiprecision: Q v + 2^(bits-1) shifted right by bits, reduced into each prime.
    public func switchBackReference(_ v: UInt128, bits: Int, into poly: inout PolyRq<Coeff>, position: Int) {
        let limbs = modulusLimbs.count
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: limbs + 3) { prod in
            // prod = Q * v (limbs + 2 words) + 2^(bits - 1), then >> bits.
            prod.initialize(repeating: 0)
            for vi in 0..<2 {
                let word = UInt64(truncatingIfNeeded: v >> UInt128(64 * vi))
                if word == 0 { continue }
                var carry: UInt64 = 0
                for l in 0..<limbs {
                    let p = modulusLimbs[l].multipliedFullWidth(by: word)
                    let (lo1, o1) = p.low.addingReportingOverflow(prod[l + vi])
                    let (lo2, o2) = lo1.addingReportingOverflow(carry)
                    prod[l + vi] = lo2
                    carry = p.high &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0)
                }
                var l = limbs + vi
                while carry != 0 { let (s, o) = prod[l].addingReportingOverflow(carry); prod[l] = s; carry = o ? 1 : 0; l += 1 }
            }
            var l = (bits - 1) / 64, add: UInt64 = 1 << UInt64((bits - 1) % 64)
            while add != 0 { let (s, o) = prod[l].addingReportingOverflow(add); prod[l] = s; add = o ? 1 : 0; l += 1 }
            let wordShift = bits / 64, bitShift = UInt64(bits % 64)
            for (i, mod) in moduli.enumerated() {
                var acc: UInt64 = 0
                for w in 0...limbs where w + wordShift < limbs + 3 {
                    let hi = w + wordShift + 1 < limbs + 3 ? prod[w + wordShift + 1] : 0
                    let word = bitShift == 0 ? prod[w + wordShift] : (prod[w + wordShift] >> bitShift) | (hi << (64 - bitShift))
                    if word != 0 { acc = mod.add(acc, mod.multiply(mod.reduce(word), wordPowers[i][w])) }
                }
                poly.data[i * degree + position] = acc
            }
        }
    }

    /// The integer X with |X| < Q / 2 and the given residues, modulo 2^128 (exact when |X| < Q / 4,
    /// which is how it is used: small noise and small products).
    @inline(__always) func centeredLiftLow128(_ residue: (Int) -> UInt64) -> UInt128 {
        var acc: UInt128 = 0
        var frac = 0.0
        for i in 0..<moduli.count {
            let y = moduli[i].multiplyShoup(residue(i), crtInverse[i], crtInverseShoup[i])
            acc = acc &+ UInt128(y) &* crtBasisLow[i]
            frac += Double(y) * inversePrime[i]
        }
        let kappa = UInt128((frac).rounded(.toNearestOrEven))
        return acc &- kappa &* modulusLow
    }

    /// round(2^bits * x / Q) mod 2^bits for the integer x with the given residues (bits <= 127).
    @inline(__always) func switchToPowerOfTwo(bits: Int, _ residue: (Int) -> UInt64) -> UInt128 {
        let phi = fractionOfModulus(residue)
        let shift = UInt128(128 - bits)
        let rounded = (phi >> shift) &+ ((phi >> (shift - 1)) & 1)
        return rounded & ((UInt128(1) << UInt128(bits)) - 1)
    }
}
