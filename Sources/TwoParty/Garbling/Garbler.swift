// The garbler's side of half-gates garbling (Zahur-Rosulek-Evans, Eurocrypt 2015) with free-XOR: a fresh
// offset Δ (lsb 1) from the OS CSPRNG, input labels from a fresh per-batch AES key (see GarblerBatchState),
// many copies of one circuit garbled at once, outputs as decoding bits or additive shares.
//
// Garbler inputs come in two kinds:
//  - online inputs (e.g. the server's share x_s, known only in the online phase): their zero-labels stay
//    with the garbler; online it sends the active label W0 ⊕ x·Δ, 16 bytes per bit.
//  - known inputs (e.g. a fresh output mask m, chosen at garbling time): they cost nothing. The garbler
//    draws a fresh seed, sends it with the tables, and both sides expand it with AES-CTR into labels L
//    (known input i of copy c of the batch: L = AES_seed(lo: i · 2^32 + c, hi: 0)); the garbler sets the
//    wire's zero-label W0 = L ⊕ m_i·Δ, so the evaluator's active label is L.
//    Security: in the standard protocol the evaluator receives, for each such wire, the active label
//    W_{m_i}, uniformly distributed and independent of m_i and of Δ (because W0 is uniform and independent
//    of everything else); its other label W_{m_i} ⊕ Δ stays hidden. Here the active label is L,
//    pseudorandom and independent of m_i and Δ, and the inactive label is L ⊕ Δ, hidden exactly as before
//    since Δ is. A simulator that picks the seed itself produces the same view (up to PRG security), so
//    the evaluator learns nothing new; the 16-byte seed replaces 16 bytes per bit.
// Outputs (OutputEncoding.swift): either 1-bit decoding (the garbler sends d = lsb(W0) per output wire; the
// evaluator's output is lsb(L) ⊕ d), or additive shares of Σ 2^i·y_i through one projection gate per wire.

public struct Garbler: Sendable {
    public let circuit: Circuit
    /// Garbler inputs whose values are fixed when garbling (their labels come from the shared seed).
    public let knownGarblerInputs: Range<Int>
    let delta: Block
    var prg: AESPRG
    /// The next copy index: tweaks never repeat under this garbler's Δ.
    public private(set) var nextCopy: UInt64 = 0
    public let outputEncoding: OutputEncoding
    let implementation: AES128.Implementation

    /// A garbler with a fresh Δ and label PRG from the operating system's CSPRNG. With `.additiveShares`
    /// the circuit has at most 64 outputs (output i has weight 2^i).
    public init(circuit: Circuit, knownGarblerInputs: Range<Int> = 0..<0, outputEncoding: OutputEncoding = .bits,
                implementation: AES128.Implementation = .automatic) {
        var d = SystemRandom.block()
        d.lo |= 1
        self.init(circuit: circuit, knownGarblerInputs: knownGarblerInputs, outputEncoding: outputEncoding, delta: d,
                  labelSeed: SystemRandom.block(), implementation: implementation)
    }

    /// A garbler whose offset is a correlated OT's Δ (`CorrelatedOTSender.delta`, lsb 1): the OT's q_j are
    /// then the evaluator's zero-labels as they are, and its receiver's outputs its active labels. Copies
    /// are numbered from `firstCopy`: every garbler sharing one Δ must use tweaks no other uses
    /// (`HalfGates`: g = copy · andCount + j; outputs: copy · outputWires + i), see `TweakSpace`.
    public init(circuit: Circuit, knownGarblerInputs: Range<Int> = 0..<0, outputEncoding: OutputEncoding = .bits,
                otDelta delta: Block, firstCopy: UInt64, implementation: AES128.Implementation = .automatic) {
        self.init(circuit: circuit, knownGarblerInputs: knownGarblerInputs, outputEncoding: outputEncoding, delta: delta,
                  labelSeed: SystemRandom.block(), implementation: implementation)
        nextCopy = firstCopy
    }

