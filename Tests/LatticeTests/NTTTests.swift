import XCTest
import ModularMath
import Lattice
import TestSupport

final class NTTTests: XCTestCase {
    func testForwardMatchesDirectEvaluationAndInverseRoundTrips() throws {
        let seed: UInt64 = 1001
        var rng = SplitMix64(seed: seed)
        for (bits, n) in [(30, 8), (45, 16), (59, 32), (61, 64), (50, 256)] {
            let q = try Modulus.nttPrimes(bits: bits, count: 1, degree: n)[0]
            let t = try NTTTables(modulus: try Modulus(q), degree: n)
            let a = (0..<n).map { _ in rng.next() % q }
            var b = a
            b.withUnsafeMutableBufferPointer { t.forwardInPlace($0.baseAddress!) }
            XCTAssertEqual(b, t.forwardReference(a), "seed \(seed) q \(q) n \(n)")
            b.withUnsafeMutableBufferPointer { t.inverseInPlace($0.baseAddress!) }
            XCTAssertEqual(b, a, "seed \(seed) q \(q) n \(n)")
        }
    }

    /// The transforms as run (AVX-512 IFMA for q < 2^50 where the CPU has it) against the Swift loops, for
    /// every size from 16 to 8192 and primes of 20 to 49 bits and 50 to 59 (the loops run there), with
    /// inputs at 0 and q - 1 as well as random.
    func testKernelTransformsEqualTheLoops() throws {
        var rng = SplitMix64(seed: 77)
        for (bits, n) in [(20, 16), (44, 32), (47, 64), (49, 128), (44, 1024), (50, 8192), (44, 8192), (47, 8192), (42, 8192), (56, 8192)] {
            let q = try Modulus.nttPrimes(bits: bits, count: 1, degree: n)[0]
            let t = try NTTTables(modulus: try Modulus(q), degree: n)
            for pattern in 0..<3 {
                let a = (0..<n).map { k in pattern == 0 ? rng.next() % q : pattern == 1 ? q - 1 : UInt64(k % 2) * (q - 1) }
                var fast = a, loops = a
                fast.withUnsafeMutableBufferPointer { t.forwardInPlace($0.baseAddress!) }
                loops.withUnsafeMutableBufferPointer { t.forwardLoops($0.baseAddress!) }
                XCTAssertEqual(fast, loops, "forward, q \(q) n \(n) pattern \(pattern)")
                fast.withUnsafeMutableBufferPointer { t.inverseInPlace($0.baseAddress!) }
                loops.withUnsafeMutableBufferPointer { t.inverseLoops($0.baseAddress!) }
                XCTAssertEqual(fast, loops, "inverse, q \(q) n \(n) pattern \(pattern)")
                XCTAssertEqual(fast, a, "round trip, q \(q) n \(n) pattern \(pattern)")
            }
        }
    }

    func testNTTProductMatchesSchoolbook() throws {
        let seed: UInt64 = 2002
        var rng = SplitMix64(seed: seed)
        for (bits, n, primes) in [(40, 16, 2), (59, 64, 3), (61, 1024, 1), (45, 8192, 1)] {
            let ps = try Modulus.nttPrimes(bits: bits, count: primes, degree: n)
            let ctx = try RingContext(degree: n, primes: ps)
            let a = (0..<n).map { _ in Int64(bitPattern: rng.next()) >> 20 }
            // Sparse b for N = 8192 keeps the schoolbook reference fast.
            let b = (0..<n).map { i -> Int64 in (n < 8192 || i % 97 == 0) ? Int64(bitPattern: rng.next()) >> 30 : 0 }
            let pa = PolyRq<Coeff>(context: ctx, signed: a), pb = PolyRq<Coeff>(context: ctx, signed: b)
            let prod = (pa.forwardNTT() * pb.forwardNTT()).inverseNTT()
            for (i, m) in ctx.moduli.enumerated() {
                let ref = negacyclicProductReference(Array(pb.residues(i)), Array(pa.residues(i)), modulus: m)
                XCTAssertEqual(Array(prod.residues(i)), ref, "seed \(seed) q \(m.value) n \(n)")
            }
        }
    }
}

extension NTTTests {
    /// PolyRq.dotProducts (IFMA sums in radix 2^52 for primes below 2^50, the 128-bit Swift loops above)
    /// against the sums of products computed one by one, at 1, 7 and 2,100 terms (past the kernel's 2^11:
    /// split), random and q - 1 operands.
    func testDotProductsEqualTheNaiveSums() throws {
        var rng = SplitMix64(seed: 55)
        for (bits, count) in [(44, 3), (50, 2), (56, 3)] {
            let n = 64
            let ctx = try RingContext(degree: n, primes: try Modulus.nttPrimes(bits: bits, count: count, degree: n))
            for terms in [1, 7, 2100] {
                func poly(_ extreme: Bool) -> PolyRq<Eval> {
                    PolyRq<Eval>(context: ctx, data: (0..<(n * count)).map { k in
                        let q = ctx.moduli[k / n].value
                        return extreme ? q - 1 : rng.next() % q
                    })
                }
                let xs = (0..<terms).map { poly($0 % 5 == 0) }, zs = (0..<terms).map { _ in poly(false) }
                let ys = (0..<terms).map { poly($0 % 3 == 0) }
                let (a, b) = PolyRq<Eval>.dotProducts(xs, zs, ys)
                for (i, m) in ctx.moduli.enumerated() {
                    for j in 0..<n {
                        var s0: UInt64 = 0, s1: UInt64 = 0
                        for k in 0..<terms {
                            s0 = m.add(s0, m.multiply(xs[k].data[i * n + j], ys[k].data[i * n + j]))
                            s1 = m.add(s1, m.multiply(zs[k].data[i * n + j], ys[k].data[i * n + j]))
                        }
                        XCTAssertEqual(a.data[i * n + j], s0, "\(bits)-bit primes, \(terms) terms, row \(i), coefficient \(j)")
                        XCTAssertEqual(b.data[i * n + j], s1, "\(bits)-bit primes, \(terms) terms, row \(i), coefficient \(j)")
                    }
                }
            }
        }
    }
}
