// The one error type of Lattice: every case says what went wrong and what a caller can do about it.

/// Errors raised by Lattice for bad input: malformed or truncated messages, inconsistent shapes,
/// parameters that cannot hold a computation's noise.
public enum LatticeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A message or value that cannot be parsed or used (the text says which and why).
    case malformedInput(String)
    /// A message ended before all its fields were read.
    case truncatedMessage(expected: Int, actual: Int)
    /// A message written by an incompatible version of this library.
    case unsupportedVersion(found: UInt8, supported: UInt8)
    /// A message of another type than the one expected.
    case unexpectedMessageType(found: UInt8, expected: UInt8)
    /// Layer shapes or vectors that do not fit together.
    case shapeMismatch(String)
    /// The parameters' ciphertext modulus cannot hold the noise (and flooding) this layer needs.
    case noiseBudgetExceeded(requiredBits: Double, availableBits: Double)
    /// Invalid parameters.
    case invalidParameters(String)

    public var description: String {
        switch self {
        case .malformedInput(let s): return "malformed input: \(s)"
        case .truncatedMessage(let e, let a): return "truncated message: needs \(e) bytes, got \(a)"
        case .unsupportedVersion(let f, let s): return "message version \(f) is not supported (this library reads version \(s))"
        case .unexpectedMessageType(let f, let e): return "message type \(f) where type \(e) was expected"
        case .shapeMismatch(let s): return "shape mismatch: \(s)"
        case .noiseBudgetExceeded(let r, let a):
            return "the layer needs a ciphertext modulus of \(r) bits for correctness with flooding, the parameters have \(a); lower the weight bound or use larger parameters (HEParameters.wide)"
        case .invalidParameters(let s): return "invalid parameters: \(s)"
        }
    }
}
