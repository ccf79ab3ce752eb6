// The evaluator's side of half-gates garbling (Zahur-Rosulek-Evans, Eurocrypt 2015): assembles the
// active input labels (its own from OT, the garbler's online ones, the garbler's known ones from the
// shared seed; see Garbler.swift), evaluates every copy, and decodes each output as lsb(label) ⊕ d.
// A wrong label (one the garbler did not produce for that wire) yields pseudorandom labels downstream,
// hence garbage outputs, not a wrong-but-plausible answer with any useful probability.

public struct Evaluator: Sendable {
    public let circuit: Circuit
    public let knownGarblerInputs: Range<Int>
    public let outputEncoding: OutputEncoding
    let implementation: AES128.Implementation

    public init(circuit: Circuit, knownGarblerInputs: Range<Int> = 0..<0, outputEncoding: OutputEncoding = .bits,
                implementation: AES128.Implementation = .automatic) {
        precondition(knownGarblerInputs.lowerBound >= 0 && knownGarblerInputs.upperBound <= circuit.garblerInputCount,
                     "known inputs must be garbler inputs")
        precondition(outputEncoding == .bits || circuit.outputs.count <= 64,
                     "additive-share outputs are the bits of one 64-bit word: at most 64 outputs")
        precondition(outputEncoding != .gatedShares || circuit.outputWireCount == circuit.outputs.count,
                     "gated outputs are wires: values, then the gate")
        self.circuit = circuit
        self.knownGarblerInputs = knownGarblerInputs
        self.outputEncoding = outputEncoding
        self.implementation = implementation
    }

    var onlineGarblerInputs: [Int] { (0..<circuit.garblerInputCount).filter { !knownGarblerInputs.contains($0) } }

