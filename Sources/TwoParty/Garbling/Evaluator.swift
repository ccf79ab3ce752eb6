// The evaluator's side of half-gates garbling (Zahur-Rosulek-Evans, Eurocrypt 2015): assembles the
// active input labels (its own from OT, the garbler's online ones, the garbler's known ones from the
// shared seed; see Garbler.swift), evaluates every copy, and decodes each output as lsb(label) ⊕ d.
// A wrong label (one the garbler did not produce for that wire) yields pseudorandom labels downstream,
// hence garbage outputs, not a wrong-but-plausible answer with any useful probability.

public struct Evaluator: Sendable {
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

    /// The decoded outputs, packed: output o of copy c is bit o % 64 of `result[c · w + o / 64]`,
    /// w = ⌈outputs.count / 64⌉.
    /// - evaluatorLabels: from OT, copy-major `copies × evaluatorInputCount`.
    /// - garblerOnlineLabels: from the garbler online, copy-major `copies × (online garbler inputs)`.
    public func evaluatePacked(_ batch: GarbledBatch, evaluatorLabels: [Block], garblerOnlineLabels: [Block]) throws -> [UInt64] {
        let copies = batch.copies, g = circuit.garblerInputCount, e = circuit.evaluatorInputCount
        let online = onlineGarblerInputs, o = online.count, k = knownGarblerInputs.count
        let w = circuit.outputWireCount, wpc = (circuit.outputs.count + 63) / 64
        guard batch.andCount == circuit.andCount, batch.outputWireCount == w else {
            throw GarblingError.circuitMismatch(expectedAndGates: circuit.andCount, gotAndGates: batch.andCount,
                                                expectedOutputs: w, gotOutputs: batch.outputWireCount)
        }
        guard copies >= 0 && copies < 1 << 32 else {
            throw GarblingError.invalidParameter("a batch holds 0 ..< 2^32 copies, got \(copies)")
        }
        guard batch.tables.count == copies * circuit.andCount * 2 else {
            throw GarblingError.wrongCount(what: "garbled tables", expected: copies * circuit.andCount * 2, got: batch.tables.count)
        }
        guard batch.outputDecoding.count == (copies * w + 7) / 8 else {
            throw GarblingError.wrongCount(what: "output decoding bytes", expected: (copies * w + 7) / 8, got: batch.outputDecoding.count)
        }
        guard evaluatorLabels.count == copies * e else {
            throw GarblingError.wrongCount(what: "evaluator input labels", expected: copies * e, got: evaluatorLabels.count)
        }
        guard garblerOnlineLabels.count == copies * o else {
            throw GarblingError.wrongCount(what: "garbler online input labels", expected: copies * o, got: garblerOnlineLabels.count)
        }
        var shared: AES128? = nil
        if k > 0 && copies > 0 {
            guard let seed = batch.knownInputSeed else {
                throw GarblingError.malformedBatch("the circuit has known garbler inputs but the batch carries no seed")
            }
            shared = AES128(key: seed)
        }
        var result = [UInt64](repeating: 0, count: copies * wpc)
        let known = knownGarblerInputs, outputs = circuit.outputs
        result.withUnsafeMutableBufferPointer { res in
        batch.tables.withUnsafeBufferPointer { tab in
        batch.outputDecoding.withUnsafeBufferPointer { dec in
        evaluatorLabels.withUnsafeBufferPointer { evL in
        garblerOnlineLabels.withUnsafeBufferPointer { onL in
            HalfGates.evaluateChunks(circuit, firstCopy: batch.firstCopy, copies: copies, tables: tab.baseAddress,
                                     implementation: implementation,
                                     fill: { labels, start, n in
                // Copy by copy: sequential reads of the copy-major inputs, writes into the cached rows.
                for c in 0..<n {
                    let src = start + c
                    for (j, i) in online.enumerated() { labels[i * n + c] = onL[src * o + j] }
                    for i in 0..<e { labels[(g + i) * n + c] = evL[src * e + i] }
                }
                if let shared {
                    for q in 0..<k {
                        shared.keystream(counter: UInt64(q) << 32 + UInt64(start),
                                         into: UnsafeMutableBufferPointer(start: labels + (known.lowerBound + q) * n, count: n))
                    }
                }
            }, read: { labels, start, n in
                // Copy by copy, one output word at a time in a register.
                for c in 0..<n {
                    let copy = start + c
                    var index = 0 // among wire outputs
                    var acc: UInt64 = 0
                    for (out, output) in outputs.enumerated() {
                        switch output {
                        case .constant(let v):
                            acc |= (v ? 1 : 0) << UInt64(out & 63)
                        case .wire(let wire):
                            let bit = copy * w + index
                            let d = UInt64(dec[bit >> 3] >> UInt8(bit & 7)) & 1
                            acc |= ((labels[Int(wire.index) * n + c].lo & 1) ^ d) << UInt64(out & 63)
                            index += 1
                        }
                        if out & 63 == 63 || out == outputs.count - 1 {
                            res[copy * wpc + out >> 6] = acc
                            acc = 0
                        }
                    }
                }
            })
        }}}}}
        return result
    }

    /// The decoded outputs, copy-major (`batch.copies × circuit.outputs.count`).
    public func evaluate(_ batch: GarbledBatch, evaluatorLabels: [Block], garblerOnlineLabels: [Block]) throws -> [Bool] {
        let words = try evaluatePacked(batch, evaluatorLabels: evaluatorLabels, garblerOnlineLabels: garblerOnlineLabels)
        let outs = circuit.outputs.count, wpc = (outs + 63) / 64
        var result = [Bool](repeating: false, count: batch.copies * outs)
        for c in 0..<batch.copies {
            for o in 0..<outs { result[c * outs + o] = (words[c * wpc + o >> 6] >> UInt64(o & 63)) & 1 == 1 }
        }
        return result
    }
}
