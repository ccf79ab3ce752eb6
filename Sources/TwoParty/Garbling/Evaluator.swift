// The evaluator's side of half-gates garbling (Zahur-Rosulek-Evans, Eurocrypt 2015): assembles the
// active input labels (its own from OT, the garbler's online ones, the garbler's known ones from the
// shared seed; see Garbler.swift), evaluates every copy, and decodes each output as lsb(label) ⊕ d.
// A wrong label (one the garbler did not produce for that wire) yields pseudorandom labels downstream,
// hence garbage outputs, not a wrong-but-plausible answer with any useful probability.

public struct Evaluator {
    public let circuit: Circuit
    public let knownGarblerInputs: Range<Int>
    let implementation: AES128.Implementation

    public init(circuit: Circuit, knownGarblerInputs: Range<Int> = 0..<0,
                implementation: AES128.Implementation = .automatic) {
        precondition(knownGarblerInputs.lowerBound >= 0 && knownGarblerInputs.upperBound <= circuit.garblerInputCount,
                     "known inputs must be garbler inputs")
        self.circuit = circuit
        self.knownGarblerInputs = knownGarblerInputs
        self.implementation = implementation
    }

    var onlineGarblerInputs: [Int] { (0..<circuit.garblerInputCount).filter { !knownGarblerInputs.contains($0) } }

    /// The active output labels, copy-major (`batch.copies × circuit.outputs.count`).
    /// - evaluatorLabels: from OT, copy-major `copies × evaluatorInputCount`.
    /// - garblerOnlineLabels: from the garbler online, copy-major `copies × (online garbler inputs)`.
    public func evaluateLabels(_ batch: GarbledBatch, evaluatorLabels: [Block], garblerOnlineLabels: [Block]) throws -> [Block] {
        let copies = batch.copies, ins = circuit.inputCount, g = circuit.garblerInputCount, e = circuit.evaluatorInputCount
        let online = onlineGarblerInputs, k = knownGarblerInputs.count
        guard batch.andCount == circuit.andCount, batch.outputWireCount == circuit.outputWireCount else {
            throw GarblingError.circuitMismatch(expectedAndGates: circuit.andCount, gotAndGates: batch.andCount,
                                                expectedOutputs: circuit.outputWireCount, gotOutputs: batch.outputWireCount)
        }
        guard batch.tables.count == copies * circuit.andCount * 2 else {
            throw GarblingError.wrongCount(what: "garbled tables", expected: copies * circuit.andCount * 2, got: batch.tables.count)
        }
        guard batch.outputDecoding.count == (copies * circuit.outputWireCount + 7) / 8 else {
            throw GarblingError.wrongCount(what: "output decoding bytes", expected: (copies * circuit.outputWireCount + 7) / 8,
                                           got: batch.outputDecoding.count)
        }
        guard evaluatorLabels.count == copies * e else {
            throw GarblingError.wrongCount(what: "evaluator input labels", expected: copies * e, got: evaluatorLabels.count)
        }
        guard garblerOnlineLabels.count == copies * online.count else {
            throw GarblingError.wrongCount(what: "garbler online input labels", expected: copies * online.count, got: garblerOnlineLabels.count)
        }
        var inputs = [Block](repeating: .zero, count: copies * ins)
        if k > 0 && copies > 0 {
            guard let seed = batch.knownInputSeed else {
                throw GarblingError.malformedBatch("the circuit has known garbler inputs but the batch carries no seed")
            }
            var shared = AESPRG(seed: seed)
            var active = [Block](repeating: .zero, count: copies * k)
            active.withUnsafeMutableBufferPointer { shared.fill($0) }
            for c in 0..<copies {
                for i in 0..<k { inputs[c * ins + knownGarblerInputs.lowerBound + i] = active[c * k + i] }
            }
        }
        for c in 0..<copies {
            for (j, i) in online.enumerated() { inputs[c * ins + i] = garblerOnlineLabels[c * online.count + j] }
            for i in 0..<e { inputs[c * ins + g + i] = evaluatorLabels[c * e + i] }
        }
        var outputs = [Block](repeating: .zero, count: copies * circuit.outputs.count)
        inputs.withUnsafeBufferPointer { inp in
            batch.tables.withUnsafeBufferPointer { tab in
                outputs.withUnsafeMutableBufferPointer { out in
                    HalfGates.evaluate(circuit, firstCopy: batch.firstCopy, copies: copies, inputLabels: inp, tables: tab,
                                       outputLabels: out, implementation: implementation)
                }
            }
        }
        return outputs
    }

    /// The decoded outputs, copy-major (`batch.copies × circuit.outputs.count`).
    public func evaluate(_ batch: GarbledBatch, evaluatorLabels: [Block], garblerOnlineLabels: [Block]) throws -> [Bool] {
        let labels = try evaluateLabels(batch, evaluatorLabels: evaluatorLabels, garblerOnlineLabels: garblerOnlineLabels)
        let outs = circuit.outputs.count
        var result = [Bool](repeating: false, count: labels.count)
        for c in 0..<batch.copies {
            var w = 0
            for (o, output) in circuit.outputs.enumerated() {
                switch output {
                case .constant(let v): result[c * outs + o] = v
                case .wire:
                    result[c * outs + o] = labels[c * outs + o].lsb != batch.decodingBit(copy: c, output: w)
                    w += 1
                }
            }
        }
        return result
    }
}
