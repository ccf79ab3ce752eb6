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
