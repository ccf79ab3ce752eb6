// The garbler's side: fresh free-XOR offset Δ (lsb 1, from the OS CSPRNG), fresh input labels from an
// AES PRG seeded by the OS CSPRNG, half-gates garbling of many copies at once, 1-bit output decoding.
//
// Garbler inputs come in two kinds:
//  - online inputs (e.g. the server's share x_s, known only in the online phase): their zero-labels stay
//    with the garbler; online it sends the active label W0 ⊕ x·Δ, 16 bytes per bit.
//  - known inputs (e.g. the garbler's fresh output mask m, chosen at garbling time): they cost nothing.
//    The garbler draws a fresh seed, sends it with the tables, and both sides expand it with AESPRG into
//    labels L; the garbler sets the wire's zero-label W0 = L ⊕ m_i·Δ, so the evaluator's active label
//    is L. Security: in the standard protocol the evaluator receives, for each such wire, the active
//    label W_{m_i}, which is uniformly distributed and independent of m_i and of Δ (because W0 is
//    uniform and independent of everything else); its other label W_{m_i} ⊕ Δ stays hidden. Here the
//    active label is L, pseudorandom and independent of m_i and Δ, and the inactive label is L ⊕ Δ,
//    hidden exactly as before since Δ is. A simulator that picks the seed itself produces the same view
//    (up to PRG security), so the evaluator learns nothing new; the 16-byte seed replaces 16 bytes per bit.
// Output decoding: the garbler sends d = lsb(W0) per output wire; the evaluator's output is lsb(L) ⊕ d.

public struct Garbler {
    public let circuit: Circuit
    /// Garbler inputs whose values are fixed when garbling (their labels come from the shared seed).
    public let knownGarblerInputs: Range<Int>
    let delta: Block
    var prg: AESPRG
    /// The next copy index: tweaks never repeat under this garbler's Δ.
    public private(set) var nextCopy: UInt64 = 0
    let implementation: AES128.Implementation

    /// A garbler with a fresh Δ and label PRG from the operating system's CSPRNG.
    public init(circuit: Circuit, knownGarblerInputs: Range<Int> = 0..<0,
                implementation: AES128.Implementation = .automatic) {
        var d = SystemRandom.block()
        d.lo |= 1
        self.init(circuit: circuit, knownGarblerInputs: knownGarblerInputs, delta: d, labelSeed: SystemRandom.block(),
                  implementation: implementation)
    }

    /// A reproducible garbler for tests and benchmarks only: never garble real inputs with chosen seeds.
    public init(circuit: Circuit, knownGarblerInputs: Range<Int>, delta: Block, labelSeed: Block,
                implementation: AES128.Implementation = .automatic) {
        precondition(knownGarblerInputs.lowerBound >= 0 && knownGarblerInputs.upperBound <= circuit.garblerInputCount,
                     "known inputs must be garbler inputs")
        precondition(delta.lsb, "Δ must have lsb 1")
        self.circuit = circuit
        self.knownGarblerInputs = knownGarblerInputs
        self.delta = delta
        self.prg = AESPRG(seed: labelSeed)
        self.implementation = implementation
    }

    /// The garbler inputs whose labels are sent online, in increasing order.
    public var onlineGarblerInputs: [Int] {
        (0..<circuit.garblerInputCount).filter { !knownGarblerInputs.contains($0) }
    }

    /// Garbles `copies` copies. `knownInputValues` holds, copy-major, the values of the known garbler inputs
    /// (`copies × knownGarblerInputs.count`). Returns the message for the evaluator and the state the
    /// garbler keeps for the OT and the online phase.
    public mutating func garble(copies: Int, knownInputValues: [Bool]) throws -> (batch: GarbledBatch, state: GarblerBatchState) {
        let k = knownGarblerInputs.count
        guard knownInputValues.count == copies * k else {
            throw GarblingError.wrongCount(what: "known garbler input values", expected: copies * k, got: knownInputValues.count)
        }
        return garble(copies: copies, knownValue: { c, i in knownInputValues[c * k + i] })
    }

