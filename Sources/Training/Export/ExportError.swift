// Errors of exporting a trained network to a plan: a slot whose state the secure runtime cannot express,
// or a placement that asks for something the checkpoint cannot provide.
import Foundation

public enum ExportError: Error, CustomStringConvertible, LocalizedError, Equatable, Sendable {
    /// The network type has no graph description (only ResNet, MiniONN and the tiny net do).
    case unsupportedNetwork(String)
    /// A slot is mid-blend (0 < alpha < 1): neither a ReLU nor a polynomial.
    case blendedSlot(slot: String, alpha: Float)
    /// A placement makes a slot polynomial but the checkpoint has no coefficients for it.
    case noCoefficients(slot: String)
    /// A placement file is unreadable or does not fit the network.
    case badPlacement(path: String, reason: String)

    public var description: String {
        switch self {
        case .unsupportedNetwork(let name):
            return "cannot export a \(name): only ResNet-{8,14,20,32,56}, MiniONN and the tiny net have a graph description"
        case .blendedSlot(let slot, let alpha):
            return "slot \(slot) is blended (alpha \(alpha)): finish the blend (alpha 0 or 1) or pass --placement choosing relu or polynomial for it"
        case .noCoefficients(let slot):
            return "the placement makes slot \(slot) polynomial, but the checkpoint has no trained coefficients for it; "
                + "train that placement first (sibyl plan) or keep the slot relu"
        case .badPlacement(let path, let reason):
            return "placement \(path): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
