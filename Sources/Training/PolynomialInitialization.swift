// Initial coefficients of a newly polynomial slot.
//
// `delphi`: Delphi's quadratic 0.2 + 0.5x + 0.2x^2 for every channel (Mishra et al., USENIX Security
// 2020), padded with zero higher terms for degrees above 2.
//
// `fitted`: per channel, the least-squares polynomial fit of ReLU over the values the slot actually
// receives (measured on a few training batches when the slot switches). A fixed quadratic assumes
// inputs of order 1; the second activation of a ResNet block reads the residual sum, whose range grows
// with depth, and there 0.2x^2 feeds the next block values quadratic in its input, so the network's
// activations grow doubly exponentially and training diverges (Garimella et al., "Sisyphus: A
// Cautionary Tale of Using Low-Degree Polynomial Activations in Privacy-Preserving Deep Learning",
// 2021). A fit over the measured range keeps |p(x)| of the order of the inputs (for inputs uniform on
// [-R, R] it is 0.094R + 0.5x + 0.469x^2/R), so blending starts from a polynomial already close to
// the ReLU it replaces (in the spirit of SAFENet's per-channel and Diaa et al.'s range-aware designs).
import Foundation

public enum PolynomialInitialization {
    public enum Kind: String, Codable, Hashable, Sendable, CaseIterable {
        case fitted
        case delphi
    }

    /// Delphi's coefficients, lowest degree first, `degree + 1` of them.
    public static func coefficients(degree: Int) -> [Float] {
        precondition(degree >= 1, "polynomial degree must be at least 1")
        let delphi: [Float] = [0.2, 0.5, 0.2]
        if degree <= 2 { return Array(delphi.prefix(degree + 1)) }
        return delphi + Array(repeating: 0, count: degree - 2)
    }
}

/// Sums of powers of a channel's inputs, from which the least-squares fit of ReLU follows through the
/// normal equations: minimise sum_i (sum_k a_k x_i^k - max(x_i, 0))^2, i.e. M a = b with
/// M[j][k] = sum x^(j+k) and b[j] = sum_{x > 0} x^(j+1).
public struct ReLUFitMoments: Sendable, Equatable {
    public let degree: Int
    public let channels: Int
    /// [channels, 2 * degree + 1]: sum of x^k.
    public private(set) var powers: [Double]
    /// [channels, degree + 1]: sum over positive x of x^(k + 1).
    public private(set) var positive: [Double]
    /// [channels]: the largest finite |x| seen (before clipping).
    public private(set) var largest: [Float]
    /// [channels] or nil: each channel's values are clamped to [-clip, clip] before they enter the sums, so
    /// a few outliers (whose x^(2 degree) would dominate the normal equations) cannot decide the fit.
    public let clip: [Float]?

    public init(degree: Int, channels: Int, clip: [Float]? = nil) {
        precondition(degree >= 1 && channels >= 1, "fit needs degree >= 1 and a channel")
        precondition(clip == nil || (clip!.count == channels && clip!.allSatisfy { $0 > 0 }), "fit: one positive clip per channel")
        self.degree = degree
        self.channels = channels
        self.clip = clip
        powers = Array(repeating: 0, count: channels * (2 * degree + 1))
        positive = Array(repeating: 0, count: channels * (degree + 1))
        largest = Array(repeating: 0, count: channels)
    }

    /// Root mean square of a channel's (clipped) values; 0 before any value.
    public func rootMeanSquare(channel: Int) -> Float {
        let terms = 2 * degree + 1
        let n = powers[channel * terms]
        return n > 0 ? Float((powers[channel * terms + 2] / n).squareRoot()) : 0
    }

    /// Adds the values of a tensor of shape [N, channels, inner...] (row-major).
    public mutating func add(_ values: UnsafeBufferPointer<Float>, shape: [Int]) {
        precondition(shape.count >= 2 && shape[1] == channels && shape.reduce(1, *) == values.count,
                     "fit: shape \(shape) for \(channels) channels and \(values.count) values")
        let inner = shape.dropFirst(2).reduce(1, *)
        let rows = shape[0] * channels
        let terms = 2 * degree + 1, fitTerms = degree + 1
        var localPowers = [Double](repeating: 0, count: terms)
        var localPositive = [Double](repeating: 0, count: fitTerms)
        for row in 0..<rows {
            let channel = row % channels
            for k in 0..<terms { localPowers[k] = 0 }
            for k in 0..<fitTerms { localPositive[k] = 0 }
            let base = values.baseAddress! + row * inner
            var big = largest[channel]
            let bound = clip?[channel] ?? .infinity
            for i in 0..<inner where base[i].isFinite {
                // (Values of an overflowing network are left out: they would poison every sum.)
                big = max(big, abs(base[i]))
                let x = Double(min(max(base[i], -bound), bound))
                var p = 1.0
                for k in 0..<terms { localPowers[k] += p; p *= x }
                if x > 0 {
                    var q = x
                    for k in 0..<fitTerms { localPositive[k] += q; q *= x }
                }
            }
            largest[channel] = big
            for k in 0..<terms { powers[channel * terms + k] += localPowers[k] }
            for k in 0..<fitTerms { positive[channel * fitTerms + k] += localPositive[k] }
        }
    }

    /// Samples seen per channel.
    public func count(channel: Int) -> Double { powers[channel * (2 * degree + 1)] }

