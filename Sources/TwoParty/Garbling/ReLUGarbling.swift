// Garbled ReLUs over additive shares, by phase and role (see ReLUCircuit.swift for the circuit).
//
//   offline, garbler (server):  garbleOffline(count:)      -> GarbledBatch to send; ReLUGarblerBatch kept
//   offline, OT:                 sender messages = batch.evaluatorInputLabelPairs(),
//                                receiver choices = ReLUEvaluator.choiceBits(clientShares:)
//   online, garbler:             batch.onlineLabels(serverShares:) -> k' labels per ReLU to send
//   online, evaluator (client):  evaluate(...) -> its output shares; the garbler's are batch.outputShares

public struct ReLUGarbler: Sendable {
    public let relu: ReLUCircuit
    var garbler: Garbler
    var maskPRG: AESPRG

    /// Fresh Δ, label PRG and mask PRG from the operating system's CSPRNG.
    public init(_ relu: ReLUCircuit, implementation: AES128.Implementation = .automatic) {
        self.relu = relu
        garbler = Garbler(circuit: relu.circuit, knownGarblerInputs: relu.maskInputs, outputEncoding: relu.outputEncoding,
                          implementation: implementation)
        maskPRG = AESPRG()
    }

    /// A garbler whose offset is the correlated OT's Δ (see `Garbler.init(circuit:knownGarblerInputs:outputEncoding:otDelta:firstCopy:implementation:)`),
    /// numbering its copies from `firstCopy` (`TweakSpace.reserve`).
    public init(_ relu: ReLUCircuit, otDelta: Block, firstCopy: UInt64, implementation: AES128.Implementation = .automatic) {
        self.relu = relu
        garbler = Garbler(circuit: relu.circuit, knownGarblerInputs: relu.maskInputs, outputEncoding: relu.outputEncoding,
                          otDelta: otDelta, firstCopy: firstCopy, implementation: implementation)
        maskPRG = AESPRG()
    }

    /// Δ of this garbler (see `Garbler.labelOffset`); secret.
    public var labelOffset: Block { garbler.labelOffset }

    /// Garbles `count` ReLUs, each with a fresh uniform 64-bit mask m. `evaluatorZeroLabels` (`k' × count`, input-major),
    /// when given, fix the zero-labels of the client's share bits, e.g. to those a correlated OT produced
    /// (see `Garbler.garble(copies:knownInputWords:evaluatorZeroLabels:)`).
    public mutating func garbleOffline(count: Int, evaluatorZeroLabels: [Block]? = nil) throws -> (batch: GarbledBatch, state: ReLUGarblerBatch) {
        var batch = GarbledBatch.empty
        let state = try garbleOffline(count: count, evaluatorZeroLabels: evaluatorZeroLabels, into: &batch)
        return (batch, state)
    }

    /// As `garbleOffline(count:evaluatorZeroLabels:)`, writing into `batch` and reusing its buffers (see
    /// `Garbler.garble(copies:knownInputWords:evaluatorZeroLabels:into:)`): for streaming senders.
    public mutating func garbleOffline(count: Int, evaluatorZeroLabels: [Block]? = nil,
                                       into batch: inout GarbledBatch) throws -> ReLUGarblerBatch {
        guard count >= 0 && count < 1 << 32 else {
            throw GarblingError.invalidParameter("a batch holds 0 ..< 2^32 ReLUs, asked for \(count)")
        }
        if relu.outputEncoding.isArithmetic {
            // The projection gates produce the shares; the garbler keeps -Σ r per ReLU.
            let state = try garbler.garble(copies: count, knownInputWords: [], evaluatorZeroLabels: evaluatorZeroLabels,
                                           into: &batch)
            return ReLUGarblerBatch(valueBits: relu.valueBits, outputShares: state.outputShares ?? [], garbling: state)
        }
        var masks = [UInt64](repeating: 0, count: count)
        masks.withUnsafeMutableBytes { maskPRG.fillBytes($0) }
        // The mask is the 64 known garbler inputs: one word per ReLU, exactly the packed layout.
        let state = try garbler.garble(copies: count, knownInputWords: masks, evaluatorZeroLabels: evaluatorZeroLabels,
                                       into: &batch)
        return ReLUGarblerBatch(valueBits: relu.valueBits, outputShares: masks.map { 0 &- $0 }, garbling: state)
    }
}

