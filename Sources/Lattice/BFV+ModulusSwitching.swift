// Modulus switching to power-of-two moduli (Brakerski-Vaikuntanathan, FOCS 2011, "Efficient fully
// homomorphic encryption from (standard) LWE", section 4; Cheetah's response compression): c0 and c1
// are rounded separately to 2^c0Bits and 2^c1Bits, and only the c0 coefficients the client needs are
// kept. Rounding uses the fractional part of x / Q from the RNS residues (see BFVContext).

import ModularMath

/// A ciphertext switched to c0 mod 2^c0Bits (at chosen positions) and c1 mod 2^c1Bits.
public struct SwitchedCiphertext: Sendable, Equatable {
    public let c0Bits: Int
    public let c1Bits: Int
    /// Coefficient positions whose c0 is kept.
    public let positions: [Int]
    /// round(2^c0Bits c0[p] / Q) mod 2^c0Bits for p in `positions`.
    public let c0: [UInt128]
    /// round(2^c1Bits c1 / Q) mod 2^c1Bits, all N coefficients.
    public let c1: [UInt128]

    /// Checks widths (3 ... 127 bits), positions and value ranges.
    public init(c0Bits: Int, c1Bits: Int, positions: [Int], c0: [UInt128], c1: [UInt128]) throws {
        guard (3...127).contains(c0Bits), (3...127).contains(c1Bits) else {
            throw LatticeError.malformedInput("switched widths \(c0Bits), \(c1Bits) must lie in 3...127")
        }
        guard positions.count == c0.count, positions.allSatisfy({ $0 >= 0 && $0 < c1.count }) else {
            throw LatticeError.malformedInput("c0 positions do not match the ciphertext")
        }
        guard c0.allSatisfy({ $0 >> UInt128(c0Bits) == 0 }), c1.allSatisfy({ $0 >> UInt128(c1Bits) == 0 }) else {
            throw LatticeError.malformedInput("switched coefficient exceeds its width")
        }
        self.c0Bits = c0Bits
        self.c1Bits = c1Bits
        self.positions = positions
        self.c0 = c0
        self.c1 = c1
    }
}

extension BFVContext {
    /// Switches a ciphertext to power-of-two moduli, keeping c0 only at `positions` (all when nil).
    public func switchModulus(_ ct: Ciphertext<Coeff>, c0Bits: Int, c1Bits: Int, positions: [Int]? = nil) throws -> SwitchedCiphertext {
        let n = degree
        let pos = positions ?? Array(0..<n)
        let c0 = pos.map { p in switchToPowerOfTwo(bits: c0Bits) { ct.c0.data[$0 * n + p] } }
        let c1 = (0..<n).map { j in switchToPowerOfTwo(bits: c1Bits) { ct.c1.data[$0 * n + j] } }
        return try SwitchedCiphertext(c0Bits: c0Bits, c1Bits: c1Bits, positions: pos, c0: c0, c1: c1)
    }

    /// Decrypts a switched ciphertext at its kept positions: round(t (c0 / 2^b0 + c1 s / 2^b1)) mod t for
    /// t = 2^plaintextBits (both widths above it).
    public func decrypt(_ ct: SwitchedCiphertext, secretKey: SecretKey, plaintextBits k: Int = 64) throws -> [UInt64] {
        guard (1...64).contains(k), ct.c0Bits > k, ct.c1Bits > k else {
            throw LatticeError.invalidParameters("switched widths \(ct.c0Bits), \(ct.c1Bits) must exceed the plaintext's \(k) bits")
        }
        let (phases, top) = try switchedPhases(ct, secretKey: secretKey)
        let shift = UInt128(top - k)
        let plainMask: UInt128 = (UInt128(1) << UInt128(k)) - 1
        return phases.map { v in UInt64(truncatingIfNeeded: ((v >> shift) &+ ((v >> (shift - 1)) & 1)) & plainMask) }
    }

    /// The same for a prime plaintext modulus t (below 2^63, both widths above its bit length):
    /// round(t v / 2^top) mod t for the phase v modulo 2^top.
    public func decrypt(_ ct: SwitchedCiphertext, secretKey: SecretKey, plaintextModulus t: Modulus) throws -> [UInt64] {
        guard t.bitLength < 63, ct.c0Bits > t.bitLength, ct.c1Bits > t.bitLength else {
            throw LatticeError.invalidParameters("switched widths \(ct.c0Bits), \(ct.c1Bits) must exceed the plaintext's \(t.bitLength) bits")
        }
        let (phases, top) = try switchedPhases(ct, secretKey: secretKey)
        let half = UInt128(1) << UInt128(top - 1)
        return phases.map { v in
            // t v + 2^(top-1) < 2^(63 + 127): its bits from top up, as a 192-bit product.
            let (high, low) = v.multipliedFullWidth(by: UInt128(t.value))
            let (sum, carry) = low.addingReportingOverflow(half)
            let h = high &+ (carry ? 1 : 0)
            let quotient = top == 128 ? h : (h << UInt128(128 - top)) | (sum >> UInt128(top))
            return UInt64(quotient % UInt128(t.value))
        }
    }

    /// c0 2^(top - b0) + (c1 s) 2^(top - b1) mod 2^top at the kept positions, top = max(b0, b1). The integer
    /// product c1 s (below N 2^c1Bits << Q / 4) is computed exactly modulo Q and lifted.
    func switchedPhases(_ ct: SwitchedCiphertext, secretKey: SecretKey) throws -> (phases: [UInt128], top: Int) {
        let n = degree
        guard ct.c1.count == n else { throw LatticeError.shapeMismatch("switched ciphertext has \(ct.c1.count) coefficients, degree is \(n)") }
        guard Double(ct.c1Bits) + log2(UInt128(n)) + 2 < logQ else {
            throw LatticeError.invalidParameters("c1 width \(ct.c1Bits) too large for exact products modulo Q")
        }
        var c1 = PolyRq<Coeff>.zero(ring)
        for j in 0..<n {
            let v = ct.c1[j]
            for i in 0..<moduli.count { c1.data[i * n + j] = reduce128(v, prime: i) }
        }
        let prod = (c1.forwardNTT() * secretKey.eval).inverseNTT()
        let top = max(ct.c0Bits, ct.c1Bits)
        let mask: UInt128 = top == 128 ? .max : (UInt128(1) << UInt128(top)) - 1
        let phases = ct.positions.enumerated().map { index, pos in
            let x = centeredLiftLow128 { prod.data[$0 * n + pos] }
            return ((ct.c0[index] << UInt128(top - ct.c0Bits)) &+ (x << UInt128(top - ct.c1Bits))) & mask
        }
        return (phases, top)
    }
}
