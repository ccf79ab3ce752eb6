import NetworkPlan

/// Per-element costs of the activation protocols, measured by running them through the real runtime
/// (two parties on two threads, in-memory channel) rather than computed from formulas.
public enum ProtocolBenchmark {
    public struct ElementCosts: Sendable {
        public var offlineBytes: Double
        public var onlineBytes: Double
        public var offlineSeconds: Double
        public var onlineSeconds: Double
        public var elements: Int
    }

    /// A one-layer program: input (at scale 2f, as after a linear layer) -> activation -> output.
    static func activationProgram(channels: Int, side: Int, fractionalBits f: Int, relu: Bool,
                                  valueBits: Int) -> FixedPointProgram {
        let shape = TensorShape(channels: channels, height: side, width: side)
        if relu {
            return FixedPointProgram(
                fractionalBits: f,
                tensors: [ProgramTensor(shape: shape, scale: 2 * f), ProgramTensor(shape: shape, scale: f)],
                steps: [.relu(output: 1, input: 0, valueBits: valueBits, shift: f, slot: "bench")], output: 1)
        }
        return FixedPointProgram(
            fractionalBits: f,
            tensors: [ProgramTensor(shape: shape, scale: f), ProgramTensor(shape: shape, scale: 2 * f)],
            steps: [.square(output: 1, input: 0, slot: "bench")], output: 1)
    }

    /// Costs of one activation step over `channels x side x side` elements, best of `repeats`.
    public static func measure(relu: Bool, channels: Int = 16, side: Int = 32, fractionalBits: Int = 8,
                               valueBits: Int = 32, repeats: Int = 3) throws -> ElementCosts {
        let program = activationProgram(channels: channels, side: side, fractionalBits: fractionalBits, relu: relu,
                                        valueBits: valueBits)
        let shape = program.inputTensor.shape
        let architecture = try PublicArchitecture(
            program: program, input: InputSpec(shape: shape, mean: [Float](repeating: 0, count: channels),
                                               std: [Float](repeating: 1, count: channels)),
            classNames: [], planName: "bench")
        let evaluation = LocalSecureEvaluation(program: program, architecture: architecture)
        var random = ShareSampler()
        let inputs = (0..<repeats).map { _ in (0..<shape.elements).map { _ in random.smallValue(bits: valueBits - 2) } }
        let results = try evaluation.run(inputs: inputs, link: .inMemory)
        guard results.allSatisfy({ $0.oracleDeviation <= 1 }) else {
            throw SecureInferenceError.protocolFailure("benchmark outputs differ from the oracle")
        }
        let n = Double(shape.elements)
        func stepOf(_ phase: PhaseStats) -> StepStats { phase.steps.first { $0.step == 0 }! }
        let best = results.min { stepOf($0.costs.online).seconds < stepOf($1.costs.online).seconds }!
        let bestOffline = results.map { stepOf($0.costs.offline).seconds }.min()!
        return ElementCosts(offlineBytes: Double(stepOf(best.costs.offline).bytes) / n,
                            onlineBytes: Double(stepOf(best.costs.online).bytes) / n,
                            offlineSeconds: bestOffline / n, onlineSeconds: stepOf(best.costs.online).seconds / n,
                            elements: shape.elements)
    }
}

/// Signed test values of a given bit length, as ring elements (not a cryptographic source).
struct ShareSampler {
    var state: UInt64 = 0x853C_49E6_748F_EA9B
    mutating func smallValue(bits: Int) -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let value = Int64(bitPattern: state) >> Int64(64 - bits)
        return UInt64(bitPattern: value)
    }
}
