import NetworkCost
import NetworkPlan

/// Predicts the online cost of a placement from per-element costs measured by the secure runtime.
///
/// Online latency = compute + bytes / bandwidth + flights x RTT / 2, summed over the activation layers,
/// plus the placement-independent cost of the linear layers. Stored as JSON and refreshed by
/// `sibyl calibrate`. Communication is counted in one-way flights, as the runtime measures it (until
/// 2026-12 the model said "rounds" and multiplied measured flights by a whole RTT: WAN predictions were
/// up to twice too high in their latency term). A model in that old form (search logs, old files) is
/// read as the planner then used it, round trips turned into flights, so its predictions are unchanged;
/// re-run `sibyl calibrate` for a model fitted with the right units.
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
    /// One-way flights an activation slot adds online (2 for a ReLU or polynomial slot: the server's
    /// message and the client's reply).
    public var flightsPerActivationLayer: Double
    /// Placement-independent online cost of the linear layers of the model this model was calibrated on.
    public var linearSeconds: Double
    public var linearBytes: Double
    public var linearFlights: Double
    /// Where the figures come from (a benchmark, an evaluate run, and its date).
    public var source: String

    public init(relu: PerElement, polynomial: PerElement, flightsPerActivationLayer: Double,
                linearSeconds: Double, linearBytes: Double, linearFlights: Double, source: String) {
        self.relu = relu
        self.polynomial = polynomial
        self.flightsPerActivationLayer = flightsPerActivationLayer
        self.linearSeconds = linearSeconds
        self.linearBytes = linearBytes
        self.linearFlights = linearFlights
        self.source = source
    }

    enum CodingKeys: String, CodingKey {
        case relu, polynomial, flightsPerActivationLayer, linearSeconds, linearBytes, linearFlights, source
        case roundsPerActivationLayer, linearRounds   // the old form
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        relu = try c.decode(PerElement.self, forKey: .relu)
        polynomial = try c.decode(PerElement.self, forKey: .polynomial)
        if c.contains(.roundsPerActivationLayer) {   // old form: x RTT each, i.e. two flights each
            flightsPerActivationLayer = 2 * (try c.decode(Double.self, forKey: .roundsPerActivationLayer))
            linearFlights = 2 * (try c.decode(Double.self, forKey: .linearRounds))
        } else {
            flightsPerActivationLayer = try c.decode(Double.self, forKey: .flightsPerActivationLayer)
            linearFlights = try c.decode(Double.self, forKey: .linearFlights)
        }
        linearSeconds = try c.decode(Double.self, forKey: .linearSeconds)
        linearBytes = try c.decode(Double.self, forKey: .linearBytes)
        source = try c.decode(String.self, forKey: .source)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(relu, forKey: .relu)
        try c.encode(polynomial, forKey: .polynomial)
        try c.encode(flightsPerActivationLayer, forKey: .flightsPerActivationLayer)
        try c.encode(linearSeconds, forKey: .linearSeconds)
        try c.encode(linearBytes, forKey: .linearBytes)
        try c.encode(linearFlights, forKey: .linearFlights)
        try c.encode(source, forKey: .source)
    }

    /// Whether two models make the same predictions: the same figures, whatever their `source` says (a
    /// model read from an old search log carries the wording of its time).
    public func predictsLike(_ other: CostModel) -> Bool {
        var a = self, b = other
        a.source = ""
        b.source = ""
        return a == b
    }

    /// Online cost per element of a polynomial of `degree`: 1 is a local linear map (free); 2 the square
    /// path (`polynomial`); 3 and up the one-round protocol (TwoParty.OneRoundPolynomial), whose messages are
    /// 16 d + 8 bytes against the square's 16, so d + 1/2 times `polynomial` (compute likewise).
    public func polynomialCost(degree: Int) -> PerElement {
        switch degree {
        case ...1: return PerElement(seconds: 0, bytes: 0)
        case 2: return polynomial
        default:
            let factor = Double(degree) + 0.5
            return PerElement(seconds: polynomial.seconds * factor, bytes: polynomial.bytes * factor)
        }
    }

    /// One-way flights a slot adds online: a ReLU or polynomial protocol is one round trip; a degree-1
    /// polynomial is local; a slot split by channel sends its ReLU and its polynomial parts in the same
    /// flights (FixedPointProgram.onlineBarriers): one round trip.
    public func flights(of choice: SlotChoice) -> Double {
        switch choice {
        case .relu: return flightsPerActivationLayer
        case .polynomial(let degree): return degree <= 1 ? 0 : flightsPerActivationLayer
        case .mixed: return flightsPerActivationLayer   // the ReLU and polynomial parts share one round trip
        }
    }

    /// Predicted online seconds for one image.
    public func predictOnlineSeconds(placement: Placement, slots: [SlotDescriptor], network: NetworkProfile) -> Double {
        var compute = linearSeconds, flights = linearFlights
        for (slot, choice) in zip(slots, placement.choices) {
            let relus = Double(choice.reluChannels(of: slot) * slot.elementsPerChannel)
            compute += relus * relu.seconds
            if let degree = choice.polynomialDegree {
                compute += (Double(slot.elements) - relus) * polynomialCost(degree: degree).seconds
            }
            flights += self.flights(of: choice)
        }
        return compute + network.latency(bytes: predictOnlineBytes(placement: placement, slots: slots), flights: flights)
    }

    /// Predicted online bytes (both directions) for one image.
    public func predictOnlineBytes(placement: Placement, slots: [SlotDescriptor]) -> Double {
        precondition(slots.count == placement.choices.count, "placement has \(placement.choices.count) choices for \(slots.count) slots")
        var bytes = linearBytes
        for (slot, choice) in zip(slots, placement.choices) {
            let relus = Double(choice.reluChannels(of: slot) * slot.elementsPerChannel)
            bytes += relus * relu.bytes
            if let degree = choice.polynomialDegree {
                bytes += (Double(slot.elements) - relus) * polynomialCost(degree: degree).bytes
            }
        }
        return bytes
    }
}
