// Element-wise activations written as ONNX arithmetic. A ReLU is a Relu node; a polynomial activation is
// a chain of Mul, Add, Sub, Div, Neg and Pow nodes on one tensor x with per-channel constants (Horner's
// form, a sum of powers, x*x, ...). The reader does not pattern-match those chains: it evaluates them
// symbolically, channel by channel, as y_c = sum_k a_ck x_c^k + r_c max(x_c, 0), and the result becomes
// one activation slot when a layer consumes it: ReLU (r = 1, a = 0), polynomial (r = 0) or, channel by
// channel, a mix of the two (SAFENet-style slots, as `sibyl export --onnx` writes them).

public struct ChannelFunction: Equatable, Sendable {
    /// Graph node whose output x is.
    public var base: Int
    /// Per channel: coefficients a_c0, a_c1, ... of the polynomial part.
    public var poly: [[Double]]
    /// Per channel: weight r_c of max(x_c, 0).
    public var relu: [Double]

    public init(base: Int, poly: [[Double]], relu: [Double]) {
        self.base = base
        self.poly = poly
        self.relu = relu
    }

    public var channels: Int { relu.count }

    public static func identity(base: Int, channels: Int) -> ChannelFunction {
        ChannelFunction(base: base, poly: Array(repeating: [0, 1], count: channels), relu: Array(repeating: 0, count: channels))
    }

    public static func constant(_ perChannel: [Double], base: Int) -> ChannelFunction {
        ChannelFunction(base: base, poly: perChannel.map { [$0] }, relu: Array(repeating: 0, count: perChannel.count))
    }

    public var hasReLU: Bool { relu.contains { $0 != 0 } }
    /// Degree of the polynomial part (trailing zero coefficients ignored; -1 when it is zero everywhere).
    public var degree: Int { poly.map { Self.degree(of: $0) }.max() ?? -1 }
    public var isIdentity: Bool { !hasReLU && poly.allSatisfy { Self.trimmed($0) == [0, 1] } }
    /// The value of a channel-wise constant (no x in it), or nil.
    public var constantTerms: [Double]? { hasReLU || degree > 0 ? nil : poly.map { $0.first ?? 0 } }

    public static func degree(of coefficients: [Double]) -> Int { (coefficients.lastIndex { $0 != 0 }) ?? -1 }
    public static func trimmed(_ coefficients: [Double]) -> [Double] { Array(coefficients.prefix(degree(of: coefficients) + 1)) }

    public func adding(_ other: ChannelFunction) -> ChannelFunction {
        var result = self
        for c in 0..<channels {
            let terms = max(poly[c].count, other.poly[c].count)
            result.poly[c] = (0..<terms).map { (poly[c].indices.contains($0) ? poly[c][$0] : 0)
                + (other.poly[c].indices.contains($0) ? other.poly[c][$0] : 0) }
            result.relu[c] = relu[c] + other.relu[c]
        }
        return result
    }

    public func scaled(_ factors: [Double]) -> ChannelFunction {
        var result = self
        for c in 0..<channels {
            result.poly[c] = poly[c].map { $0 * factors[c] }
            result.relu[c] = relu[c] * factors[c]
        }
        return result
    }

    /// The product, or nil when it is no activation Sibyl computes (max(x, 0) times a function of x).
    public func multiplied(by other: ChannelFunction) -> ChannelFunction? {
        if let k = other.constantTerms { return scaled(k) }
        if let k = constantTerms { return other.scaled(k) }
        guard !hasReLU, !other.hasReLU else { return nil }
        var result = self
        for c in 0..<channels {
            var product = [Double](repeating: 0, count: poly[c].count + other.poly[c].count - 1)
            for (i, a) in poly[c].enumerated() where a != 0 {
                for (j, b) in other.poly[c].enumerated() { product[i + j] += a * b }
            }
            result.poly[c] = product
        }
        return result
    }
}