    /// A reproducible garbler for tests and benchmarks only: never garble real inputs with chosen seeds.
    public init(circuit: Circuit, knownGarblerInputs: Range<Int>, outputEncoding: OutputEncoding = .bits,
                delta: Block, labelSeed: Block, implementation: AES128.Implementation = .automatic) {
        precondition(knownGarblerInputs.lowerBound >= 0 && knownGarblerInputs.upperBound <= circuit.garblerInputCount,
                     "known inputs must be garbler inputs")
        precondition(delta.lsb, "Δ must have lsb 1")
        precondition(outputEncoding == .bits || circuit.outputs.count <= 64,
                     "additive-share outputs are the bits of one 64-bit word: at most 64 outputs")
        precondition(outputEncoding != .gatedShares || circuit.outputWireCount == circuit.outputs.count,
                     "gated outputs are wires: values, then the gate")
        self.circuit = circuit
        self.knownGarblerInputs = knownGarblerInputs
        self.outputEncoding = outputEncoding
        self.delta = delta
        self.prg = AESPRG(seed: labelSeed)
        self.implementation = implementation
    }

    /// Δ, the offset between every wire's two labels (lsb 1), fixed for this garbler's lifetime. A
    /// correlated OT needs it to hand the evaluator zero ⊕ bit·Δ. Secret: never send it.
    public var labelOffset: Block { delta }

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
        return try garble(copies: copies, knownInputWords: packBits(knownInputValues, copies: copies, bitsPerCopy: k))
    }

    /// As `garble(copies:knownInputValues:)` with the known values packed: copy c's known input i is bit
    /// i % 64 of `knownInputWords[c · w + i / 64]`, w = ⌈knownGarblerInputs.count / 64⌉.
    ///
    /// `evaluatorZeroLabels` (input-major, `evaluatorInputCount × copies`), when given, become the zero-labels
    /// of the evaluator's input wires instead of fresh ones: this is how a correlated OT that fixes the
    /// zero-labels itself (the receiver gets zero ⊕ bit·Δ, with Δ = `labelOffset`) plugs in. They must be
    /// uniformly random and secret to the evaluator, as an OT's random pads are.
    public mutating func garble(copies: Int, knownInputWords: [UInt64],
                                evaluatorZeroLabels: [Block]? = nil) throws -> (batch: GarbledBatch, state: GarblerBatchState) {
        var batch = GarbledBatch.empty
        let state = try garble(copies: copies, knownInputWords: knownInputWords, evaluatorZeroLabels: evaluatorZeroLabels,
                               into: &batch)
        return (batch, state)
    }

    /// As `garble(copies:knownInputWords:evaluatorZeroLabels:)`, writing the batch into `batch` and reusing
    /// its buffers when nothing else holds them: a streaming sender garbles into the same batch after
    /// sending the previous one, and skips allocating (and faulting in) fresh memory for every batch.
    public mutating func garble(copies: Int, knownInputWords: [UInt64], evaluatorZeroLabels: [Block]? = nil,
                                into batch: inout GarbledBatch) throws -> GarblerBatchState {
        let k = knownGarblerInputs.count, wpc = (k + 63) / 64
        guard copies >= 0 && copies < 1 << 32 else {
            throw GarblingError.invalidParameter("a batch holds 0 ..< 2^32 copies, asked for \(copies)")
        }
        guard knownInputWords.count == copies * wpc else {
            throw GarblingError.wrongCount(what: "known garbler input words", expected: copies * wpc, got: knownInputWords.count)
        }
        let g = circuit.garblerInputCount, e = circuit.evaluatorInputCount
        if let given = evaluatorZeroLabels, given.count != copies * e {
            throw GarblingError.wrongCount(what: "evaluator zero-labels", expected: copies * e, got: given.count)
        }
        let online = onlineGarblerInputs, o = online.count
        let w = circuit.outputWireCount
        let wireOutputs: [Int] = circuit.outputs.compactMap { if case .wire(let x) = $0 { return Int(x.index) } else { return nil } }
        let seed: Block? = k > 0 ? SystemRandom.block() : nil
        let shared = seed.map { AES128(key: $0) }
        let delta = self.delta
        // Every entry of these three is written below (the kernel fills all tables): skip zero-filling them.
        // Take the old batch's buffers (unique if the caller kept no copy) and resize them in place.
        var tables: [Block] = [], decoding: [UInt8] = [], rows: [UInt64] = []
        swap(&tables, &batch.tables)
        swap(&decoding, &batch.outputDecoding)
        swap(&rows, &batch.arithmeticOutputs)
        let additive = outputEncoding.isArithmetic, gated = outputEncoding == .gatedShares
        resize(&tables, to: copies * circuit.andCount * 2, zeroed: false) // the kernel writes every entry
        resize(&decoding, to: additive ? 0 : (copies * w + 7) / 8, zeroed: true)
        resize(&rows, to: outputEncoding.rowCount(copies: copies, outputWires: w), zeroed: false)   // every row is written
        // The input zero-labels come from a fresh per-batch key by counter, so the garbler keeps the key,
        // not the labels (GarblerBatchState.zeroLabel): online input j is slot j, evaluator input i slot o + i.
        let inputLabels = AES128(key: prg.nextBlock())
        var shares = [UInt64](repeating: 0, count: additive ? copies : 0)
        let wirePositions: [Int] = circuit.outputs.indices.filter { if case .wire = circuit.outputs[$0] { return true } else { return false } }
        let hasher = HalfGates.hasher(implementation)
        let scratchCount = additive ? (gated ? 8 : 3) * min(copies, HalfGates.chunkSize(circuit)) : 0
        let scratch = UnsafeMutablePointer<Block>.allocate(capacity: max(1, scratchCount))
        defer { scratch.deallocate() }
        let firstCopy = nextCopy
        let known = knownGarblerInputs
        tables.withUnsafeMutableBufferPointer { tab in
        decoding.withUnsafeMutableBufferPointer { dec in
        rows.withUnsafeMutableBufferPointer { rowsOut in
        shares.withUnsafeMutableBufferPointer { sharesOut in
        knownInputWords.withUnsafeBufferPointer { words in
            HalfGates.garbleChunks(circuit, delta: delta, firstCopy: nextCopy, copies: copies, tables: tab.baseAddress,
                                   implementation: implementation,
                                   fill: { labels, start, n in
                // Fresh uniform zero-labels for the online and evaluator inputs (or the caller's).
                for (j, i) in online.enumerated() {
                    GarblerBatchState.zeroLabels(inputLabels, slot: j, firstCopy: start, into: labels + i * n, count: n)
                }
                if let given = evaluatorZeroLabels {
                    given.withUnsafeBufferPointer { given in
                        for i in 0..<e { (labels + (g + i) * n).update(from: given.baseAddress! + i * copies + start, count: n) }
                    }
                } else {
                    for i in 0..<e {
                        GarblerBatchState.zeroLabels(inputLabels, slot: o + i, firstCopy: start, into: labels + (g + i) * n, count: n)
                    }
                }
                // Known inputs: active label L = AES_seed(i · 2^32 + copy), zero-label L ⊕ value · Δ.
                if let shared {
                    for q in 0..<k {
                        let row = labels + (known.lowerBound + q) * n
                        shared.keystream(counter: UInt64(q) << 32 + UInt64(start), into: UnsafeMutableBufferPointer(start: row, count: n))
                        for c in 0..<n {
                            let bit = (words[(start + c) * wpc + q >> 6] >> UInt64(q & 63)) & 1 == 1
                            row[c] ^= delta.masked(by: bit)
                        }
                    }
                }
            }, read: { labels, start, n in
                if gated {
                    guard w > 1 else { return }
                    // Gated projections (OutputEncoding.swift): per copy, the labels of lsb 0 and 1 of the
                    // value wire (A) and of the gate wire (S), each row's two hash inputs with its tweaks
                    // moved into them (FixedKeyAES.tweakOffset), all hashed in one call; then r_i making
                    // row (0, 0) zero, and the other three rows.
                    let h = scratch
                    let gateRow = labels + wireOutputs[w - 1] * n
                    let stride = UInt64(w) << 3
                    for index in 0..<(w - 1) {
                        let row = labels + wireOutputs[index] * n
                        let weight: UInt64 = 1 << UInt64(wirePositions[index])
                        var tweak = OutputEncoding.gatedTweak(copy: firstCopy + UInt64(start), output: index, outputWires: w,
                                                              u: 0, v: 0, side: 0)
                        for c in 0..<n {
                            let a0 = row[c].lo & 1 == 0 ? row[c] : row[c] ^ delta      // lsb 0
                            let s0 = gateRow[c].lo & 1 == 0 ? gateRow[c] : gateRow[c] ^ delta
                            let a1 = a0 ^ delta, s1 = s0 ^ delta
                            let k = h + 8 * c
                            k[0] = a0 ^ FixedKeyAES.tweakOffset(tweak | 0); k[1] = s0 ^ FixedKeyAES.tweakOffset(tweak | 1)
                            k[2] = a0 ^ FixedKeyAES.tweakOffset(tweak | 2); k[3] = s1 ^ FixedKeyAES.tweakOffset(tweak | 3)
                            k[4] = a1 ^ FixedKeyAES.tweakOffset(tweak | 4); k[5] = s0 ^ FixedKeyAES.tweakOffset(tweak | 5)
                            k[6] = a1 ^ FixedKeyAES.tweakOffset(tweak | 6); k[7] = s1 ^ FixedKeyAES.tweakOffset(tweak | 7)
                            tweak &+= stride
                        }
                        hasher.hash(UnsafeMutableBufferPointer(start: h, count: 8 * n), firstTweak: 0, tweakStride: 0)
                        for c in 0..<n {
                            // The label of lsb u carries the bit u ⊕ (the zero-label's lsb).
                            let pa = row[c].lo & 1, ps = gateRow[c].lo & 1
                            let k = h + 8 * c
                            @inline(__always) func value(_ u: UInt64, _ v: UInt64) -> UInt64 { (0 &- ((u ^ pa) & (v ^ ps))) & weight }
                            let r = (k[0].lo ^ k[1].lo) &- value(0, 0)
                            let base = ((start + c) * (w - 1) + index) * 3
                            rowsOut[base] = k[2].lo ^ k[3].lo ^ (r &+ value(0, 1))
                            rowsOut[base + 1] = k[4].lo ^ k[5].lo ^ (r &+ value(1, 0))
                            rowsOut[base + 2] = k[6].lo ^ k[7].lo ^ (r &+ value(1, 1))
                            sharesOut[start + c] &-= r
                        }
                    }
                    return
                }
                if additive {
                    // One projection gate per output wire (OutputEncoding.swift): hash both labels of the
                    // row under the wire's tweaks, then write the two rows in permute-bit order.
                    let h0 = scratch, h1 = scratch + n, r = scratch + 2 * n
                    for (index, wire) in wireOutputs.enumerated() {
                        let row = labels + wire * n
                        for c in 0..<n { h0[c] = row[c]; h1[c] = row[c] ^ delta }
                        let tweak = OutputEncoding.tweak(copy: firstCopy + UInt64(start), output: index, outputWires: w)
                        hasher.hash(UnsafeMutableBufferPointer(start: h0, count: n), firstTweak: tweak, tweakStride: UInt64(w))
                        hasher.hash(UnsafeMutableBufferPointer(start: h1, count: n), firstTweak: tweak, tweakStride: UInt64(w))
                        prg.fill(UnsafeMutableBufferPointer(start: r, count: n))
                        let weight: UInt64 = 1 << UInt64(wirePositions[index])
                        for c in 0..<n {
                            let base = ((start + c) * w + index) * 2
                            let p = Int(row[c].lo & 1) // row of the zero-label
                            rowsOut[base + p] = h0[c].lo ^ r[c].lo
                            rowsOut[base + 1 - p] = h1[c].lo ^ (r[c].lo &+ weight)
                            sharesOut[start + c] &-= r[c].lo
                        }
                    }
                    return
                }
                // Decoding bits, group by group (chunks start on group boundaries): one output's bits for a
                // group of 16 copies are 16 consecutive bits, byte-aligned for a whole group.
                for g0 in stride(from: 0, to: n, by: GarbledBatch.decodingGroup) {
                    let size = min(GarbledBatch.decodingGroup, n - g0)
                    let base = (start + g0) * w
                    for (index, wire) in wireOutputs.enumerated() {
                        let row = labels + wire * n + g0
                        var bits: UInt32 = 0
                        for q in 0..<size { bits |= UInt32(truncatingIfNeeded: row[q].lo & 1) << UInt32(q) }
                        let first = base + index * size
                        if size == 16 { // first is a multiple of 16
                            dec[first >> 3] = UInt8(truncatingIfNeeded: bits)
                            dec[(first >> 3) + 1] = UInt8(truncatingIfNeeded: bits >> 8)
                        } else {
                            for q in 0..<size {
                                let bit = first + q
                                dec[bit >> 3] |= UInt8(truncatingIfNeeded: (bits >> UInt32(q)) & 1) << UInt8(bit & 7)
                            }
                        }
                    }
                }
            })
        }}}}}
        batch = GarbledBatch(firstCopy: nextCopy, copies: copies, andCount: circuit.andCount, outputWireCount: w,
                             tables: tables, outputDecoding: decoding, knownInputSeed: seed,
                             outputEncoding: outputEncoding, arithmeticOutputs: rows)
        nextCopy += UInt64(copies)
        let state = GarblerBatchState(copies: copies, delta: delta, onlineInputCount: o, evaluatorInputCount: e,
                                      inputLabels: inputLabels, givenEvaluatorZeroLabels: evaluatorZeroLabels,
                                      outputShares: additive ? shares : nil)
        return state
    }
}

