// Primality and NTT-friendly primes. Deterministic Miller-Rabin for 64-bit integers with the first
// twelve prime bases (Jaeschke 1993; Sorenson and Webster 2015 show they suffice below 3.3 * 10^24).

extension Modulus {
    /// Whether n is prime (deterministic for every 64-bit n).
    public static func isPrime(_ n: UInt64) -> Bool {
        if n < 2 { return false }
        let small: [UInt64] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37]
        for p in small where n % p == 0 { return n == p }
        var d = n - 1
        var s = 0
        while d & 1 == 0 { d >>= 1; s += 1 }
        func mulmod(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let p = a.multipliedFullWidth(by: b)
            return n.dividingFullWidth((p.high, p.low)).remainder
        }
        func powmod(_ b: UInt64, _ e: UInt64) -> UInt64 {
            var r: UInt64 = 1, b = b % n, e = e
            while e > 0 {
                if e & 1 == 1 { r = mulmod(r, b) }
                b = mulmod(b, b)
                e >>= 1
            }
            return r
        }
        witness: for a in small {
            var x = powmod(a, d)
            if x == 1 || x == n - 1 { continue }
            for _ in 1..<max(s, 1) {
                x = mulmod(x, x)
                if x == n - 1 { continue witness }
            }
            return false
        }
        return true
    }

    /// The `count` largest primes q < 2^bits with q = 1 mod 2 * degree (so that Z_q has the 2N-th
    /// roots of unity a negacyclic NTT of size N needs), in decreasing order.
    public static func nttPrimes(bits: Int, count: Int, degree: Int) throws -> [UInt64] {
        precondition(bits >= 4 && bits <= 62 && degree >= 1 && degree.nonzeroBitCount == 1)
        let step = UInt64(2 * degree)
        let top = UInt64(1) << UInt64(bits)
        let bottom = UInt64(1) << UInt64(bits - 1)
        var result: [UInt64] = []
        guard top > step else { throw ModularMathError.notEnoughPrimes(bits: bits, degree: degree, found: 0, wanted: count) }
        var candidate = top - step + 1
        while result.count < count && candidate > bottom {
            if isPrime(candidate) { result.append(candidate) }
            if candidate < step { break }
            candidate -= step
        }
        guard result.count == count else {
            throw ModularMathError.notEnoughPrimes(bits: bits, degree: degree, found: result.count, wanted: count)
        }
        return result
    }

    /// A primitive (2 * degree)-th root of unity modulo this prime (requires q = 1 mod 2 * degree).
    /// Returns the smallest such root, so that both parties derive the same one.
    public func primitiveRoot(order: Int) throws -> UInt64 {
        let m = UInt64(order)
        guard m.nonzeroBitCount == 1, (value - 1) % m == 0 else {
            throw ModularMathError.notEnoughPrimes(bits: bitLength, degree: order / 2, found: 0, wanted: 1)
        }
        var best: UInt64 = 0
        var x: UInt64 = 2
        while x < value {
            let g = power(x, (value - 1) / m)
            if power(g, m / 2) == value - 1 {
                // Every primitive root of this order is g^k for odd k; take the smallest.
                var smallest = g
                let g2 = multiply(g, g)
                var cur = g
                for _ in 0..<(order / 2) {
                    if cur < smallest { smallest = cur }
                    cur = multiply(cur, g2)
                }
                best = smallest
                break
            }
            x += 1
        }
        guard best != 0 else {
            throw ModularMathError.notEnoughPrimes(bits: bitLength, degree: order / 2, found: 0, wanted: 1)
        }
        return best
    }
}
