// Word-sized modular arithmetic with precomputation.
// Barrett reduction: P. Barrett, "Implementing the Rivest Shamir and Adleman public key encryption
// algorithm on a standard digital signal processor", CRYPTO 1986. Shoup's fixed-operand multiplication
// as used in D. Harvey, "Faster arithmetic for number-theoretic transforms", J. Symb. Comp. 2014.

/// A modulus 2 <= q < 2^62 with Barrett and Shoup precomputation.
///
/// The bound 2^62 lets lazy algorithms keep values below 4q in one 64-bit word.
public struct Modulus: Sendable, Hashable, CustomStringConvertible {
    /// The modulus q.
    public let value: UInt64
    /// Bit length L of q (2^(L-1) <= q < 2^L).
    public let bitLength: Int
    /// floor(2^64 / q), for reducing one word.
    @usableFromInline let wordBarrett: UInt64
    /// floor(2^(2L) / q) < 2^(L+1), for reducing products of two residues.
    @usableFromInline let productBarrett: UInt64

    /// Creates a modulus; throws `ModularMathError.unsupportedModulus` outside 2 ..< 2^62.
    public init(_ value: UInt64) throws {
        guard value >= 2, value < (1 << 62) else { throw ModularMathError.unsupportedModulus(value) }
        self.value = value
        self.bitLength = 64 - value.leadingZeroBitCount
        self.wordBarrett = UInt64.max / value &+ (UInt64.max % value == value - 1 ? 1 : 0)
        let twoL = UInt128(1) << UInt128(2 * bitLength)
        self.productBarrett = UInt64(twoL / UInt128(value))
    }

    public var description: String { "Modulus(\(value))" }

    /// x mod q for any word x.
    @inlinable @inline(__always) public func reduce(_ x: UInt64) -> UInt64 {
        let qhat = x.multipliedFullWidth(by: wordBarrett).high
        var r = x &- qhat &* value
        if r >= value { r &-= value }
        return r
    }

    /// (high * 2^64 + low) mod q for any 128-bit value (slow path: hardware division).
    @inlinable public func reduce(high: UInt64, low: UInt64) -> UInt64 {
        value.dividingFullWidth((high % value, low)).remainder
    }

    /// a * b mod q for residues a, b < q (Barrett on the 128-bit product).
    @inlinable @inline(__always) public func multiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let p = a.multipliedFullWidth(by: b)
        let L = bitLength
        // t = floor(p / 2^(L-1)) < 2^(L+1); qhat = floor(t * mu / 2^(L+1)) is within 2 of p / q.
        let t = (p.high << UInt64(65 - L)) | (p.low >> UInt64(L - 1))
        let m = t.multipliedFullWidth(by: productBarrett)
        let qhat = (m.high << UInt64(63 - L)) | (m.low >> UInt64(L + 1))
        var r = p.low &- qhat &* value
        if r >= value { r &-= value }
        if r >= value { r &-= value }
        return r
    }

    /// a + b mod q for residues a, b < q.
    @inlinable @inline(__always) public func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let s = a &+ b
        return s >= value ? s &- value : s
    }

    /// a - b mod q for residues a, b < q.
    @inlinable @inline(__always) public func subtract(_ a: UInt64, _ b: UInt64) -> UInt64 {
        a >= b ? a &- b : a &+ value &- b
    }

    /// -a mod q for a residue a < q.
    @inlinable public func negate(_ a: UInt64) -> UInt64 { a == 0 ? 0 : value &- a }

    /// base^exponent mod q.
    public func power(_ base: UInt64, _ exponent: UInt64) -> UInt64 {
        var result: UInt64 = 1 % value
        var b = reduce(base)
        var e = exponent
        while e > 0 {
            if e & 1 == 1 { result = multiply(result, b) }
            b = multiply(b, b)
            e >>= 1
        }
        return result
    }

    /// The inverse of a modulo q (extended Euclid); throws when gcd(a, q) != 1.
    public func inverse(_ a: UInt64) throws -> UInt64 {
        var r0 = Int128(value), r1 = Int128(reduce(a))
        var t0: Int128 = 0, t1: Int128 = 1
        while r1 != 0 {
            let quotient = r0 / r1
            (r0, r1) = (r1, r0 - quotient * r1)
            (t0, t1) = (t1, t0 - quotient * t1)
        }
        guard r0 == 1 else { throw ModularMathError.notInvertible(value: a, modulus: value) }
        if t0 < 0 { t0 += Int128(value) }
        return UInt64(t0)
    }

    /// Shoup's precomputation for a fixed operand w < q: floor(w * 2^64 / q).
    @inlinable public func shoupPrecompute(_ w: UInt64) -> UInt64 {
        value.dividingFullWidth((w, 0)).quotient
    }

    /// x * w mod q in [0, 2q) for any word x, given w < q and wShoup = shoupPrecompute(w).
    @inlinable @inline(__always) public func multiplyShoupLazy(_ x: UInt64, _ w: UInt64, _ wShoup: UInt64) -> UInt64 {
        let qhat = x.multipliedFullWidth(by: wShoup).high
        return x &* w &- qhat &* value
    }

    /// x * w mod q in [0, q) for any word x, given w < q and wShoup = shoupPrecompute(w).
    @inlinable @inline(__always) public func multiplyShoup(_ x: UInt64, _ w: UInt64, _ wShoup: UInt64) -> UInt64 {
        let r = multiplyShoupLazy(x, w, wShoup)
        return r >= value ? r &- value : r
    }

    /// The signed representative of a residue: in (-q/2, q/2].
    @inlinable public func centered(_ a: UInt64) -> Int64 {
        a > value / 2 ? -Int64(value - a) : Int64(a)
    }

    /// The residue of a signed integer.
    @inlinable public func reduce(signed x: Int64) -> UInt64 {
        x >= 0 ? reduce(UInt64(x)) : negate(reduce(UInt64(bitPattern: 0 &- x)))
    }
}
