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
    }

    /// A polynomial with the given initial coefficients (lowest degree first), copied to every channel
    /// when `perChannel`.
    public func setPolynomial(coefficients initial: [Float] = delphiQuadratic, perChannel: Bool = false) {
        precondition(!initial.isEmpty, "polynomial needs at least one coefficient")
        coefficients = Self.makeCoefficients(initial, perChannel: perChannel, channels: channels)
        mode = .polynomial
    }

    /// alpha * ReLU + (1 - alpha) * polynomial; alpha in [0, 1], changed later with `setAlpha`.
    public func setBlended(alpha: Float, coefficients initial: [Float] = delphiQuadratic, perChannel: Bool = false) {
        coefficients = Self.makeCoefficients(initial, perChannel: perChannel, channels: channels)
        mode = .blended(alpha: alpha)
    }

    /// Updates the blend weight of a blended slot (1 = ReLU, 0 = polynomial).
    public func setAlpha(_ alpha: Float) {
        guard case .blended = mode else { return }
        mode = .blended(alpha: min(1, max(0, alpha)))
    }

    /// Restores coefficients of a stored shape (checkpoints).
    public func restore(mode: ActivationMode, coefficients: Tensor?) {
        self.mode = mode
        self.coefficients = coefficients.map { Parameter($0) }
    }

    private static func makeCoefficients(_ c: [Float], perChannel: Bool, channels: Int) -> Parameter {
        if perChannel {
            return Parameter(Tensor(shape: [channels, c.count], values: Array((0..<channels).map { _ in c }.joined())))
        }
        return Parameter(Tensor(shape: [c.count], values: c))
    }

    /// Whether the activation is a plain ReLU (then the network fuses it into batch norm).
    public var isReLU: Bool { mode == .relu }

    public func callAsFunction(_ x: Variable, tape: Tape) -> Variable {
        switch mode {
        case .relu: return tape.relu(x)
        case .polynomial: return tape.blend(x, alpha: 0, coefficients: tape.parameter(coefficients!))
        case let .blended(alpha): return tape.blend(x, alpha: alpha, coefficients: tape.parameter(coefficients!))
        }
    }
}
