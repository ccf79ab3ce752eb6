// An activation slot: a named place in a network whose nonlinearity a placement can switch between
// ReLU, a polynomial with learnable coefficients (shared by the slot or one set per channel) and a blend
// alpha * ReLU + (1 - alpha) * polynomial whose alpha the trainer schedules (Delphi, Mishra et al. 2020).
import Tensors

public enum ActivationMode: Equatable, Sendable, Codable {
    case relu
    case polynomial
    case blended(alpha: Float)
}

public final class ActivationSlot {
    public let name: String
    public let channels: Int
    /// Activations per image in this slot (channels * height * width): its ReLU count.
    public let elementsPerImage: Int
    public private(set) var mode: ActivationMode = .relu
    /// [degree + 1] when shared, [channels, degree + 1] per channel; lowest degree first. Nil for ReLU.
    public private(set) var coefficients: Parameter?
    /// Called with the slot's input on every non-ReLU forward pass (fused ReLU slots are not observed);
    /// the planner measures input ranges with it to fit initial polynomials.
    public var inputObserver: ((Tensor) -> Void)?
    /// Called with the slot's output Variable on every non-ReLU forward pass (its gradient is readable
    /// after a backward pass that keeps it): the planner's channel importance reads it.
    public var outputObserver: ((Variable) -> Void)?
    /// Per-channel input range [C] of a polynomial or blending slot (measured when it switched): in
    /// training the polynomial reads its input clamped to it, and `rangePenaltyWeight` > 0 adds a loss
    /// for values outside (`lastPenalty`). Inference (and export) evaluates the plain polynomial.
    public private(set) var inputBounds: Tensor?
    /// Weight of the range penalty this slot adds in training (0: none).
    public var rangePenaltyWeight: Float = 0
    /// When set, the polynomial computes with its coefficients rounded to multiples of 2^-bits (straight
    /// through: the gradient reaches the unrounded values), in training and inference alike, and export
    /// writes the rounded values: a network trained on the grid a secure runtime or a public activation
    /// uses (Diaa et al. hold theirs at 10 fractional bits).
    public var coefficientFractionalBits: Int?
    /// The range penalty of the last training forward pass (nil when none was computed).
    public private(set) var lastPenalty: Variable?
    /// Which channels are polynomial, for a slot split by channel (SAFENet, Lou et al., ICLR 2021): the
    /// others stay ReLU (alpha 1). nil: every channel follows `mode`.
    public private(set) var polynomialChannels: [Bool]?
    /// Per-channel blend alphas of the polynomial channels (channels blend in at their own pace when a
    /// split slot gains channels); nil: `mode`'s alpha for all of them.
    public private(set) var channelAlphas: [Float]?

    public init(name: String, channels: Int, elementsPerImage: Int) {
        self.name = name
        self.channels = channels
        self.elementsPerImage = elementsPerImage
    }

    /// Delphi's quadratic 0.2 + 0.5 x + 0.2 x^2.
    public static let delphiQuadratic: [Float] = [0.2, 0.5, 0.2]

    public func setReLU() {
        mode = .relu
        coefficients = nil
        inputBounds = nil
        lastPenalty = nil
        polynomialChannels = nil
        channelAlphas = nil
    }

    /// Splits a polynomial or blending slot by channel (`mask[c]`: channel c is polynomial), or makes it
    /// whole again (nil, or every channel polynomial).
    public func setPolynomialChannels(_ mask: [Bool]?) {
        precondition(mask == nil || mask!.count == channels, "polynomial channels: \(mask!.count) flags for \(channels) channels")
        polynomialChannels = mask.flatMap { $0.allSatisfy { $0 } ? nil : $0 }
    }

    /// Sets (nil: clears) each channel's blend alpha (used for the polynomial channels only).
    public func setChannelAlphas(_ alphas: [Float]?) {
        precondition(alphas == nil || alphas!.count == channels, "channel alphas: \(alphas!.count) for \(channels) channels")
        channelAlphas = alphas.map { $0.map { min(1, max(0, $0)) } }
    }

    /// Indices of the polynomial channels (all of them for a whole polynomial slot, none for ReLU).
    public var polynomialChannelIndices: [Int] {
        if isReLU { return [] }
        guard let mask = polynomialChannels else { return Array(0..<channels) }
        return mask.indices.filter { mask[$0] }
    }

    /// Sets (or clears) the per-channel input range; every bound must be positive and finite.
    public func setInputBounds(_ bounds: [Float]?) {
        guard let bounds else { inputBounds = nil; return }
        precondition(bounds.count == channels && bounds.allSatisfy { $0 > 0 && $0.isFinite },
                     "input bounds: \(bounds.count) positive values needed for \(channels) channels")
        inputBounds = Tensor(shape: [channels], values: bounds)
    }

    /// A polynomial with the given initial coefficients (lowest degree first), copied to every channel
    /// when `perChannel`.
    public func setPolynomial(coefficients initial: [Float] = delphiQuadratic, perChannel: Bool = false) {
        precondition(!initial.isEmpty, "polynomial needs at least one coefficient")
        coefficients = Self.makeCoefficients(initial, perChannel: perChannel, channels: channels)
        mode = .polynomial
        polynomialChannels = nil
        channelAlphas = nil
    }

    /// Replaces the coefficients of a polynomial or blending slot with one set per channel
    /// (`perChannel[c]`, lowest degree first, all of one length), keeping its mode.
    public func setCoefficients(perChannel sets: [[Float]]) {
        precondition(sets.count == channels && !sets.isEmpty && sets.allSatisfy { $0.count == sets[0].count },
                     "setCoefficients: \(sets.count) sets for \(channels) channels")
        coefficients = Parameter(Tensor(shape: [channels, sets[0].count], values: Array(sets.joined())))
    }

