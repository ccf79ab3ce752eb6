import XCTest
import ModularMath
import Lattice
import TestSupport

final class PrimeOLETests: XCTestCase {
    static let context = try! PrimeOLEContext()

    func testParametersMeetTheStandardTableAndHoldTheFloodedNoise() throws {
        let ctx = Self.context
        let p = ctx.parameters
        XCTAssertEqual(p.cipher.degree, 8192)
        XCTAssertLessThanOrEqual(p.cipher.logQ, 218, "HE standard: N = 8192 allows log2 Q <= 218 at 128 bits")
        XCTAssertTrue(p.plaintextPrimes.allSatisfy { Modulus.isPrime($0) && $0 % 16384 == 1 && $0 >> 47 == 0 })
        for j in ctx.plaintextModuli.indices {
            let w = try ctx.widths(prime: j, terms: 6)
            // Flooding covers the noise bound plus log2 N (all N coefficients revealed) plus 40 bits.
            XCTAssertGreaterThanOrEqual(w.floodBits, 40 + 13 + ctx.plaintextModuli[j].bitLength + 11)
            XCTAssertGreaterThan(w.c0Bits, ctx.plaintextModuli[j].bitLength)
        }
    }

    /// a * b - u + u = a * b slotwise for vectors longer than a ciphertext, on every plaintext prime,
    /// including the extremes 0 and t - 1.
    func testProductsOfSharesEqualTheProducts() throws {
        let ctx = Self.context
        let client = PrimeOLEClient(context: ctx)
        let server = try PrimeOLEServer(context: ctx, setupMessage: try client.setupMessage())
        var rng = SplitMix64(seed: 7)
        let counts = [8192 + 37, 5, 300]
        let primes = [0, 1, 2]
        func vector(_ count: Int, _ j: Int) -> [UInt64] {
            let t = ctx.plaintextModuli[j].value
            return (0..<count).map { k in k == 0 ? t - 1 : k == 1 ? 0 : rng.next() % t }
        }
        let a = zip(counts, primes).map { vector($0, $1) }
        let b = zip(counts, primes).map { vector($0, $1) }
        let request = try client.request(a, primes: primes)
        XCTAssertEqual(request.count, ctx.requestBytes(counts: counts))
        let (response, u) = try server.respond(request, factors: b, primes: primes)
        XCTAssertEqual(response.count, try ctx.responseBytes(counts: counts, primes: primes, terms: 1))
        let v = try client.decode(response, counts: counts, primes: primes)
        for k in counts.indices {
            let t = ctx.plaintextModuli[primes[k]]
            for i in 0..<counts[k] {
                XCTAssertEqual(t.add(v[k][i], u[k][i]), t.multiply(a[k][i], b[k][i]), "vector \(k) slot \(i)")
            }
        }
    }

    func testBadMessagesAreRefused() throws {
        let ctx = Self.context
        let client = PrimeOLEClient(context: ctx)
        let server = try PrimeOLEServer(context: ctx, setupMessage: try client.setupMessage())
        let request = try client.request([[1, 2, 3]], primes: [0])
        XCTAssertThrowsError(try server.respond(Array(request.dropLast(9)), factors: [[4, 5, 6]], primes: [0]))
        XCTAssertThrowsError(try server.respond(request + [0], factors: [[4, 5, 6]], primes: [0]), "trailing bytes")
        XCTAssertThrowsError(try server.respond(request, factors: [[4, 5, 6], [1, 2, 3]], primes: [0, 0]), "another count")
        let (response, _) = try server.respond(request, factors: [[4, 5, 6]], primes: [0])
        XCTAssertThrowsError(try client.decode(Array(response.dropLast(3)), counts: [3], primes: [0]))
        // A response for another layout (length, prime or grouping) has another fingerprint.
        XCTAssertThrowsError(try client.decode(response, counts: [4], primes: [0]))
        XCTAssertThrowsError(try client.decode(response, counts: [3], primes: [1]))
        XCTAssertThrowsError(try client.request([[ctx.plaintextModuli[0].value]], primes: [0]), "a value not below t")
    }

