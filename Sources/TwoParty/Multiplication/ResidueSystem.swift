// A residue number system over a few primes (the batched OLE's plaintext primes, PrimeOLE): reduction of
// signed coefficients into each prime, and the way back from residues to a 64-bit share of the integer
// they represent, shifted right (OneRoundPolynomial's output). Multiprecision is fixed at four 64-bit
// limbs (at most four primes in [2^14, 2^50): CKernels' products and reductions modulo t_j need that).
import CKernels
import ModularMath

public struct ResidueSystem: Sendable {
    public let moduli: [Modulus]
    /// 2^64 mod t_j.
    let twoTo64: [UInt64]
    /// (T / t_j)^-1 mod t_j and its Shoup companion.
    let inverses: [UInt64]
    let inversesShoup: [UInt64]
    /// T / t_j and T, four little-endian limbs each.
    let cofactors: [[UInt64]]
    let product: [UInt64]
    /// The primes, 1 / t_j, bit lengths, cofactors and T flat: the kernels' arguments.
    let primes: [UInt64]
    let inversePrimes: [Double]
    let bitLengths: [Int32]
    let flatCofactors: [UInt64]
    /// Bit length of T minus 42: |Z| < 2^rangeBits keeps the lift's failure below 2^-41 (OneRoundPolynomial).
    public let rangeBits: Int

    public init(primes: [UInt64]) throws {
        // Below 2^50 and at least 2^14: the kernels' double-precision quotient of a 64-bit value by t is within
        // one of the true quotient only while x / t < 2^51 (relative error 3 2^-53).
        func supported(_ t: UInt64) -> Bool { t >> 50 == 0 && t >> 14 != 0 }
        guard (1...4).contains(primes.count), primes.allSatisfy(supported), Set(primes).count == primes.count else {
            throw ModularMathError.unsupportedModulus(primes.first { !supported($0) } ?? primes.first ?? 0)
        }
        self.primes = primes
        inversePrimes = primes.map { 1 / Double($0) }
        moduli = try primes.map { try Modulus($0) }
        twoTo64 = moduli.map { $0.reduce(high: 1, low: 0) }
        let all = Multiprecision.product(primes)
        product = Self.limbs(all)
        cofactors = primes.map { p in Self.limbs(Multiprecision.product(primes.filter { $0 != p })) }
        inverses = try zip(moduli, cofactors).map { m, c in try m.inverse(Multiprecision.remainder(c, m)) }
        inversesShoup = zip(moduli, inverses).map { $0.shoupPrecompute($1) }
        rangeBits = Multiprecision.bitLength(all) - 42
        bitLengths = moduli.map { Int32($0.bitLength) }
        flatCofactors = cofactors.flatMap { $0 }
    }

    /// `shiftedShare` for `count` elements at once (residues[j * count + k]), plus adding[k] (CKernels'
    /// cpolyring_shifted_shares).
    public func shiftedShares(_ residues: [UInt64], count: Int, shift: Int, server: Bool, adding: [UInt64], vector: Bool = true) -> [UInt64] {
        precondition(residues.count == moduli.count * count && adding.count == count && (0..<192).contains(shift))
        var out = [UInt64](repeating: 0, count: count)
        cpolyring_shifted_shares(count, Int32(moduli.count), primes, inversePrimes, inverses, flatCofactors, product,
                                 residues, Int32(shift), server ? 1 : 0, adding, &out, vector ? 1 : 0)
        return out
    }

    static func limbs(_ a: [UInt64]) -> [UInt64] {
        Array((a + [UInt64](repeating: 0, count: 4)).prefix(4))
    }

    /// An integer in [-2^127, 2^127) modulo t.
    public func reduce(signed x: Int128, modulo t: Modulus) -> UInt64 {
        let m = x.magnitude
        let r = t.reduce(high: t.reduce(UInt64(truncatingIfNeeded: m >> 64)), low: UInt64(truncatingIfNeeded: m))
        return x < 0 ? t.negate(r) : r
    }