    /// As `garble(copies:knownInputValues:)` with the known values given by a function (copy, known input index).
    public mutating func garble(copies: Int, knownValue: (Int, Int) -> Bool) -> (batch: GarbledBatch, state: GarblerBatchState) {
        precondition(copies >= 0)
        let ins = circuit.inputCount, g = circuit.garblerInputCount, e = circuit.evaluatorInputCount
        let online = onlineGarblerInputs, k = knownGarblerInputs.count
        // Fresh uniform zero-labels for every input (the known ones are overwritten below).
        var inputs = [Block](repeating: .zero, count: copies * ins)
        inputs.withUnsafeMutableBufferPointer { prg.fill($0) }
        var seed: Block? = nil
        if k > 0 && copies > 0 {
            let s = SystemRandom.block()
            seed = s
            var shared = AESPRG(seed: s)
            var active = [Block](repeating: .zero, count: copies * k)
            active.withUnsafeMutableBufferPointer { shared.fill($0) }
            for c in 0..<copies {
                for i in 0..<k {
                    inputs[c * ins + knownGarblerInputs.lowerBound + i] = active[c * k + i] ^ delta.masked(by: knownValue(c, i))
                }
            }
        }
        var tables = [Block](repeating: .zero, count: copies * circuit.andCount * 2)
        var outputs = [Block](repeating: .zero, count: copies * circuit.outputs.count)
        inputs.withUnsafeBufferPointer { inp in
            tables.withUnsafeMutableBufferPointer { tab in
                outputs.withUnsafeMutableBufferPointer { out in
                    HalfGates.garble(circuit, delta: delta, firstCopy: nextCopy, copies: copies, inputZeroLabels: inp,
                                     tables: tab, outputZeroLabels: out, implementation: implementation)
                }
            }
        }
        let batch = GarbledBatch(firstCopy: nextCopy, copies: copies, andCount: circuit.andCount,
                                 outputWireCount: circuit.outputWireCount, tables: tables,
                                 outputDecoding: Garbler.decodingBits(circuit, outputs, copies: copies),
                                 knownInputSeed: seed)
        nextCopy += UInt64(copies)
        var onlineZero = [Block](repeating: .zero, count: copies * online.count)
        var evaluatorZero = [Block](repeating: .zero, count: copies * e)
        for c in 0..<copies {
            for (j, i) in online.enumerated() { onlineZero[c * online.count + j] = inputs[c * ins + i] }
            for i in 0..<e { evaluatorZero[c * e + i] = inputs[c * ins + g + i] }
        }
        let state = GarblerBatchState(copies: copies, delta: delta, onlineInputCount: online.count,
                                      evaluatorInputCount: e, onlineZeroLabels: onlineZero,
                                      evaluatorZeroLabels: evaluatorZero)
        return (batch, state)
    }

    static func decodingBits(_ circuit: Circuit, _ outputZero: [Block], copies: Int) -> [UInt8] {
        let w = circuit.outputWireCount, outs = circuit.outputs.count
        var bits = [UInt8](repeating: 0, count: (copies * w + 7) / 8)
        let wireOutputs = circuit.outputs.indices.filter { if case .wire = circuit.outputs[$0] { return true } else { return false } }
        for c in 0..<copies {
            for (o, index) in wireOutputs.enumerated() where outputZero[c * outs + index].lsb {
                let bit = c * w + o
                bits[bit >> 3] |= 1 << UInt8(bit & 7)
            }
        }
        return bits
    }
}

/// What the garbler keeps after garbling a batch: the zero-labels of its online inputs and of the
/// evaluator's inputs, and Δ. Secret.
public struct GarblerBatchState: Sendable {
    public let copies: Int
    let delta: Block
    public let onlineInputCount: Int
    public let evaluatorInputCount: Int
    let onlineZeroLabels: [Block]
    let evaluatorZeroLabels: [Block]

    /// The OT sender's messages for the evaluator's input wires, copy-major (`copies × evaluatorInputCount`):
    /// the evaluator must receive `one[i]` where its input bit i is 1, else `zero[i]`.
    public func evaluatorInputLabelPairs() -> (zero: [Block], one: [Block]) {
        (evaluatorZeroLabels, evaluatorZeroLabels.map { $0 ^ delta })
    }

    /// Δ, the offset between every wire's two labels. A correlated OT (the receiver gets zero ⊕ b·Δ) can
    /// transfer the evaluator's labels with half the bytes of a general OT. Secret: never send it.
    public var labelOffset: Block { delta }

    /// The active labels of the garbler's online inputs, copy-major (`copies × onlineInputCount` values).
    public func onlineInputLabels(values: [Bool]) throws -> [Block] {
        guard values.count == onlineZeroLabels.count else {
            throw GarblingError.wrongCount(what: "garbler online input values", expected: onlineZeroLabels.count, got: values.count)
        }
        return zip(onlineZeroLabels, values).map { $0 ^ delta.masked(by: $1) }
    }

    /// As `onlineInputLabels(values:)` with the value of online input i of copy c given by a function.
    public func onlineInputLabels(value: (Int, Int) -> Bool) -> [Block] {
        var out = onlineZeroLabels
        for c in 0..<copies {
            for i in 0..<onlineInputCount where value(c, i) { out[c * onlineInputCount + i] ^= delta }
        }
        return out
    }
}
