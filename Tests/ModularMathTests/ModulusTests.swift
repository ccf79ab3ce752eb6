import XCTest
import ModularMath
import TestSupport

final class ModulusTests: XCTestCase {
    /// Reference: a * b mod q with 128-bit division.
    func mulmod(_ a: UInt64, _ b: UInt64, _ q: UInt64) -> UInt64 {
        let p = a.multipliedFullWidth(by: b)
        return q.dividingFullWidth((p.high, p.low)).remainder
    }

    func testArithmeticMatchesReference() throws {
        let seed: UInt64 = 11
        var rng = SplitMix64(seed: seed)
        let p60: UInt64 = try Modulus.nttPrimes(bits: 60, count: 1, degree: 8192)[0]
        let p44: UInt64 = try Modulus.nttPrimes(bits: 44, count: 1, degree: 8192)[0]
        let moduli: [UInt64] = [2, 3, 17, 65537, (1 << 31) - 1, 0x3fff_ffff_ffff_ffff, p60, p44, 3_000_000_021]
        for q in moduli {
            let m = try Modulus(q)
            for _ in 0..<2000 {
                let x = rng.next(), a = rng.next() % q, b = rng.next() % q
                XCTAssertEqual(m.reduce(x), x % q, "seed \(seed) q \(q)")
                XCTAssertEqual(m.multiply(a, b), mulmod(a, b, q), "seed \(seed) q \(q)")
                let sum: UInt128 = (UInt128(a) + UInt128(b)) % UInt128(q)
                let difference: UInt128 = (UInt128(a) + UInt128(q) - UInt128(b)) % UInt128(q)
                XCTAssertEqual(m.add(a, b), UInt64(sum), "seed \(seed) q \(q)")
                XCTAssertEqual(m.subtract(a, b), UInt64(difference))
                XCTAssertEqual(m.add(m.negate(a), a), 0)
                let hi = rng.next(), lo = rng.next()
                let wide: UInt128 = (UInt128(hi) << 64) | UInt128(lo)
                XCTAssertEqual(m.reduce(high: hi, low: lo), UInt64(wide % UInt128(q)))
                let ws = m.shoupPrecompute(b)
                XCTAssertEqual(m.multiplyShoup(x, b, ws), mulmod(x % q, b, q), "seed \(seed) q \(q)")
                XCTAssertLessThan(m.multiplyShoupLazy(x, b, ws), 2 * q)
                let s = Int64(bitPattern: rng.next()) >> 3
                let expected: UInt64 = s >= 0 ? UInt64(s) % q : (q - UInt64(-s) % q) % q
                XCTAssertEqual(m.reduce(signed: s), expected)
            }
        }
    }

    func testPowerInverseAndErrors() throws {
        let q = try Modulus.nttPrimes(bits: 50, count: 1, degree: 1024)[0]
        let m = try Modulus(q)
        XCTAssertEqual(m.power(3, q - 1), 1, "Fermat")
        for a: UInt64 in [1, 2, 12345, q - 1] {
            XCTAssertEqual(m.multiply(a, try m.inverse(a)), 1)
        }
        XCTAssertThrowsError(try m.inverse(0))
        XCTAssertThrowsError(try Modulus(12).inverse(4)) { e in
            XCTAssertEqual(e as? ModularMathError, .notInvertible(value: 4, modulus: 12))
        }
        XCTAssertThrowsError(try Modulus(1))
        XCTAssertThrowsError(try Modulus(1 << 62)) { e in
            XCTAssertEqual(e as? ModularMathError, .unsupportedModulus(1 << 62))
        }
        let root = try m.primitiveRoot(order: 2048)
        XCTAssertEqual(m.power(root, 1024), q - 1)
        XCTAssertThrowsError(try Modulus.nttPrimes(bits: 16, count: 50, degree: 4096))
    }

    func testPrimality() throws {
        let primes: [UInt64] = [2, 3, 5, 65537, 2_147_483_647, 18_446_744_073_709_551_557]
        let composites: [UInt64] = [0, 1, 4, 561, 1_105, 3_215_031_751, 2_147_483_647 * 3, 18_446_744_073_709_551_615]
        for p in primes { XCTAssertTrue(Modulus.isPrime(p), "\(p)") }
        for c in composites { XCTAssertFalse(Modulus.isPrime(c), "\(c)") }
        // Against trial division on small numbers.
        for n: UInt64 in 0..<3000 {
            let trial = n >= 2 && (2..<max(2, n)).allSatisfy { d in d * d > n || n % d != 0 }
            XCTAssertEqual(Modulus.isPrime(n), trial, "\(n)")
        }
        let ntt = try Modulus.nttPrimes(bits: 44, count: 3, degree: 8192)
        XCTAssertEqual(ntt.count, 3)
        XCTAssertTrue(ntt.allSatisfy { Modulus.isPrime($0) && $0 % 16384 == 1 && $0 < 1 << 44 && $0 > 1 << 43 })
    }

    func testMultiprecision() throws {
        let seed: UInt64 = 12
        var rng = SplitMix64(seed: seed)
        for _ in 0..<200 {
            let a = [rng.next(), rng.next() >> 3], b = [rng.next()]
            let a128 = UInt128(a[1]) << 64 | UInt128(a[0]), b128 = UInt128(b[0])
            XCTAssertEqual(Multiprecision.low128(Multiprecision.add(a, b)), a128 &+ b128)
            XCTAssertEqual(Multiprecision.low128(Multiprecision.subtract(a, b)), a128 - b128)
            let w = rng.next() >> 8
            XCTAssertEqual(Multiprecision.low128(Multiprecision.multiply(a, by: w)), a128 &* UInt128(w))
            XCTAssertEqual(Multiprecision.low128(Multiprecision.shiftedRight(a, by: 7)), a128 >> 7)
            let m = try Modulus(1_000_000_007)
            XCTAssertEqual(Multiprecision.remainder(a, m), UInt64(a128 % 1_000_000_007))
        }
        let q = Multiprecision.product([1 << 40, 1 << 50, 3])
        XCTAssertEqual(Multiprecision.bitLength(q), 92)
        XCTAssertEqual(Multiprecision.log2([1 << 20]), 20, accuracy: 1e-9)
        XCTAssertEqual(Multiprecision.compare([1, 2], [5, 1]), 1)
        XCTAssertEqual(Multiprecision.compare([0, 0], [0]), 0)
    }
}