    /// With `OutputEncoding.bits`, the decoded outputs, packed: output o of copy c is bit o % 64 of
    /// `result[c · w + o / 64]`, w = ⌈outputs.count / 64⌉. With `.additiveShares`, one word per copy: the
    /// evaluator's share of Σ 2^o·y_o (the garbler holds the other, `GarblerBatchState.outputShares`).
    /// - evaluatorLabels: from OT, input-major `evaluatorInputCount × copies` (input i of copy c at i · copies + c),
    ///   every copy's even with `copies` (`GarblerBatchState.evaluatorInputLabelPairs`).
    /// - garblerOnlineLabels: from the garbler online, input-major `(online garbler inputs) × copies`
    ///   (`GarblerBatchState.onlineInputLabels`).
    /// - copies: evaluates those copies only (the first a multiple of 16, the table and decoding groups), with
    ///   `garblerOnlineLabels` of those copies only; the result holds those copies' words. Nil: all.
    public func evaluatePacked(_ batch: GarbledBatch, evaluatorLabels: [Block], garblerOnlineLabels: [Block],
                               copies range: Range<Int>? = nil) throws -> [UInt64] {
        let all = batch.copies, g = circuit.garblerInputCount, e = circuit.evaluatorInputCount
        let online = onlineGarblerInputs, o = online.count, k = knownGarblerInputs.count
        let w = circuit.outputWireCount
        let additive = outputEncoding.isArithmetic, gated = outputEncoding == .gatedShares
        let wpc = additive ? 1 : (circuit.outputs.count + 63) / 64
        guard batch.andCount == circuit.andCount, batch.outputWireCount == w else {
            throw GarblingError.circuitMismatch(expectedAndGates: circuit.andCount, gotAndGates: batch.andCount,
                                                expectedOutputs: w, gotOutputs: batch.outputWireCount)
        }
        guard all >= 0 && all < 1 << 32 else {
            throw GarblingError.invalidParameter("a batch holds 0 ..< 2^32 copies, got \(all)")
        }
        guard batch.tables.count == all * circuit.andCount * 2 else {
            throw GarblingError.wrongCount(what: "garbled tables", expected: all * circuit.andCount * 2, got: batch.tables.count)
        }
        guard batch.outputEncoding == outputEncoding else {
            throw GarblingError.malformedBatch("the batch encodes its outputs as \(batch.outputEncoding), the evaluator expects \(outputEncoding)")
        }
        let decodingBytes = additive ? 0 : (all * w + 7) / 8, rowCount = outputEncoding.rowCount(copies: all, outputWires: w)
        guard batch.outputDecoding.count == decodingBytes else {
            throw GarblingError.wrongCount(what: "output decoding bytes", expected: decodingBytes, got: batch.outputDecoding.count)
        }
        guard batch.arithmeticOutputs.count == rowCount else {
            throw GarblingError.wrongCount(what: "projection rows", expected: rowCount, got: batch.arithmeticOutputs.count)
        }
        guard evaluatorLabels.count == all * e else {
            throw GarblingError.wrongCount(what: "evaluator input labels", expected: all * e, got: evaluatorLabels.count)
        }
        let range = range ?? 0..<all
        // Tables come in groups of 16 copies (CAES_TABLE_GROUP), decoding bits in groups of decodingGroup (16): a
        // range starting on a group boundary sees the same layout as the whole batch.
        guard range.lowerBound >= 0 && range.upperBound <= all && range.lowerBound % 16 == 0 else {
            throw GarblingError.invalidParameter("copies \(range) of a batch of \(all): the first must be a multiple of 16")
        }
        let base = range.lowerBound, copies = range.count
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
        let hasher = HalfGates.hasher(implementation)
        let scratch = UnsafeMutablePointer<Block>.allocate(capacity: additive ? 2 * min(copies, HalfGates.chunkSize(circuit)) : 1)
        defer { scratch.deallocate() }
        result.withUnsafeMutableBufferPointer { res in
        batch.tables.withUnsafeBufferPointer { tab in
        batch.outputDecoding.withUnsafeBufferPointer { dec in
        batch.arithmeticOutputs.withUnsafeBufferPointer { rows in
        evaluatorLabels.withUnsafeBufferPointer { evL in
        garblerOnlineLabels.withUnsafeBufferPointer { onL in
            HalfGates.evaluateChunks(circuit, firstCopy: batch.firstCopy &+ UInt64(base), copies: copies,
                                     tables: tab.baseAddress.map { $0 + 2 * circuit.andCount * base },
                                     implementation: implementation,
                                     fill: { labels, start, n in
                // Both sides' labels arrive input-major: a chunk's row of an input is one contiguous copy.
                for (j, i) in online.enumerated() {
                    (labels + i * n).update(from: onL.baseAddress! + j * copies + start, count: n)
                }
                for i in 0..<e {
                    (labels + (g + i) * n).update(from: evL.baseAddress! + i * all + base + start, count: n)
                }
                if let shared {
                    for q in 0..<k {
                        shared.keystream(counter: UInt64(q) << 32 + UInt64(base + start),
                                         into: UnsafeMutableBufferPointer(start: labels + (known.lowerBound + q) * n, count: n))
                    }
                }
            }, read: { labels, start, n in
                if gated {
                    // Gated projections (OutputEncoding.swift): both labels hashed under the tweaks of the row
                    // their permute bits point at (each moved into its input: one batched call per side).
                    guard w > 1, case .wire(let gateWire) = outputs[w - 1] else { return }
                    let gateRow = labels + Int(gateWire.index) * n
                    let ha = scratch, hs = scratch + n
                    for index in 0..<(w - 1) {
                        guard case .wire(let wire) = outputs[index] else { continue }
                        let row = labels + Int(wire.index) * n
                        // Row (u, v)'s tweaks: the copy's (u = v = 0, side 0) tweak plus 4u + 2v + side.
                        var tweak = OutputEncoding.gatedTweak(copy: batch.firstCopy &+ UInt64(base + start), output: index, outputWires: w,
                                                              u: 0, v: 0, side: 0)
                        let stride = UInt64(w) << 3
                        for c in 0..<n {
                            let t = tweak | (row[c].lo & 1) << 2 | (gateRow[c].lo & 1) << 1
                            ha[c] = row[c] ^ FixedKeyAES.tweakOffset(t)
                            hs[c] = gateRow[c] ^ FixedKeyAES.tweakOffset(t | 1)
                            tweak &+= stride
                        }
                        hasher.hash(UnsafeMutableBufferPointer(start: ha, count: 2 * n), firstTweak: 0, tweakStride: 0)
                        var at = (((base + start) * (w - 1)) + index) * 3 - 1
                        for c in 0..<n {
                            let r = Int((row[c].lo & 1) << 1 | (gateRow[c].lo & 1))   // 2u + v; row 0 is not sent
                            let sent = rows[at + max(r, 1)] & (r == 0 ? 0 : .max)
                            res[start + c] &+= ha[c].lo ^ hs[c].lo ^ sent
                            at += 3 * (w - 1)
                        }
                    }
                    return
                }
                if additive {
                    // Projection gates (OutputEncoding.swift): H(L, t) ⊕ row[lsb(L)] = r + y·2^o, summed.
                    var index = 0
                    for (out, output) in outputs.enumerated() {
                        let weight: UInt64 = 1 << UInt64(out)
                        switch output {
                        case .constant(let v):
                            if v { for c in 0..<n { res[start + c] &+= weight } }
                        case .wire(let wire):
                            let row = labels + Int(wire.index) * n
                            for c in 0..<n { scratch[c] = row[c] }
                            let tweak = OutputEncoding.tweak(copy: batch.firstCopy &+ UInt64(base + start), output: index, outputWires: w)
                            hasher.hash(UnsafeMutableBufferPointer(start: scratch, count: n), firstTweak: tweak, tweakStride: UInt64(w))
                            for c in 0..<n {
                                let at = ((base + start + c) * w + index) * 2
                                res[start + c] &+= scratch[c].lo ^ rows[at + Int(row[c].lo & 1)]
                            }
                            index += 1
                        }
                    }
                    return
                }
                // Group by group (see GarbledBatch.decodingBitIndex), output by output: the group's result
                // words stay in L1 while each output row is read sequentially.
                for g0 in stride(from: 0, to: n, by: GarbledBatch.decodingGroup) {
                    let size = min(GarbledBatch.decodingGroup, n - g0)
                    let first0 = (base + start + g0) * w
                    let words = res.baseAddress! + (start + g0) * wpc
                    var index = 0 // among wire outputs
                    for (out, output) in outputs.enumerated() {
                        let word = out >> 6, shift = UInt64(out & 63)
                        switch output {
                        case .constant(let v):
                            if v { for q in 0..<size { words[q * wpc + word] |= 1 << shift } }
                        case .wire(let wire):
                            let row = labels + Int(wire.index) * n + g0
                            let first = first0 + index * size
                            for q in 0..<size {
                                let bit = first + q
                                let d = UInt64(dec[bit >> 3] >> UInt8(bit & 7)) & 1
                                words[q * wpc + word] |= ((row[q].lo & 1) ^ d) << shift
                            }
                            index += 1
                        }
                    }
                }
            })
        }}}}}}
        return result
    }

    /// The decoded outputs, copy-major (`batch.copies × circuit.outputs.count`); `OutputEncoding.bits` only.
    public func evaluate(_ batch: GarbledBatch, evaluatorLabels: [Block], garblerOnlineLabels: [Block]) throws -> [Bool] {
        guard outputEncoding == .bits else {
            throw GarblingError.invalidParameter("outputs encoded as additive shares have no bits to decode: use evaluatePacked")
        }
        let words = try evaluatePacked(batch, evaluatorLabels: evaluatorLabels, garblerOnlineLabels: garblerOnlineLabels)
        let outs = circuit.outputs.count, wpc = (outs + 63) / 64
        var result = [Bool](repeating: false, count: batch.copies * outs)
        for c in 0..<batch.copies {
            for o in 0..<outs { result[c * outs + o] = (words[c * wpc + o >> 6] >> UInt64(o & 63)) & 1 == 1 }
        }
        return result
    }
}