    /// Groups of terms: sum_i a_i b_i - u + u = sum_i a_i b_i, for the polynomial's shape (d powers per prime).
    func testInnerProductsOfSharesEqualTheInnerProducts() throws {
        let ctx = Self.context
        let client = PrimeOLEClient(context: ctx)
        let server = try PrimeOLEServer(context: ctx, setupMessage: try client.setupMessage())
        var rng = SplitMix64(seed: 9)
        for terms in [2, 6] {
            let count = 8192 + 3
            let primes = (0..<(3 * terms)).map { $0 / terms }
            let a = primes.map { j in (0..<count).map { _ in rng.next() % ctx.plaintextModuli[j].value } }
            let b = primes.map { j in (0..<count).map { k in k == 0 ? ctx.plaintextModuli[j].value - 1 : rng.next() % ctx.plaintextModuli[j].value } }
            let counts = a.map(\.count)
            let (response, u) = try server.respond(try client.request(a, primes: primes), factors: b, primes: primes, terms: terms)
            XCTAssertEqual(response.count, try ctx.responseBytes(counts: counts, primes: primes, terms: terms))
            let v = try client.decode(response, counts: counts, primes: primes, terms: terms)
            XCTAssertEqual(v.count, 3)
            for g in 0..<3 {
                let t = ctx.plaintextModuli[g]
                for i in 0..<count {
                    var sum: UInt64 = 0
                    for k in (g * terms)..<((g + 1) * terms) { sum = t.add(sum, t.multiply(a[k][i], b[k][i])) }
                    XCTAssertEqual(t.add(v[g][i], u[g][i]), sum, "terms \(terms) group \(g) slot \(i)")
                }
            }
        }
    }

    /// round(Q m / t) for a prime t against the same computed in floating point on a small Q.
    func testPrimeEncodingRoundsQmOverT() throws {
        let small = try BFVContext(parameters: try HEParameters(degree: 16, primes: [97, 193]))
        let q = 97.0 * 193.0, t: UInt64 = 17
        let m: [UInt64] = (0..<16).map { UInt64($0) % t }
        let encoded = try small.encode(m, plaintextModulus: t)
        for j in 0..<16 {
            let expected = UInt64((q * Double(m[j]) / Double(t)).rounded(.toNearestOrAwayFromZero))
            XCTAssertEqual(encoded.data[j], expected % 97, "coefficient \(j)")
            XCTAssertEqual(encoded.data[16 + j], expected % 193, "coefficient \(j)")
        }
    }
}

extension PrimeOLETests {
    /// The RNS encoder (PrimeOLE's) against the multiprecision round(Q m / t), at random and extreme m.
    func testRNSEncodingEqualsTheMultiprecisionOne() throws {
        // The default context (ciphertext primes above t), and one whose ciphertext primes lie below t.
        let small = try PrimeOLEContext(parameters: try PrimeOLEParameters(
            cipher: try HEParameters(degree: 8192, primes: try Modulus.nttPrimes(bits: 42, count: 4, degree: 8192)),
            plaintextPrimes: PrimeOLEParameters.default.plaintextPrimes))
        for ctx in [Self.context, small] { try checkEncoding(ctx) }
    }

    private func checkEncoding(_ ctx: PrimeOLEContext) throws {
        var rng = SplitMix64(seed: 11)
        for (j, t) in ctx.plaintextModuli.enumerated() {
            let m = (0..<8192).map { k in k == 0 ? t.value - 1 : k == 1 ? 0 : k == 2 ? t.value / 2 : k == 3 ? t.value / 2 + 1 : rng.next() % t.value }
            let reference = try ctx.bfv.encode(m, plaintextModulus: t.value)
            XCTAssertEqual(ctx.encodeForTesting(m, prime: j).data, reference.data, "prime \(j)")
        }
    }
}
