import XCTest
import ModularMath
import Lattice
import TestSupport

final class BFVTests: XCTestCase {
    static let context = try! BFVContext(parameters: .default)

    func testParametersMeetTheStandardTable() {
        let p = HEParameters.default
        XCTAssertEqual(p.degree, 8192)
        XCTAssertLessThanOrEqual(p.logQ, 218, "HE standard: N = 8192 allows log2 Q <= 218 at 128 bits")
        XCTAssertTrue(p.primes.allSatisfy { Modulus.isPrime($0) && $0 % 16384 == 1 && $0 < (1 << 60) })
    }

    func testEncryptDecryptRoundTripWithFreshNoiseInsideBound() throws {
        let seed: UInt64 = 31
        let ctx = Self.context
        let testSeed = try PRGSeed(bytes: (0..<32).map { UInt8($0) &+ UInt8(seed) })
        let sk = SecretKey(context: ctx, prg: PRG(seed: testSeed, purpose: .secret))
        let noise = PRG(seed: testSeed, purpose: .error)
        var rng = SplitMix64(seed: seed)
        let m = (0..<8192).map { _ in rng.next() }
        let ct = try ctx.encrypt(m, secretKey: sk, seed: testSeed, index: 3, noise: noise)
        XCTAssertEqual(ctx.decrypt(ct, secretKey: sk), m, "seed \(seed)")
        let bits = try ctx.noiseBits(ct, secretKey: sk, expected: m)
        XCTAssertLessThanOrEqual(bits, log2(ctx.freshNoiseBound) + 1e-9, "seed \(seed)")
        XCTAssertGreaterThan(bits, 1, "noise should not vanish (seed \(seed))")
    }

    func testPlaintextProductAndSumNoiseInsideBound() throws {
        let seed: UInt64 = 47
        let ctx = Self.context
        let testSeed = try PRGSeed(bytes: (0..<32).map { UInt8($0 * 3) &+ UInt8(seed) })
        let sk = SecretKey(context: ctx, prg: PRG(seed: testSeed, purpose: .secret))
        let noise = PRG(seed: testSeed, purpose: .error)
        var rng = SplitMix64(seed: seed)
        let n = 8192
        let m1 = (0..<n).map { _ in rng.next() }, m2 = (0..<n).map { _ in rng.next() }
        // Sparse weights (64 terms below 2^12 each) keep the mod-2^64 reference product fast.
        var w1 = [Int64](repeating: 0, count: n), w2 = w1
        for _ in 0..<64 {
            w1[Int(rng.next() % UInt64(n))] = Int64(rng.next() % 8191) - 4095
            w2[Int(rng.next() % UInt64(n))] = Int64(rng.next() % 8191) - 4095
        }
        let c1 = try ctx.encrypt(m1, secretKey: sk, seed: testSeed, index: 1, noise: noise).forwardNTT()
        let c2 = try ctx.encrypt(m2, secretKey: sk, seed: testSeed, index: 2, noise: noise).forwardNTT()
        let prod = (c1 * (try ctx.plaintext(weights: w1)) + c2 * (try ctx.plaintext(weights: w2))).inverseNTT()
        let p1 = negacyclicProductMod64Reference(m1, w1), p2 = negacyclicProductMod64Reference(m2, w2)
        let expected = zip(p1, p2).map { $0 &+ $1 }
        XCTAssertEqual(ctx.decrypt(prod, secretKey: sk), expected, "seed \(seed)")
        // Bound: (||w1||_1 + ||w2||_1) * (eta + 1/2) + 1/2 (Kim-Polyakov-Zucca encoding error).
        let l1 = Double((w1 + w2).reduce(0) { $0 + $1.magnitude })
        let bound = l1 * (ctx.freshNoiseBound + 0.5) + 0.5
        let bits = try ctx.noiseBits(prod, secretKey: sk, expected: expected)
        XCTAssertLessThanOrEqual(bits, log2(bound), "seed \(seed)")
        print("plaintext product noise: 2^\(bits) (bound 2^\(log2(bound)), ceiling 2^\(ctx.noiseCeilingBits))")
    }

    func testModulusSwitchingKeepsDecryptionWithEnoughBitsOnly() throws {
        let seed: UInt64 = 53
        let ctx = Self.context
        let testSeed = try PRGSeed(bytes: (0..<32).map { UInt8($0 * 5) &+ UInt8(seed) })
        let sk = SecretKey(context: ctx, prg: PRG(seed: testSeed, purpose: .secret))
        var rng = SplitMix64(seed: seed)
        let m = (0..<8192).map { _ in rng.next() }
        let ct = try ctx.encrypt(m, secretKey: sk, seed: testSeed, index: 9, noise: PRG(seed: testSeed, purpose: .error))
        // Widths the linear layer uses: exact decryption everywhere.
        let positions = stride(from: 0, to: 8192, by: 3).map { $0 }
        let sw = try ctx.switchModulus(ct, c0Bits: 66, c1Bits: 74, positions: positions)
        XCTAssertEqual(try ctx.decrypt(sw, secretKey: sk), positions.map { m[$0] }, "seed \(seed)")
        // Too few bits for c1: the rounding error times s exceeds 1 / (2t) and decryption breaks.
        let bad = try ctx.switchModulus(ct, c0Bits: 66, c1Bits: 66)
        let wrong = zip(try ctx.decrypt(bad, secretKey: sk), m).filter { $0 != $1 }.count
        XCTAssertGreaterThan(wrong, 1000, "seed \(seed)")
        XCTAssertThrowsError(try SwitchedCiphertext(c0Bits: 66, c1Bits: 70, positions: [0], c0: [1 << 67], c1: [0]))
    }

    func testCiphertextSerializationRoundTripsAndRejectsBadInput() throws {
        let seed: UInt64 = 59
        let ctx = Self.context
        let testSeed = try PRGSeed(bytes: (0..<32).map { UInt8($0 * 7) &+ UInt8(seed) })
        let sk = SecretKey(context: ctx, prg: PRG(seed: testSeed, purpose: .secret))
        var rng = SplitMix64(seed: seed)
        let m = (0..<8192).map { _ in rng.next() }
        let ct = try ctx.encrypt(m, secretKey: sk, seed: testSeed, index: 1, noise: PRG(seed: testSeed, purpose: .error))
        let bytes = ctx.serialize(ct)
        XCTAssertEqual(bytes.count, 10 + 2 * ctx.packedPolynomialBytes)
        XCTAssertEqual(ctx.decrypt(try ctx.deserializeCiphertext(bytes), secretKey: sk), m, "seed \(seed)")
        let sw = try ctx.switchModulus(ct, c0Bits: 66, c1Bits: 74, positions: [0, 5, 8191])
        let swBytes = ctx.serialize(sw)
        XCTAssertEqual(try ctx.deserializeSwitchedCiphertext(swBytes), sw)
        XCTAssertEqual(try ctx.decrypt(try ctx.deserializeSwitchedCiphertext(swBytes), secretKey: sk), [m[0], m[5], m[8191]])
        for bad in [Array(bytes.dropLast()), bytes + [0], [], [9] + bytes.dropFirst(), Array(swBytes.prefix(20))] {
            XCTAssertThrowsError(try ctx.deserializeCiphertext(bad))
        }
        XCTAssertThrowsError(try ctx.deserializeSwitchedCiphertext(bytes))   // wrong kind
        XCTAssertThrowsError(try ctx.deserializeSwitchedCiphertext(Array(swBytes.dropLast())))
        let other = try BFVContext(parameters: .wide)
        XCTAssertThrowsError(try other.deserializeCiphertext(bytes))          // other parameters
    }
}
