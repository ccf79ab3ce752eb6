// BFV parameters for Sibyl's linear layers.
//
// Scheme: BFV (Brakerski, ePrint 2012/078; Fan-Vercauteren, ePrint 2012/144) with plaintext modulus
// t = 2^64 and coefficient encoding (Cheetah: Huang, Lu, Hong, Ding, USENIX Security 2022), so no
// rotation keys are needed. Encoding Delta(m) = round(Q m / t) (Kim, Polyakov, Zucca, "Revisiting
// homomorphic encryption schemes for finite fields", Asiacrypt 2021), which lets t not divide Q.
//
// Security (128-bit computational): homomorphicencryption.org HE standard (Albrecht et al., 2018),
// Table 1 for uniform ternary secrets and error sigma = 3.2: N = 8192 allows log2 Q <= 218 at 128-bit
// classical security. The default uses three 45-bit NTT primes, log2 Q ~ 135 << 218 (by the same
// table this is far above 128 bits: N = 4096 already allows 109 bits). The secret is uniform ternary;
// errors are centered binomial with eta = 21 (sigma = sqrt(10.5) ~ 3.24, bounded by 21).
//
// Statistical security (40-bit): responses are flooded with uniform noise 2^40 times larger than the
// bound on every noise term that depends on the server's weights or rerandomisation, so each revealed
// coefficient is within statistical distance 2^-40 of a simulated one (see LinearLayerServer).
//
// Noise budget of the default (per response coefficient, with t = 2^64): decryption after modulus
// switching is correct when (F + B) / Q <= 2^-66, where B bounds the weight-dependent noise and F =
// 2^(40 + ceil(log2 B)) is the flooding width; with log2 Q ~ 135 this holds for B <= 2^28, e.g. a
// 3x3 convolution over 576 input channels... (576 * 9 terms) with |weights| < 2^14. Layers beyond that
// raise LatticeError.noiseBudgetExceeded.

import ModularMath

/// BFV parameters: ring degree, RNS primes, error distribution, statistical security, and the bit
/// widths that responses are switched down to.
public struct HEParameters: Sendable, Hashable {
    /// Ring degree N (a power of two).
    public let degree: Int
    /// The NTT-friendly primes q_i = 1 mod 2N, each below 2^60, whose product is Q.
    public let primes: [UInt64]
    /// Centered binomial parameter of encryption errors (variance eta / 2).
    public let errorEta: Int
    /// Statistical security parameter of noise flooding, in bits.
    public let statisticalSecurity: Int
    /// Bits kept per response c0 coefficient after modulus switching (to 2^c0Bits).
    public let responseC0Bits: Int
    /// Bits kept per response c1 coefficient after modulus switching (to 2^c1Bits).
    public let responseC1Bits: Int

    /// Plaintext modulus: t = 2^64 (the share ring).
    public static let plaintextBits = 64

    public init(degree: Int, primes: [UInt64], errorEta: Int = 21, statisticalSecurity: Int = 40,
                responseC0Bits: Int = 68, responseC1Bits: Int = 75) throws {
        guard degree >= 4, degree.nonzeroBitCount == 1 else {
            throw LatticeError.invalidParameters("degree \(degree) must be a power of two >= 4")
        }
        guard !primes.isEmpty, primes.allSatisfy({ $0 < (1 << 60) && $0 % UInt64(2 * degree) == 1 }) else {
            throw LatticeError.invalidParameters("primes must be below 2^60 and 1 mod 2N")
        }
        guard (1...32).contains(errorEta) else { throw LatticeError.invalidParameters("errorEta must lie in 1...32") }
        guard (66...127).contains(responseC0Bits), (66...127).contains(responseC1Bits) else {
            throw LatticeError.invalidParameters("response bit widths must lie in 66...127")
        }
        self.degree = degree
        self.primes = primes
        self.errorEta = errorEta
        self.statisticalSecurity = statisticalSecurity
        self.responseC0Bits = responseC0Bits
        self.responseC1Bits = responseC1Bits
    }

    /// N = 8192, three 45-bit primes (log2 Q ~ 135): 128-bit computational security by the HE
    /// standard (log2 Q <= 218), 40-bit statistical security by flooding.
    ///
    /// Response widths: c1 keeps 75 bits. With r1 the c1 rounding errors (|r1| <= 1/2) and s ternary,
    /// Hoeffding bounds |r1 * s| by sqrt(N ln(2^41) / 2) ~ 2^8.41 except with probability 2^-40 per
    /// coefficient, i.e. 2^(8.41 - 75) = 2^-66.6 of the torus; c0 keeps 68 bits (error 2^-69); with
    /// (F + B) / Q <= 2^-66 the total stays below 1 / (2t) = 2^-65.
    public static let `default`: HEParameters = {
        let primes = try! Modulus.nttPrimes(bits: 45, count: 3, degree: 8192)
        return try! HEParameters(degree: 8192, primes: primes)
    }()

    /// log2 Q.
    public var logQ: Double { Multiprecision.log2(Multiprecision.product(primes)) }
}