/// The garbler's secret state for one batch of ReLUs.
public struct ReLUGarblerBatch: Sendable {
    public let valueBits: Int
    /// The garbler's shares of the outputs: -m per ReLU.
    public let outputShares: [UInt64]
    public let garbling: GarblerBatchState

    /// OT sender messages for the evaluator's share bits, `k' × count`, input-major (as `choiceBits`).
    public func evaluatorInputLabelPairs() -> (zero: [Block], one: [Block]) { garbling.evaluatorInputLabelPairs() }

    /// The active labels for the garbler's shares, `k' × count`, input-major (k' × 16 bytes per ReLU, sent online).
    /// With `copies`, those ReLUs' labels only (input-major, `k' × copies.count`): one frame of the online
    /// message (`ReLUEvaluator.frames`).
    public func onlineLabels(serverShares: [UInt64], copies: Range<Int>? = nil) throws -> [Block] {
        guard serverShares.count == outputShares.count else {
            throw GarblingError.wrongCount(what: "server shares", expected: outputShares.count, got: serverShares.count)
        }
        // k' ≤ 64 online inputs: one word per ReLU; bits above k' are ignored.
        return try garbling.onlineInputLabels(words: serverShares, copies: copies)
    }
}

public struct ReLUEvaluator: Sendable {
    public let relu: ReLUCircuit
    let evaluator: Evaluator

    public init(_ relu: ReLUCircuit, implementation: AES128.Implementation = .automatic) {
        self.relu = relu
        evaluator = Evaluator(circuit: relu.circuit, knownGarblerInputs: relu.maskInputs, outputEncoding: relu.outputEncoding,
                              implementation: implementation)
    }

    /// OT choice bits for the client's shares, `k' × count`, input-major (bit i of ReLU c at i · count + c), the
    /// order of the garbler's zero-labels and of the evaluator's rows.
    public func choiceBits(clientShares: [UInt64]) -> [Bool] {
        let k = relu.valueBits, n = clientShares.count
        var bits = [Bool](repeating: false, count: n * k)
        for i in 0..<k {
            for (c, x) in clientShares.enumerated() { bits[i * n + c] = (x >> UInt64(i)) & 1 == 1 }
        }
        return bits
    }

    /// The evaluator's output shares of ReLU(x) >> f (they add up, mod 2^64, with the garbler's
    /// `outputShares`), from the batch, the labels it got by OT and the garbler's online labels.
    /// With `copies`, those ReLUs' shares only, from the garbler's labels of those ReLUs (one frame).
    public func evaluate(_ batch: GarbledBatch, evaluatorLabels: [Block], garblerLabels: [Block], copies: Range<Int>? = nil) throws -> [UInt64] {
        // .additiveShares: one share word per ReLU; .bits: 64 outputs, one packed word = y + m per ReLU.
        return try evaluator.evaluatePacked(batch, evaluatorLabels: evaluatorLabels, garblerOnlineLabels: garblerLabels, copies: copies)
    }

    /// ReLUs per frame of the streamed online message: the garbler sends a layer's labels in frames of this
    /// many ReLUs (279 KB at k' = 34), so the evaluator works on one frame while the next is on the wire.
    /// A multiple of the table and decoding groups (16), as `evaluatePacked(copies:)` requires.
    public static let frameCopies = 512

    /// The frames of a layer of `count` ReLUs, in order.
    public static func frames(count: Int) -> [Range<Int>] {
        stride(from: 0, to: count, by: frameCopies).map { $0..<min(count, $0 + frameCopies) }
    }
}
