// The garbler's secret state for one garbled batch (see Garbler.swift).

/// What the garbler keeps after garbling a batch: the key its input zero-labels were derived from (or the
/// caller's evaluator zero-labels), Δ, and with additive outputs its output shares. Secret.
public struct GarblerBatchState: Sendable {
    public let copies: Int
    let delta: Block
    public let onlineInputCount: Int
    public let evaluatorInputCount: Int
    /// Zero-label of input slot s (online inputs 0..<o, then evaluator inputs) of copy c:
    /// AES_key(lo: s · 2^32 + c, hi: 0), a PRG under a fresh key from the garbler's CSPRNG-seeded PRG.
    let inputLabels: AES128
    let givenEvaluatorZeroLabels: [Block]?
    /// With `OutputEncoding.additiveShares`: the garbler's share (-Σ r_i) of each copy's output word.
    public let outputShares: [UInt64]?

    /// Writes the zero-labels of input slot `slot` for copies firstCopy ..< firstCopy + count.
    static func zeroLabels(_ key: AES128, slot: Int, firstCopy: Int, into out: UnsafeMutablePointer<Block>, count: Int) {
        key.keystream(counter: UInt64(slot) << 32 + UInt64(firstCopy), into: UnsafeMutableBufferPointer(start: out, count: count))
    }

    /// The zero-labels of `slotCount` slots from `firstSlot`, input-major (`slotCount × copies`).
    func zeroLabels(firstSlot: Int, slotCount: Int) -> [Block] {
        var out = uninitializedBlocks(slotCount * copies)
        out.withUnsafeMutableBufferPointer { out in
            for s in 0..<slotCount where copies > 0 {
                GarblerBatchState.zeroLabels(inputLabels, slot: firstSlot + s, firstCopy: 0, into: out.baseAddress! + s * copies, count: copies)
            }
        }
        return out
    }

    /// The OT sender's messages for the evaluator's input wires, input-major (`evaluatorInputCount × copies`:
    /// input i of copy c at i · copies + c): the evaluator must receive `one[j]` where its input bit j is 1, else
    /// `zero[j]`.
    public func evaluatorInputLabelPairs() -> (zero: [Block], one: [Block]) {
        let zero = givenEvaluatorZeroLabels ?? zeroLabels(firstSlot: onlineInputCount, slotCount: evaluatorInputCount)
        return (zero, zero.map { $0 ^ delta })
    }

    /// Δ, the offset between every wire's two labels. A correlated OT (the receiver gets zero ⊕ b·Δ) can
    /// transfer the evaluator's labels with half the bytes of a general OT. Secret: never send it.
    public var labelOffset: Block { delta }

    /// The active labels of the garbler's online inputs, input-major (`onlineInputCount × copies` labels:
    /// input i of copy c at i · copies + c), the order in which the garbler makes them and the evaluator reads
    /// them, so that neither side transposes. `values` is copy-major (`copies × onlineInputCount`).
    public func onlineInputLabels(values: [Bool]) throws -> [Block] {
        guard values.count == copies * onlineInputCount else {
            throw GarblingError.wrongCount(what: "garbler online input values", expected: copies * onlineInputCount, got: values.count)
        }
        return try onlineInputLabels(words: packBits(values, copies: copies, bitsPerCopy: onlineInputCount))
    }

    /// As `onlineInputLabels(values:)` with the values packed: online input i of copy c is bit i % 64 of
    /// `words[c · w + i / 64]`, w = ⌈onlineInputCount / 64⌉.
    /// With `copies`, the labels of those copies only (`onlineInputCount × copies.count`, input-major), from
    /// the words of every copy: what one frame of a streamed online message carries.
    public func onlineInputLabels(words: [UInt64], copies range: Range<Int>? = nil) throws -> [Block] {
        let wpc = (onlineInputCount + 63) / 64
        guard words.count == copies * wpc else {
            throw GarblingError.wrongCount(what: "garbler online input words", expected: copies * wpc, got: words.count)
        }
        let range = range ?? 0..<copies
        guard range.lowerBound >= 0 && range.upperBound <= copies else {
            throw GarblingError.invalidParameter("copies \(range) outside the batch's 0..<\(copies)")
        }
        let o = onlineInputCount, n = range.count, first = range.lowerBound, delta = self.delta
        var out = uninitializedBlocks(o * n)
        out.withUnsafeMutableBufferPointer { out in
            words.withUnsafeBufferPointer { words in
                for i in 0..<o where n > 0 {
                    let row = out.baseAddress! + i * n
                    GarblerBatchState.zeroLabels(inputLabels, slot: i, firstCopy: first, into: row, count: n)
                    let word = i >> 6, shift = UInt64(i & 63)
                    for c in 0..<n {
                        let mask = 0 &- ((words[(first + c) * wpc + word] >> shift) & 1)
                        row[c] = row[c] ^ Block(lo: delta.lo & mask, hi: delta.hi & mask)
                    }
                }
            }
        }
        return out
    }
}