    /// The fitted coefficients (lowest degree first) of one channel, or of all channels pooled when
    /// `channel` is nil. Falls back to Delphi's when the channel saw too few values (a small ridge keeps
    /// repeated values solvable).
    ///
    /// With `uniformWeight` w > 0 the error is weighted by (1 - w) times the measured distribution plus w
    /// times the uniform distribution on [-b, b] (b: the channel's clip, else its largest value; the
    /// widest for the pooled fit). A fit weighted by the data alone is accurate where the values crowd
    /// and can be far off near the ends of the range (for degree 4, p(4 sigma) of a Gaussian-weighted fit
    /// of ReLU is negative), which a deep chain of such activations amplifies; the uniform part keeps the
    /// polynomial close to ReLU over the whole range it is trained on (as Diaa et al., USENIX Security
    /// 2024, fit over a fixed range).
    public func coefficients(channel: Int?, uniformWeight: Double = 0) -> [Float] {
        let terms = 2 * degree + 1, fitTerms = degree + 1
        var s = [Double](repeating: 0, count: terms), b = [Double](repeating: 0, count: fitTerms)
        for c in channel.map({ [$0] }) ?? Array(0..<channels) {
            for k in 0..<terms { s[k] += powers[c * terms + k] }
            for k in 0..<fitTerms { b[k] += positive[c * fitTerms + k] }
        }
        let n = s[0]
        guard n > Double(4 * fitTerms) else { return PolynomialInitialization.coefficients(degree: degree) }
        // Work in the scaled variable u = x / r (r: the root mean square) so the normal equations are well
        // conditioned, then scale back: a_k = c_k / r^(k-1)... precisely p(x) = sum c_k (x/r)^k, and the
        // targets scale by 1/r as well (fit ReLU(u) = ReLU(x)/r), so a_k = c_k * r / r^k.
        let r = max((s[2] / n).squareRoot(), 1e-6)
        let w = min(max(uniformWeight, 0), 1)
        let channelsUsed = channel.map { [$0] } ?? Array(0..<channels)
        let range = Double(channelsUsed.map { clip?[$0] ?? largest[$0] }.max() ?? 0)
        // Moments of the uniform distribution on [-range, range]: E x^m = range^m / (m + 1) for even m (0
        // for odd), E[ReLU(x) x^j] = range^(j + 1) / (2 (j + 2)); in the scaled variable, divided by r^m.
        func uniformPower(_ m: Int) -> Double { m % 2 == 1 ? 0 : pow(range / r, Double(m)) / Double(m + 1) }
        var m = [[Double]](repeating: [Double](repeating: 0, count: fitTerms), count: fitTerms)
        var rhs = [Double](repeating: 0, count: fitTerms)
        for j in 0..<fitTerms {
            for k in 0..<fitTerms { m[j][k] = (1 - w) * s[j + k] / n / pow(r, Double(j + k)) + w * uniformPower(j + k) }
            rhs[j] = (1 - w) * b[j] / n / pow(r, Double(j + 1))
                + w * pow(range / r, Double(j + 1)) / Double(2 * (j + 2))
        }
        // A small ridge keeps a degenerate distribution (say, a channel of constants) solvable.
        for j in 0..<fitTerms { m[j][j] += 1e-9 }
        guard let c = Self.solve(m, rhs) else { return PolynomialInitialization.coefficients(degree: degree) }
        let a = (0..<fitTerms).map { k in Float(c[k] * r / pow(r, Double(k))) }
        return a.allSatisfy(\.isFinite) ? a : PolynomialInitialization.coefficients(degree: degree)
    }

    /// The least-squares fit of ReLU over the uniform distribution on [-range, range] (no data): the
    /// initial polynomial of a network trained with polynomial activations from the start (Diaa et al.,
    /// USENIX Security 2024, fit theirs over a fixed range the same way).
    public static func uniformCoefficients(degree: Int, range: Float) -> [Float] {
        precondition(degree >= 1 && range > 0 && range.isFinite, "uniform fit needs degree >= 1 and a positive range")
        let fitTerms = degree + 1
        // In u = x / range: E u^m = 1 / (m + 1) for even m, 0 for odd; E[ReLU(u) u^j] = 1 / (2 (j + 2)).
        var m = [[Double]](repeating: [Double](repeating: 0, count: fitTerms), count: fitTerms)
        var rhs = [Double](repeating: 0, count: fitTerms)
        for j in 0..<fitTerms {
            for k in 0..<fitTerms { m[j][k] = (j + k) % 2 == 1 ? 0 : 1 / Double(j + k + 1) }
            rhs[j] = 1 / Double(2 * (j + 2))
        }
        let c = solve(m, rhs)!
        // ReLU(x) = range ReLU(u): a_k = range c_k / range^k.
        return (0..<fitTerms).map { k in Float(Double(range) * c[k] / pow(Double(range), Double(k))) }
    }

    /// Gaussian elimination with partial pivoting; nil when singular.
    static func solve(_ matrix: [[Double]], _ vector: [Double]) -> [Double]? {
        var a = matrix, b = vector
        let n = b.count
        for col in 0..<n {
            var pivot = col
            for row in col + 1..<n where abs(a[row][col]) > abs(a[pivot][col]) { pivot = row }
            guard abs(a[pivot][col]) > 1e-14 else { return nil }
            a.swapAt(col, pivot); b.swapAt(col, pivot)
            for row in col + 1..<n {
                let f = a[row][col] / a[col][col]
                for k in col..<n { a[row][k] -= f * a[col][k] }
                b[row] -= f * b[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var sum = b[row]
            for k in row + 1..<n { sum -= a[row][k] * x[k] }
            x[row] = sum / a[row][row]
        }
        return x
    }
}
