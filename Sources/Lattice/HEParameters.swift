// BFV parameters for Sibyl's linear layers.
//
// Scheme: BFV (Brakerski, ePrint 2012/078; Fan-Vercauteren, ePrint 2012/144) with plaintext modulus
// t = 2^64 and coefficient encoding (Cheetah: Huang, Lu, Hong, Ding, USENIX Security 2022), so no
// rotation keys are needed. Encoding Delta(m) = round(Q m / t) (Kim, Polyakov, Zucca, "Revisiting
// homomorphic encryption schemes for finite fields", Asiacrypt 2021), which lets t not divide Q.
//
// Security (128-bit computational): homomorphicencryption.org HE standard (Albrecht et al., 2018),
// Table 1 for uniform ternary secrets and error sigma = 3.2: N = 8192 allows log2 Q <= 218 at 128-bit
// classical security. The default uses three 44-bit NTT primes, log2 Q ~ 132 << 218 (by the same
// table this is far above 128 bits: N = 4096 already allows 109 bits). The secret is uniform ternary;
// errors are centered binomial with eta = 21 (sigma = sqrt(10.5) ~ 3.24, bounded by 21).
//
// Statistical security (40-bit): responses are flooded with uniform noise 2^40 times larger than a
// bound B on every noise term that depends on the server's weights or its rerandomisation (B holds
// except with probability 2^-55 per coefficient), so each revealed coefficient is within statistical
// distance 2^-40 of a simulated one (see LinearLayerServer and ResponseWidths).
//
// Noise budget of the default (per response coefficient, t = 2^64): decryption after modulus switching
// is correct when (2^f + B) / Q <= 2^-66, f = 40 + ceil(log2 B), i.e. log2 B <= log2 Q - 106 = 26 for
// the default log2 Q ~ 132: enough for a 3x3 convolution over 64 channels with |weights| < 2^14, or a
// 4096-input dense layer with |weights| < 2^12. Layers beyond that raise
// LatticeError.noiseBudgetExceeded. A layer computed modulo t = 2^k with k < 64 (its outputs' readers use
// k bits: LinearLayerShape.plaintextBits) has 64 - k more bits of room, which its request spends on being
// switched to fewer bits (ResponseWidths.requestBits).

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
    /// Decryption of a response coefficient fails with probability at most 2^-correctnessBits.
    public let correctnessBits: Int

    /// Plaintext modulus: t = 2^64 (the share ring).
    public static let plaintextBits = 64

    public init(degree: Int, primes: [UInt64], errorEta: Int = 21, statisticalSecurity: Int = 40,
                correctnessBits: Int = 40) throws {
        guard degree >= 4, degree.nonzeroBitCount == 1 else {
            throw LatticeError.invalidParameters("degree \(degree) must be a power of two >= 4")
        }
        guard !primes.isEmpty, primes.allSatisfy({ $0 < (1 << 60) && $0 % UInt64(2 * degree) == 1 }) else {
            throw LatticeError.invalidParameters("primes must be below 2^60 and 1 mod 2N")
        }
        guard (1...32).contains(errorEta) else { throw LatticeError.invalidParameters("errorEta must lie in 1...32") }
        guard (1...60).contains(statisticalSecurity), (1...60).contains(correctnessBits) else {
            throw LatticeError.invalidParameters("security and correctness parameters must lie in 1...60 bits")
        }
        self.degree = degree
        self.primes = primes
        self.errorEta = errorEta
        self.statisticalSecurity = statisticalSecurity
        self.correctnessBits = correctnessBits
    }

    /// N = 8192, three 44-bit primes (log2 Q ~ 132): 128-bit computational security by the HE
    /// standard (log2 Q <= 218 for N = 8192), 40-bit statistical security by flooding, decryption
    /// failure at most 2^-40 per coefficient.
    public static let `default`: HEParameters = {
        let primes = try! Modulus.nttPrimes(bits: 44, count: 3, degree: 8192)
        return try! HEParameters(degree: 8192, primes: primes)
    }()

    /// N = 8192, three 50-bit primes (log2 Q ~ 150, far below the standard's 218): for layers whose
    /// noise exceeds the default's budget, e.g. 12 fractional bits with weights up to 2^20 or convolutions
    /// over many channels with large weights (B <= 2^44). Costs 14% more upload bytes than the default.
    public static let wide: HEParameters = {
        let primes = try! Modulus.nttPrimes(bits: 50, count: 3, degree: 8192)
        return try! HEParameters(degree: 8192, primes: primes)
    }()

    /// log2 Q.
    public var logQ: Double { Multiprecision.log2(Multiprecision.product(primes)) }
}