    /// Replaces the coefficients of a polynomial or blending slot with one set shared by all channels.
    public func setCoefficients(shared set: [Float]) {
        precondition(!set.isEmpty, "setCoefficients: empty")
        coefficients = Parameter(Tensor(shape: [set.count], values: set))
    }

    /// alpha * ReLU + (1 - alpha) * polynomial; alpha in [0, 1], changed later with `setAlpha`.
    public func setBlended(alpha: Float, coefficients initial: [Float] = delphiQuadratic, perChannel: Bool = false) {
        coefficients = Self.makeCoefficients(initial, perChannel: perChannel, channels: channels)
        mode = .blended(alpha: alpha)
        polynomialChannels = nil
        channelAlphas = nil
    }

    /// Updates the blend weight of a blended slot (1 = ReLU, 0 = polynomial).
    public func setAlpha(_ alpha: Float) {
        guard case .blended = mode else { return }
        mode = .blended(alpha: min(1, max(0, alpha)))
    }

    /// Restores coefficients of a stored shape (checkpoints).
    public func restore(mode: ActivationMode, coefficients: Tensor?) {
        lastPenalty = nil
        if mode == .relu { inputBounds = nil }
        self.mode = mode
        self.coefficients = coefficients.map { Parameter($0) }
    }

    private static func makeCoefficients(_ c: [Float], perChannel: Bool, channels: Int) -> Parameter {
        if perChannel {
            return Parameter(Tensor(shape: [channels, c.count], values: Array((0..<channels).map { _ in c }.joined())))
        }
        return Parameter(Tensor(shape: [c.count], values: c))
    }

    /// Multiplies the coefficient gradient by s_c^-k (coefficient k of channel c; s_c the channel's input
    /// range, or 1 without one; shared coefficients use the widest range). Applied once after the
    /// backward pass and once more after clipping, it makes SGD (momentum included) on a_k the same as
    /// SGD on the normalised coefficients c_k = a_k s^k of p(x) = sum c_k (x/s)^k, clipped in those units.
    /// Without it the gradient of a_4 carries x^4 (about 10^5 for inputs near 20), so one clipped step
    /// moves the top coefficient by many times its size and a degree-4 network diverges within steps.
    public func scaleCoefficientGradient() {
        guard let coefficients else { return }
        let terms = coefficients.shape.last ?? 1
        let rows = coefficients.value.count / max(terms, 1)
        let g = coefficients.grad.pointer
        let bounds = inputBounds.map { $0.array } ?? []
        for row in 0..<rows {
            let s = bounds.isEmpty ? 1 : (rows == channels ? bounds[row] : (bounds.max() ?? 1))
            let inverse = 1 / max(s, 1e-6)
            var factor: Float = 1
            for k in 0..<terms {
                g[row * terms + k] *= factor
                factor *= inverse
            }
        }
    }

    /// The coefficients as the polynomial reads them (on the grid when `coefficientFractionalBits` is set).
    private func coefficientVariable(_ tape: Tape) -> Variable {
        let raw = tape.parameter(coefficients!)
        guard let bits = coefficientFractionalBits else { return raw }
        return tape.roundStraightThrough(raw, fractionalBits: bits)
    }

    /// The coefficient values the polynomial computes with (rounded to the grid when one is set).
    public var effectiveCoefficients: [Float]? {
        guard let values = coefficients?.value.array else { return nil }
        guard let bits = coefficientFractionalBits else { return values }
        let scale = Float(sign: .plus, exponent: bits, significand: 1)
        return values.map { ($0 * scale).rounded() / scale }
    }

    /// Whether the activation is a plain ReLU (then the network fuses it into batch norm).
    public var isReLU: Bool { mode == .relu }

    public func callAsFunction(_ x: Variable, tape: Tape, training: Bool = false) -> Variable {
        let y = compute(x, tape: tape, training: training)
        outputObserver?(y)
        return y
    }

    private func compute(_ x: Variable, tape: Tape, training: Bool) -> Variable {
        inputObserver?(x.value)
        lastPenalty = nil
        let alpha: Float
        switch mode {
        case .relu: return tape.relu(x)
        case .polynomial: alpha = 0
        case let .blended(a): alpha = a
        }
        let bounds = training ? inputBounds : nil
        guard polynomialChannels != nil || channelAlphas != nil else {
            if let bounds, rangePenaltyWeight > 0 {
                lastPenalty = tape.rangePenalty(x, bounds: bounds, weight: rangePenaltyWeight)
            }
            return tape.blend(x, alpha: alpha, coefficients: coefficientVariable(tape), bounds: bounds)
        }
        // Split or unevenly blending slot: ReLU channels at alpha 1, and no range penalty for them.
        let mask = polynomialChannels ?? [Bool](repeating: true, count: channels)
        let alphas = (0..<channels).map { c in mask[c] ? (channelAlphas?[c] ?? alpha) : 1 }
        if let bounds, rangePenaltyWeight > 0 {
            let penalised = Tensor(shape: [channels], values: (0..<channels).map { mask[$0] ? bounds[flat: $0] : .greatestFiniteMagnitude })
            lastPenalty = tape.rangePenalty(x, bounds: penalised, weight: rangePenaltyWeight)
        }
        return tape.blend(x, alphas: Tensor(shape: [channels], values: alphas), coefficients: coefficientVariable(tape),
                          bounds: bounds)
    }
}
