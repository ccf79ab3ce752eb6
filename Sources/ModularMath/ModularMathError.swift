// The one error type of ModularMath: every case carries what a caller needs to fix the input.

/// Errors raised by ModularMath for bad input (never for programmer errors, which are preconditions).
public enum ModularMathError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A modulus outside the supported range (2 ... 2^62 - 1, so that lazy values below 4q fit a word).
    case unsupportedModulus(UInt64)
    /// A value has no inverse modulo the modulus (gcd(value, modulus) != 1).
    case notInvertible(value: UInt64, modulus: UInt64)
    /// Fewer NTT-friendly primes of the requested size exist than were asked for.
    case notEnoughPrimes(bits: Int, degree: Int, found: Int, wanted: Int)
    /// A fixed-point configuration with an unusable number of fractional bits.
    case invalidFractionalBits(Int)
    /// A real value is not finite or too large to encode with the given fractional bits.
    case valueOutOfRange(value: Double, fractionalBits: Int)
    /// Two share vectors that must have the same length do not.
    case lengthMismatch(expected: Int, actual: Int)

    public var description: String {
        switch self {
        case .unsupportedModulus(let q):
            return "modulus \(q) is unsupported: it must lie in 2 ..< 2^62"
        case .notInvertible(let v, let q):
            return "\(v) has no inverse modulo \(q)"
        case .notEnoughPrimes(let bits, let degree, let found, let wanted):
            return "only \(found) primes of \(bits) bits are congruent to 1 mod \(2 * degree); \(wanted) wanted"
        case .invalidFractionalBits(let f):
            return "fractional bits \(f) must lie in 0 ... 30"
        case .valueOutOfRange(let v, let f):
            return "value \(v) cannot be encoded with \(f) fractional bits in a signed 64-bit ring element"
        case .lengthMismatch(let e, let a):
            return "length mismatch: expected \(e) elements, got \(a)"
        }
    }
}
