import Transport

/// Cost of one step of the protocol in one phase, as the client's channel saw it.
public struct StepStats: Codable, Hashable, Sendable {
    public var step: Int
    /// The step's kind and layer, e.g. "linear stage1.block0.conv1", "relu stem.act".
    public var label: String
    public var seconds: Double
    /// Client to server.
    public var bytesUp: UInt64
    /// Server to client.
    public var bytesDown: UInt64
    /// Changes of direction of the traffic (a round trip counts 2).
    public var rounds: UInt64

    public var bytes: UInt64 { bytesUp + bytesDown }
}

/// Costs of one phase (offline or online) of one image.
public struct PhaseStats: Codable, Hashable, Sendable {
    public var seconds: Double = 0
    public var bytesUp: UInt64 = 0
    public var bytesDown: UInt64 = 0
    public var rounds: UInt64 = 0
    public var steps: [StepStats] = []

    public var bytes: UInt64 { bytesUp + bytesDown }

    public init() {}

    mutating func append(_ step: StepStats) {
        steps.append(step)
        seconds += step.seconds
        bytesUp += step.bytesUp
        bytesDown += step.bytesDown
        rounds += step.rounds
    }
}

/// Measures steps on the client's channel: bytes it sent are "up", bytes it received "down".
struct StepMeter {
    let channel: any Channel
    var phase = PhaseStats()

    init(channel: any Channel) { self.channel = channel }

    mutating func measure<T>(_ step: Int, _ label: String, _ body: () throws -> T) rethrows -> T {
        let before = channel.stats
        let start = ContinuousClock.now
        let result = try body()
        let elapsed = ContinuousClock.now - start
        let delta = channel.stats - before
        phase.append(StepStats(step: step, label: label,
                               seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18,
                               bytesUp: delta.bytesSent, bytesDown: delta.bytesReceived, rounds: delta.totalRounds))
        return result
    }
}

extension ProgramStep {
    var label: String {
        switch self {
        case .linear(_, _, _, let name): return "linear \(name)"
        case .add: return "add"
        case .truncate(_, _, let bits): return "truncate \(bits)"
        case .relu(_, _, let bits, _, let slot): return "relu \(slot) (k'=\(bits))"
        case .square(_, _, let slot): return "square \(slot)"
        case .polynomial(_, _, let degree, _, _, let slot): return "polynomial \(slot) (degree \(degree))"
        case .gather(_, _, let channels): return "gather \(channels.count) channels"
        case .scatter(_, let parts): return "scatter \(parts.count) parts"
        }
    }
}
