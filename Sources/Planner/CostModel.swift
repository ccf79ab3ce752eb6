import NetworkPlan

/// A network the two parties talk over, for latency prediction.
public struct NetworkProfile: Codable, Hashable, Sendable {
    public var name: String
    public var bitsPerSecond: Double
    public var roundTripSeconds: Double

    public init(name: String, bitsPerSecond: Double, roundTripSeconds: Double) {
        self.name = name
        self.bitsPerSecond = bitsPerSecond
        self.roundTripSeconds = roundTripSeconds
    }

    /// The settings OpenCheetah's evaluation uses.
    public static let lan = NetworkProfile(name: "lan", bitsPerSecond: 3e9, roundTripSeconds: 0.3e-3)
    public static let wan = NetworkProfile(name: "wan", bitsPerSecond: 400e6, roundTripSeconds: 40e-3)
    public static let loopback = NetworkProfile(name: "loopback", bitsPerSecond: .infinity, roundTripSeconds: 0)

    public static func named(_ name: String) -> NetworkProfile? {
        [lan, wan, loopback].first { $0.name == name }
    }
}

/// Predicts the online cost of a placement from per-element costs measured by the secure runtime.
///
/// Online latency = compute + bytes / bandwidth + rounds x RTT, summed over the activation layers, plus
/// the placement-independent cost of the linear layers. Stored as JSON and refreshed by `sibyl calibrate`.
public struct CostModel: Codable, Hashable, Sendable {
    public struct PerElement: Codable, Hashable, Sendable {
        /// Online compute seconds per element (both parties, critical path).
        public var seconds: Double
        /// Online bytes per element, both directions.
        public var bytes: Double
        public init(seconds: Double, bytes: Double) { self.seconds = seconds; self.bytes = bytes }
    }

    public var relu: PerElement
    public var polynomial: PerElement
    /// Communication rounds an activation layer adds online (one per ReLU or polynomial layer).
    public var roundsPerActivationLayer: Double
    /// Placement-independent online cost of the linear layers of the model this model was calibrated on.
    public var linearSeconds: Double
    public var linearBytes: Double
    public var linearRounds: Double
    /// Where the figures come from (a benchmark, an evaluate run, and its date).
    public var source: String

    public init(relu: PerElement, polynomial: PerElement, roundsPerActivationLayer: Double,
                linearSeconds: Double, linearBytes: Double, linearRounds: Double, source: String) {
        self.relu = relu
        self.polynomial = polynomial
        self.roundsPerActivationLayer = roundsPerActivationLayer
        self.linearSeconds = linearSeconds
        self.linearBytes = linearBytes
        self.linearRounds = linearRounds
        self.source = source
    }

    /// Predicted online seconds for one image.
    public func predictOnlineSeconds(placement: Placement, slots: [SlotDescriptor], network: NetworkProfile) -> Double {
        let relus = Double(placement.reluCount(slots: slots))
        let polynomials = Double(placement.polynomialCount(slots: slots))
        let compute = linearSeconds + relus * relu.seconds + polynomials * polynomial.seconds
        let bytes = predictOnlineBytes(placement: placement, slots: slots)
        let transfer = network.bitsPerSecond.isFinite ? bytes * 8 / network.bitsPerSecond : 0
        let rounds = linearRounds + Double(placement.choices.count) * roundsPerActivationLayer
        return compute + transfer + rounds * network.roundTripSeconds
    }

    /// Predicted online bytes (both directions) for one image.
    public func predictOnlineBytes(placement: Placement, slots: [SlotDescriptor]) -> Double {
        linearBytes
            + Double(placement.reluCount(slots: slots)) * relu.bytes
            + Double(placement.polynomialCount(slots: slots)) * polynomial.bytes
    }
}