/// The tweaks used so far under one Δ by a sequence of garblers of different circuits: each new garbler's
/// first copy puts all its AND-gate indices g = copy · andCount + j and all its output tweaks
/// copy · outputWires + i above every earlier one, so none repeats (a session's ReLU layers share the OT's Δ).
public struct TweakSpace: Sendable {
    var gates: UInt64 = 0
    var outputs: UInt64 = 0

    public init() {}

    /// The first copy for `copies` copies of `circuit`, reserving their tweaks.
    public mutating func reserve(copies: Int, of circuit: Circuit) -> UInt64 {
        let a = UInt64(max(circuit.andCount, 1)), w = UInt64(max(circuit.outputWireCount, 1))
        let first = max((gates + a - 1) / a, (outputs + w - 1) / w)
        gates = (first + UInt64(copies)) * a
        outputs = (first + UInt64(copies)) * w
        return first
    }
}

/// Sets `array.count` to `count` keeping its storage when the capacity suffices; with `zeroed` every
/// element is zero afterwards, else the contents are arbitrary (for buffers that are overwritten entirely).
func resize<T: FixedWidthInteger>(_ array: inout [T], to count: Int, zeroed: Bool) {
    if array.count != count || zeroed {
        array.removeAll(keepingCapacity: true)
        array.append(contentsOf: repeatElement(0, count: count))
    }
}

func resize(_ array: inout [Block], to count: Int, zeroed: Bool) {
    if array.count != count || zeroed {
        array.removeAll(keepingCapacity: true)
        array.append(contentsOf: repeatElement(.zero, count: count))
    }
}

/// Packs copy-major bits (`copies × bitsPerCopy`) into ⌈bitsPerCopy / 64⌉ words per copy.
func packBits(_ bits: [Bool], copies: Int, bitsPerCopy: Int) -> [UInt64] {
    let wpc = (bitsPerCopy + 63) / 64
    var words = [UInt64](repeating: 0, count: copies * wpc)
    for c in 0..<copies {
        for i in 0..<bitsPerCopy where bits[c * bitsPerCopy + i] { words[c * wpc + i >> 6] |= 1 << UInt64(i & 63) }
    }
    return words
}
