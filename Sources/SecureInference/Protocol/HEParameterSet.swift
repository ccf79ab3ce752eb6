import Foundation
import Lattice

/// The BFV parameter sets a plan may use, by name (the name is part of the public architecture the
/// server announces). Both have N = 8192 and log2 Q far below the HE standard's 218 bits for 128-bit
/// security; `wide` holds the flooded noise of layers with larger weights (more fractional bits, wider
/// layers) at the price of larger messages.
public enum HEParameterSet: String, Codable, Sendable, CaseIterable {
    case standard
    case wide

    public var parameters: HEParameters {
        switch self {
        case .standard: return .default
        case .wide: return .wide
        }
    }

    /// The context of this set, built once per process.
    public var context: BFVContext {
        get throws { try ContextCache.shared.context(for: self) }
    }

    /// The smallest set whose modulus holds every linear layer of `program`.
    public static func select(for program: FixedPointProgram) throws -> HEParameterSet {
        var lastError: Error?
        let shapes = try program.linearShapes().values.flatMap { $0 }
        for set in allCases {
            let context = try set.context
            do {
                for shape in shapes { _ = try context.responseBytes(for: shape) }
                return set
            } catch let error as LatticeError {
                lastError = error
            }
        }
        throw SecureInferenceError.unsupported("no HE parameter set holds this plan's layers (\(lastError.map { "\($0)" } ?? "")); "
                                               + "export it with fewer --fractional-bits")
    }
}

final class ContextCache: @unchecked Sendable {
    static let shared = ContextCache()
    private var contexts: [HEParameterSet: BFVContext] = [:]
    private let lock = NSLock()

    func context(for set: HEParameterSet) throws -> BFVContext {
        lock.lock()
        defer { lock.unlock() }
        if let context = contexts[set] { return context }
        let context = try BFVContext(parameters: set.parameters)
        contexts[set] = context
        return context
    }
}