    /// The integer in [0, T) with residues residue(j), as four limbs (CRT: sum_j [r_j (T/t_j)^-1]_(t_j) T/t_j,
    /// less T at most (primes - 1) times).
    @inline(__always) func combine(_ residue: (Int) -> UInt64) -> (UInt64, UInt64, UInt64, UInt64) {
        var acc: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        for j in moduli.indices {
            let y = moduli[j].multiplyShoup(residue(j), inverses[j], inversesShoup[j])
            let c = cofactors[j]
            var carry: UInt64 = 0
            func step(_ limb: inout UInt64, _ word: UInt64) {
                let p = word.multipliedFullWidth(by: y)
                let (s1, o1) = limb.addingReportingOverflow(p.low)
                let (s2, o2) = s1.addingReportingOverflow(carry)
                limb = s2
                carry = p.high &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0)
            }
            step(&acc.0, c[0]); step(&acc.1, c[1]); step(&acc.2, c[2]); step(&acc.3, c[3])
        }
        while !Self.less(acc, product) { acc = Self.subtract(acc, product) }
        return acc
    }

    @inline(__always) static func less(_ a: (UInt64, UInt64, UInt64, UInt64), _ b: [UInt64]) -> Bool {
        if a.3 != b[3] { return a.3 < b[3] }
        if a.2 != b[2] { return a.2 < b[2] }
        if a.1 != b[1] { return a.1 < b[1] }
        return a.0 < b[0]
    }

    /// a - b modulo 2^256.
    @inline(__always) static func subtract(_ a: (UInt64, UInt64, UInt64, UInt64), _ b: [UInt64]) -> (UInt64, UInt64, UInt64, UInt64) {
        let (d0, o0) = a.0.subtractingReportingOverflow(b[0])
        let (e1, p1) = a.1.subtractingReportingOverflow(b[1])
        let (d1, q1) = e1.subtractingReportingOverflow(o0 ? 1 : 0)
        let (e2, p2) = a.2.subtractingReportingOverflow(b[2])
        let (d2, q2) = e2.subtractingReportingOverflow((p1 || q1) ? 1 : 0)
        let (e3, _) = a.3.subtractingReportingOverflow(b[3])
        let (d3, _) = e3.subtractingReportingOverflow((p2 || q2) ? 1 : 0)
        return (d0, d1, d2, d3)
    }

    /// A party's 64-bit share of Z >> shift from its residues of Z (OneRoundPolynomial): the client's
    /// integer share is its CRT value tau in [0, T), the server's sigma - T; each is shifted right (floor,
    /// in two's complement) and reduced modulo 2^64. shift < 192.
    @inline(__always) public func shiftedShare(of residue: (Int) -> UInt64, shift: Int, server: Bool) -> UInt64 {
        var v = combine(residue)
        if server { v = Self.subtract(v, product) }
        let bit = UInt64(shift % 64)
        let (low, high): (UInt64, UInt64)
        switch shift / 64 {
        case 0: (low, high) = (v.0, v.1)
        case 1: (low, high) = (v.1, v.2)
        default: (low, high) = (v.2, v.3)
        }
        return bit == 0 ? low : (low >> bit) | (high << (64 - bit))
    }
}

extension AESPRG {
    /// `count` uniform residues below q (rejection sampling on q's bit length, from batched blocks).
    public mutating func uniform(count: Int, below q: UInt64) -> [UInt64] {
        let width = 64 - q.leadingZeroBitCount
        let mask = width == 64 ? UInt64.max : (UInt64(1) << UInt64(width)) - 1
        var out: [UInt64] = []
        out.reserveCapacity(count)
        var buffer = [UInt64](repeating: 0, count: 2 * max(64, count / 2 + 16))
        while out.count < count {
            buffer.withUnsafeMutableBytes { fillBytes($0) }
            for v in buffer where out.count < count {
                let x = v & mask
                if x < q { out.append(x) }
            }
        }
        return out
    }
}
