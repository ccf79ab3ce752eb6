import NetworkCost
import NetworkPlan

/// Predicts the cost of a placement from per-element costs measured by the secure runtime: online, and
/// (when the model has offline figures) offline, for either ReLU protocol.
///
/// Latency of a phase = compute + bytes / bandwidth + flights x RTT / 2, summed over the activation layers,
/// plus the placement-independent cost of the linear layers; a query's total is offline + online. Stored as JSON and refreshed by
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

    /// Online cost of one kind of activation: per element, and one-way flights per activation layer.
    public struct ActivationCost: Codable, Hashable, Sendable {
        public var perElement: PerElement
        public var flightsPerLayer: Double
        public init(perElement: PerElement, flightsPerLayer: Double) {
            self.perElement = perElement; self.flightsPerLayer = flightsPerLayer
        }
    }

    /// Offline costs (HE for the linear layers, garbled tables and their input labels, the OLEs of
    /// polynomials), measured with one correlated-OT source (`ot`): what a query pays before its online phase.
    public struct Offline: Codable, Hashable, Sendable {
        /// Garbled ReLUs: tables and the client's input labels (nil: not measured, as every figure below).
        public var relu: ActivationCost?
        /// OT-based ReLUs.
        public var otReLU: ActivationCost?
        /// Degree-2 polynomials (TwoParty.OneRoundSquare's OLE).
        public var square: ActivationCost?
        /// Polynomials of degree `oneRoundDegree` >= 3 (TwoParty.OneRoundPolynomial's HE-batched OLEs). Other
        /// degrees d >= 3 scale with the OLE's ciphertexts: per plaintext prime, d request slots (21 bytes each)
        /// and one response slot (about 13 bytes), so with d + 0.63.
        public var oneRound: ActivationCost?
        public var oneRoundDegree: Int
        public var linearSeconds: Double
        public var linearBytes: Double
        public var linearFlights: Double
        /// The correlated-OT source the figures were measured with (iknp, silent).
        public var ot: String

        public init(relu: ActivationCost?, otReLU: ActivationCost?, square: ActivationCost?, oneRound: ActivationCost?,
                    oneRoundDegree: Int, linearSeconds: Double, linearBytes: Double, linearFlights: Double, ot: String) {
            self.relu = relu; self.otReLU = otReLU; self.square = square; self.oneRound = oneRound
            self.oneRoundDegree = oneRoundDegree; self.linearSeconds = linearSeconds; self.linearBytes = linearBytes
            self.linearFlights = linearFlights; self.ot = ot
        }

        /// Offline cost of a ReLU element under `relu`, and the flights of its layer (nil: not measured).
        public func relu(_ relu: ReLUProtocol) -> ActivationCost? { relu == .ot ? otReLU : self.relu }

        /// Offline cost of one polynomial element of `degree`, and the flights of its layer (nil: not measured).
        public func polynomial(degree: Int) -> ActivationCost? {
            switch degree {
            case ...1: return ActivationCost(perElement: .init(seconds: 0, bytes: 0), flightsPerLayer: 0)
            case 2: return square
            default:
                let slots = { (d: Int) in Double(d) + 0.63 }
                return oneRound?.scaled(slots(degree) / slots(oneRoundDegree))
            }
        }
    }

    /// Online, garbled ReLUs (Delphi's split: the server's labels and the client's masked reply).
    public var relu: PerElement
    /// Online, degree-2 polynomials (squares); other degrees scale from it (`polynomialCost(degree:)`).
    public var polynomial: PerElement
    /// Online, OT-based ReLUs (nil: not measured; a prediction for `--relu ot` then fails).
    public var otReLU: ActivationCost?
    /// Offline figures (nil: not measured; a prediction of the total then fails).
    public var offline: Offline?
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
                linearSeconds: Double, linearBytes: Double, linearFlights: Double, source: String,
                otReLU: ActivationCost? = nil, offline: Offline? = nil) {
        self.otReLU = otReLU
        self.offline = offline
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
        case otReLU, offline
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
        otReLU = try c.decodeIfPresent(ActivationCost.self, forKey: .otReLU)
        offline = try c.decodeIfPresent(Offline.self, forKey: .offline)
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
        try c.encodeIfPresent(otReLU, forKey: .otReLU)
        try c.encodeIfPresent(offline, forKey: .offline)
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
    /// d residues of 141 bits (three 47-bit primes) and 8 bytes back against the square's 16 bytes, so
    /// (141 d / 8 + 8) / 16 times `polynomial` (compute likewise).
    public func polynomialCost(degree: Int) -> PerElement {
        switch degree {
        case ...1: return PerElement(seconds: 0, bytes: 0)
        case 2: return polynomial
        default:
            let factor = Self.oneRoundOnlineFactor(degree: degree)
            return PerElement(seconds: polynomial.seconds * factor, bytes: polynomial.bytes * factor)
        }
    }

    /// The one-round protocol's online cost per element against a square's (see `polynomialCost`).
    public static func oneRoundOnlineFactor(degree: Int) -> Double { (141 * Double(degree) / 8 + 8) / 16 }

    /// One-way flights a slot adds online: a ReLU or polynomial protocol is one round trip (the OT-based
    /// ReLU: its measured flights); a degree-1 polynomial is local; a slot split by channel sends its ReLU
    /// and its polynomial parts in the same flights (FixedPointProgram.onlineBarriers), so it costs the
    /// longer of the two.
    public func flights(of choice: SlotChoice, relu protocol_: ReLUProtocol = .garbled) -> Double {
        let reluFlights = protocol_ == .ot ? (otReLU?.flightsPerLayer ?? .nan) : flightsPerActivationLayer
        switch choice {
        case .relu: return reluFlights
        case .polynomial(let degree): return degree <= 1 ? 0 : flightsPerActivationLayer
        case .mixed: return max(reluFlights, flightsPerActivationLayer)
        }
    }

    /// What the model cannot predict for `query`, or nil: the figures it needs and how to get them.
    public func missingFigures(for query: CostQuery, degrees: [Int]) -> String? {
        var missing: [String] = []
        if query.relu == .ot && otReLU == nil { missing.append("online figures of the OT-based ReLU") }
        if query.phase == .total {
            if let offline {
                if offline.relu(query.relu) == nil { missing.append("offline figures of \(query.relu.rawValue) ReLUs") }
                for degree in Set(degrees.map { min($0, 3) }).sorted() where offline.polynomial(degree: degree) == nil {
                    missing.append(degree == 2 ? "offline figures of squares" : "offline figures of polynomials of degree 3 or more")
                }
            } else {
                missing.append("offline figures")
            }
        }
        guard !missing.isEmpty else { return nil }
        return "the cost model (\(source)) has no " + missing.joined(separator: ", ") + "; fit one with `sibyl calibrate "
            + "--plan-stats` from `sibyl evaluate --json` reports of plans with those activations (--relu \(query.relu.rawValue))"
    }

    /// Predicted seconds per image of the phase `query` names, on its network, with its ReLU protocol.
    /// Figures the model lacks (`missingFigures`) make the prediction NaN.
    public func predictSeconds(placement: Placement, slots: [SlotDescriptor], query: CostQuery) -> Double {
        let online = predictOnlineSeconds(placement: placement, slots: slots, network: query.network, relu: query.relu)
        guard query.phase == .total else { return online }
        return online + predictOfflineSeconds(placement: placement, slots: slots, network: query.network, relu: query.relu)
    }

    /// Predicted online seconds for one image.
    public func predictOnlineSeconds(placement: Placement, slots: [SlotDescriptor], network: NetworkProfile,
                                     relu protocol_: ReLUProtocol = .garbled) -> Double {
        let reluCost = protocol_ == .ot ? otReLU?.perElement : relu
        guard let phase = totals(placement, slots, start: PhaseTotals(seconds: linearSeconds, bytes: linearBytes, flights: linearFlights),
                                 relu: reluCost, polynomial: { polynomialCost(degree: $0) },
                                 flights: { choice, _, _ in flights(of: choice, relu: protocol_) }) else { return .nan }
        return phase.seconds + network.latency(bytes: phase.bytes, flights: phase.flights)
    }

    /// Predicted offline seconds for one image (NaN without offline figures). Offline, a slot split by channel
    /// runs its ReLU part and its polynomial part one after the other: their flights add up.
    public func predictOfflineSeconds(placement: Placement, slots: [SlotDescriptor], network: NetworkProfile,
                                      relu protocol_: ReLUProtocol = .garbled) -> Double {
        guard let offline else { return .nan }
        let reluCost = offline.relu(protocol_)
        guard let phase = totals(placement, slots, start: PhaseTotals(seconds: offline.linearSeconds, bytes: offline.linearBytes,
                                                                       flights: offline.linearFlights),
                                 relu: reluCost?.perElement, polynomial: { offline.polynomial(degree: $0)?.perElement },
                                 flights: { choice, hasReLUs, hasPolynomials in
                                     guard let degree = choice.polynomialDegree, hasPolynomials else { return hasReLUs ? reluCost?.flightsPerLayer : 0 }
                                     guard let polynomialFlights = offline.polynomial(degree: degree)?.flightsPerLayer else { return nil }
                                     return (hasReLUs ? reluCost?.flightsPerLayer ?? .nan : 0) + polynomialFlights
                                 }) else { return .nan }
        return phase.seconds + network.latency(bytes: phase.bytes, flights: phase.flights)
    }

    /// Predicted online bytes (both directions) for one image, garbled ReLUs.
    public func predictOnlineBytes(placement: Placement, slots: [SlotDescriptor]) -> Double {
        totals(placement, slots, start: PhaseTotals(seconds: 0, bytes: linearBytes, flights: 0), relu: relu,
               polynomial: { polynomialCost(degree: $0) }, flights: { _, _, _ in 0 })!.bytes
    }

    /// Compute seconds, bytes and flights of one phase.
    struct PhaseTotals {
        var seconds: Double, bytes: Double, flights: Double
    }

    /// One phase's totals for a placement: `start` (the linear layers) plus, per slot, its ReLU elements at
    /// `relu`, its polynomial elements at `polynomial(degree)` and `flights(choice, has ReLUs, has polynomial
    /// elements)`; nil when a figure it needs is missing.
    func totals(_ placement: Placement, _ slots: [SlotDescriptor], start: PhaseTotals, relu: PerElement?,
                polynomial: (Int) -> PerElement?, flights: (SlotChoice, Bool, Bool) -> Double?) -> PhaseTotals? {
        precondition(slots.count == placement.choices.count, "placement has \(placement.choices.count) choices for \(slots.count) slots")
        var phase = start
        for (slot, choice) in zip(slots, placement.choices) {
            let relus = Double(choice.reluChannels(of: slot) * slot.elementsPerChannel)
            let polynomials = Double(slot.elements) - relus
            if relus > 0 {
                guard let relu else { return nil }
                phase.seconds += relus * relu.seconds
                phase.bytes += relus * relu.bytes
            }
            if let degree = choice.polynomialDegree, polynomials > 0 {
                guard let cost = polynomial(degree) else { return nil }
                phase.seconds += polynomials * cost.seconds
                phase.bytes += polynomials * cost.bytes
            }
            guard let slotFlights = flights(choice, relus > 0, choice.polynomialDegree != nil && polynomials > 0) else { return nil }
            phase.flights += slotFlights
        }
        return phase
    }
}

