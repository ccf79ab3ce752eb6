// The cost vocabulary the secure runtime measures in and the planner predicts in: which ReLU protocol,
// which phase a latency covers, and the cost of one protocol step in both phases. `sibyl evaluate --json`
// writes `StepCost`s (its "layers") and `sibyl calibrate --plan-stats` reads the same type back, so the
// two sides cannot drift apart.

/// How a session evaluates ReLUs (`sibyl evaluate|serve|plan --relu`).
public enum ReLUProtocol: String, Codable, CaseIterable, Sendable {
    /// Garbled circuits (Delphi): tables and the client's input labels offline, the server's labels online.
    case garbled
    /// CrypTFlow2/Cheetah: sign by a millionaires' protocol, exact truncation and a multiplexer over
    /// correlated OT in both directions (TwoParty.OTReLU); every OT offline (the client's shares are fixed
    /// there), online only the comparison's table and openings and the multiplexer's openings.
    case ot

    /// The protocol a user of `network` is offered by default: the OT-based ReLU on every network since its
    /// OTs moved offline (session 16, ResNet-32 on loopback: online 0.126 s and 26.8 MB against garbling's
    /// 0.191 s and 169 MB; offline 39 MB against 508 MB). Garbling stays a choice (`--relu garbled`).
    public static func defaultChoice(network: String) -> ReLUProtocol { .ot }
}

/// Which part of a query's cost a latency covers.
public enum CostPhase: String, Codable, CaseIterable, Sendable {
    /// The online phase only: the offline phase runs ahead of time, in idle periods (Delphi's split).
    case online
    /// Offline plus online: what a client pays per query when nothing was prepared ahead of time.
    case total

    /// The default for `network`: the total on a WAN (where the offline traffic dominates), else online.
    public static func defaultChoice(network: String) -> CostPhase {
        network == NetworkProfile.wan.name ? .total : .online
    }
}

/// The cost of one protocol step for one image, in both phases, as the client's channel measured it.
/// Bytes count both directions; flights are one-way (`NetworkProfile`).
public struct StepCost: Codable, Hashable, Sendable {
    /// What the step is to the cost model: a ReLU (or a local step of a ReLU-only slot), a step of a
    /// polynomial activation, or the rest (linear layers, additions, the input and output transfers).
    public enum Kind: String, Codable, Sendable {
        case relu, polynomial, linear
    }

    /// The step's index in the lowered program and its label (absent in hand-written statistics).
    public var step: Int?
    public var label: String?
    public var kind: Kind
    /// Activation elements the step evaluates (0 for local steps).
    public var elements: Int
    /// The degree of a polynomial protocol step (2: a square); nil for every other step.
    public var degree: Int?
    public var offlineSeconds: Double
    public var offlineBytes: Double
    /// Offline flights (absent in reports written before 2026-12-04: read as 0).
    public var offlineRounds: Double
    public var onlineSeconds: Double
    public var onlineBytes: Double
    /// Online flights.
    public var rounds: Double

    public init(step: Int? = nil, label: String? = nil, kind: Kind, elements: Int, degree: Int? = nil, offlineSeconds: Double = 0,
                offlineBytes: Double = 0, offlineRounds: Double = 0, onlineSeconds: Double = 0, onlineBytes: Double = 0,
                rounds: Double = 0) {
        self.step = step; self.label = label; self.kind = kind; self.elements = elements; self.degree = degree
        self.offlineSeconds = offlineSeconds; self.offlineBytes = offlineBytes; self.offlineRounds = offlineRounds
        self.onlineSeconds = onlineSeconds; self.onlineBytes = onlineBytes; self.rounds = rounds
    }

    // Spelled out so that the JSON is the same whatever key strategy an encoder or decoder uses.
    enum CodingKeys: String, CodingKey {
        case step, label, kind, elements, degree, rounds
        case offlineSeconds = "offline_seconds", offlineBytes = "offline_bytes", offlineRounds = "offline_rounds"
        case onlineSeconds = "online_seconds", onlineBytes = "online_bytes"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decodeIfPresent(Int.self, forKey: .step)
        label = try c.decodeIfPresent(String.self, forKey: .label)
        kind = try c.decode(Kind.self, forKey: .kind)
        elements = try c.decode(Int.self, forKey: .elements)
        degree = try c.decodeIfPresent(Int.self, forKey: .degree)
        offlineSeconds = try c.decodeIfPresent(Double.self, forKey: .offlineSeconds) ?? 0
        offlineBytes = try c.decodeIfPresent(Double.self, forKey: .offlineBytes) ?? 0
        offlineRounds = try c.decodeIfPresent(Double.self, forKey: .offlineRounds) ?? 0
        onlineSeconds = try c.decode(Double.self, forKey: .onlineSeconds)
        onlineBytes = try c.decode(Double.self, forKey: .onlineBytes)
        rounds = try c.decode(Double.self, forKey: .rounds)
    }
}
