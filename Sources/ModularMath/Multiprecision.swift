// Small unsigned multiprecision integers as little-endian arrays of 64-bit limbs: just what exact RNS
// encoding and decoding need (products of a few primes times a word, reduction by one word modulus).

/// Unsigned multiprecision helpers on little-endian limb arrays (`limbs[0]` is the least significant).
public enum Multiprecision {
    /// The product of the given words as limbs.
    public static func product(_ factors: [UInt64]) -> [UInt64] {
        var acc: [UInt64] = [1]
        for f in factors { acc = multiply(acc, by: f) }
        return normalized(acc)
    }

    /// a * w.
    public static func multiply(_ a: [UInt64], by w: UInt64) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: a.count + 1)
        var carry: UInt64 = 0
        for i in 0..<a.count {
            let p = a[i].multipliedFullWidth(by: w)
            let (lo, o) = p.low.addingReportingOverflow(carry)
            out[i] = lo
            carry = p.high &+ (o ? 1 : 0)
        }
        out[a.count] = carry
        return out
    }

    /// a + b.
    public static func add(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        let n = max(a.count, b.count)
        var out = [UInt64](repeating: 0, count: n + 1)
        var carry: UInt64 = 0
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            let (s1, o1) = x.addingReportingOverflow(y)
            let (s2, o2) = s1.addingReportingOverflow(carry)
            out[i] = s2
            carry = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
        out[n] = carry
        return normalized(out)
    }

    /// a - b; requires a >= b.
    public static func subtract(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        precondition(compare(a, b) >= 0, "Multiprecision.subtract needs a >= b")
        var out = a
        var borrow: UInt64 = 0
        for i in 0..<a.count {
            let y = i < b.count ? b[i] : 0
            let (d1, o1) = a[i].subtractingReportingOverflow(y)
            let (d2, o2) = d1.subtractingReportingOverflow(borrow)
            out[i] = d2
            borrow = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
        return normalized(out)
    }

    /// -1, 0 or 1 as a <, ==, > b.
    public static func compare(_ a: [UInt64], _ b: [UInt64]) -> Int {
        let a = normalized(a), b = normalized(b)
        if a.count != b.count { return a.count < b.count ? -1 : 1 }
        for i in stride(from: a.count - 1, through: 0, by: -1) where a[i] != b[i] {
            return a[i] < b[i] ? -1 : 1
        }
        return 0
    }

    /// a mod m.
    public static func remainder(_ a: [UInt64], _ m: Modulus) -> UInt64 {
        var r: UInt64 = 0
        for limb in a.reversed() { r = m.reduce(high: r, low: limb) }
        return r
    }

    /// floor(a / 2^bits).
    public static func shiftedRight(_ a: [UInt64], by bits: Int) -> [UInt64] {
        let words = bits / 64, rest = bits % 64
        guard words < a.count else { return [0] }
        var out = [UInt64](repeating: 0, count: a.count - words)
        for i in 0..<out.count {
            let lo = a[i + words] >> UInt64(rest)
            let hi: UInt64 = (rest != 0 && i + words + 1 < a.count) ? a[i + words + 1] << UInt64(64 - rest) : 0
            out[i] = lo | hi
        }
        return normalized(out)
    }

    /// Number of significant bits.
    public static func bitLength(_ a: [UInt64]) -> Int {
        let a = normalized(a)
        guard let top = a.last, top != 0 else { return 0 }
        return (a.count - 1) * 64 + 64 - top.leadingZeroBitCount
    }

    /// log2(a) as a Double (for reporting sizes).
    public static func log2(_ a: [UInt64]) -> Double {
        var x = 0.0
        for limb in a.reversed() { x = x * 18446744073709551616.0 + Double(limb) }
        return _log2(x)
    }

    /// Drops leading zero limbs (keeping at least one limb).
    public static func normalized(_ a: [UInt64]) -> [UInt64] {
        var a = a
        while a.count > 1 && a.last == 0 { a.removeLast() }
        if a.isEmpty { a = [0] }
        return a
    }

    /// The low 128 bits of a.
    public static func low128(_ a: [UInt64]) -> UInt128 {
        let lo = a.count > 0 ? a[0] : 0
        let hi = a.count > 1 ? a[1] : 0
        return UInt128(hi) << 64 | UInt128(lo)
    }
}

@inline(__always) private func _log2(_ x: Double) -> Double {
    // log2 without Foundation: exponent plus a series for the mantissa is overkill; use the identity
    // log2(x) = ln(x) / ln(2) with the standard library's natural logarithm where available.
    guard x > 0 else { return -Double.infinity }
    var e = 0.0, m = x
    while m >= 2 { m /= 2; e += 1 }
    while m < 1 { m *= 2; e -= 1 }
    // ln(m) for m in [1, 2) by atanh series.
    let y = (m - 1) / (m + 1), y2 = y * y
    var term = y, sum = 0.0
    var k = 1.0
    for _ in 0..<40 { sum += term / k; term *= y2; k += 2 }
    return e + 2 * sum / 0.6931471805599453
}
