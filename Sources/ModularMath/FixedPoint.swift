// Fixed-point numbers in the share ring Z_(2^64): a real x is round(x * 2^f) in two's complement.
// (Delphi, Mishra et al. USENIX Security 2020, uses f = 8; SecureML, Mohassel-Zhang S&P 2017, sec. 4.1.)

/// Fixed-point codec with `fractionalBits` fractional bits over the ring Z_(2^64).
public struct FixedPoint: Sendable, Hashable, CustomStringConvertible {
    /// Number of fractional bits f: a real x is stored as round(x * 2^f).
    public let fractionalBits: Int

    /// Creates a codec; f must lie in 0 ... 30 (larger f leaves too little room for products).
    public init(fractionalBits: Int = 8) throws {
        guard (0...30).contains(fractionalBits) else { throw ModularMathError.invalidFractionalBits(fractionalBits) }
        self.fractionalBits = fractionalBits
    }

    public var description: String { "FixedPoint(f: \(fractionalBits))" }

    /// 2^f as a Double.
    public var scale: Double { Double(UInt64(1) << UInt64(fractionalBits)) }

    /// The one fixed-point rounding of Sibyl (plans, compiled programs, inputs): round(value x 2^scale),
    /// halves away from zero, as a signed integer; nil when the value is not finite or |value x 2^scale|
    /// reaches 2^62 (what the share ring leaves room for).
    public static func round(_ value: Double, scale: Int) -> Int64? {
        let scaled = (value * Double(sign: .plus, exponent: scale, significand: 1)).rounded(.toNearestOrAwayFromZero)
        guard scaled.isFinite, abs(scaled) < 0x1p62 else { return nil }
        return Int64(scaled)
    }

    /// round(x * 2^f) (`round(_:scale:)`) as a ring element; throws for non-finite values or |x * 2^f| >= 2^62.
    public func encode(_ x: Double) throws -> UInt64 {
        guard let value = Self.round(x, scale: fractionalBits) else {
            throw ModularMathError.valueOutOfRange(value: x, fractionalBits: fractionalBits)
        }
        return UInt64(bitPattern: value)
    }

    /// Float overload of `encode(_:)`.
    public func encode(_ x: Float) throws -> UInt64 { try encode(Double(x)) }

    /// Encodes every element.
    public func encode(_ xs: [Double]) throws -> [UInt64] { try xs.map { try encode($0) } }

    /// Encodes every element.
    public func encode(_ xs: [Float]) throws -> [UInt64] { try xs.map { try encode(Double($0)) } }

    /// The real value of a ring element read as a signed fixed-point number.
    public func decode(_ v: UInt64) -> Double { Double(Int64(bitPattern: v)) / scale }

    /// Decodes every element.
    public func decode(_ vs: [UInt64]) -> [Double] { vs.map(decode) }

    /// The value of a product of two fixed-point numbers after rescaling (arithmetic shift by f),
    /// computed in the clear: what local truncation of shares approximates.
    public func truncate(_ v: UInt64) -> UInt64 {
        UInt64(bitPattern: Int64(bitPattern: v) >> Int64(fractionalBits))
    }
}