extension CostModel.ActivationCost {
    func scaled(_ factor: Double) -> Self {
        Self(perElement: .init(seconds: perElement.seconds * factor, bytes: perElement.bytes * factor),
             flightsPerLayer: flightsPerLayer * factor)
    }
}

/// What a latency is predicted for: a network, the phase a query pays (online, or offline + online) and
/// the ReLU protocol the runtime will use (`sibyl evaluate|serve --relu`).
public struct CostQuery: Codable, Hashable, Sendable, CustomStringConvertible {
    public var network: NetworkProfile
    public var phase: CostPhase
    public var relu: ReLUProtocol

    public init(network: NetworkProfile, phase: CostPhase = .online, relu: ReLUProtocol = .garbled) {
        self.network = network; self.phase = phase; self.relu = relu
    }

    /// The query for `network` with what a user left unsaid filled in as `sibyl plan`, `front`, `evaluate` and
    /// `serve` default to: total cost and OT-based ReLUs on WAN, online and garbled elsewhere.
    public static func defaulted(network: NetworkProfile, phase: CostPhase?, relu: ReLUProtocol?) -> CostQuery {
        CostQuery(network: network, phase: phase ?? .defaultChoice(network: network.name),
                  relu: relu ?? .defaultChoice(network: network.name))
    }

    /// "online on lan", "total (offline + online) on wan, OT-based ReLUs".
    public var description: String {
        (phase == .online ? "online" : "total (offline + online)") + " on \(network.name)"
            + (relu == .ot ? ", OT-based ReLUs" : "")
    }
}
