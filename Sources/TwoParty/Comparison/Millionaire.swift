// Secure comparison ("millionaires'"): XOR shares of 1{x < y} for the OT sender's x and the OT receiver's
// y, both below 2^ℓ, from correlated OT alone (CrypTFlow2: Rathee, Chandran, Gupta, Rastogi, Sharma,
// "CrypTFlow2: Practical 2-Party Secure Inference", CCS 2020, section 3; the building block of Cheetah's
// and SCI's ReLU). Semi-honest.
//
// The ℓ bits are cut into q = ⌈ℓ/4⌉ blocks of 4 (zero-padded at the top on both sides, which changes no
// comparison). Per block j, a 1-of-16 OT on the receiver's y_j gives XOR shares of lt_j = 1{x_j < y_j} and
// eq_j = 1{x_j = y_j}: the sender offers, for every v, its random (lt0, eq0) masked with (1{x_j < v},
// 1{x_j = v}). The blocks are then combined from the least significant up, in ⌈log2 q⌉ levels:
// lt = lt_hi ⊕ (eq_hi ∧ lt_lo), eq = eq_hi ∧ eq_lo, each AND with a Beaver bit triple made by a 1-of-4
// OT beforehand (`prepareSend`/`beginReceive` extend and hash the leaves' and the triples' COTs; the
// triples' table goes out by `sendTripleTable`/`finishReceive`, and the sender's table of entries XOR pads
// waits for its input, `send(_:prepared:channel:)`). Shared
// bits stay packed 64 to a word throughout (the ANDs of a level are word operations). The levels'
// openings are pipelined (`openingSchedule`): a side's level-l openings wait only for the other side's
// level l - 1 openings, so each message carries two levels and a tree of T levels takes T + 1 messages
// after the table's (2T with strict turns).
//
// 1-of-2^m OTs come from m chosen COTs (the receiver's choice bits are the bits of its choice v), with
// keys k_x^b = q_x ⊕ b·Δ. The pad of entry v is the XOR over levels x of H(k_x^(v_x), τ(x, v_x, v mod 2^x)):
// a tweakable correlation-robust hash (FixedKeyAES) of level x's key under a tweak naming the level, the
// key bit and the *prefix* v mod 2^x only (the prefix form of Naor and Pinkas' 1-of-N from log N 1-of-2
// OTs, STOC 1999, as SCI's 1-of-N OT uses it): the sender hashes 2 (2^m - 1) times per instance instead of
// m 2^m, the receiver m times. Security for a receiver choosing c: for v ≠ c let h be the highest bit where
// v and c differ; pad v holds the term (h, ¬c_h, v mod 2^h), which the receiver cannot compute, and which
// no pad with a lower h holds (those agree with c at bit h) nor any other pad with the same h (the prefix
// and the bits above h fix v). Ordered by h, every pad brings a fresh pseudorandom term, so the pads of
// all entries but c are jointly pseudorandom to the receiver.
// Tweaks: the term at `position(x, b, y)` of instance e of a batch whose first COT is A is
// 2^62 + 512 A + e W + position, W = 2 (2^m - 1) < 512: the ranges of distinct COT runs do not meet.
// Both sides extend and hash a batch in chunks of at most `chunkCOTs` COTs (bounded, cache-sized scratch).
// Traffic per comparison of ℓ = 40 bits with silent COTs: 10 blocks x (4 COTs + 32 table bits) and at most
// 18 triples x (2 COTs + 4 table bits) + 4 opening bits per AND: about 120 bytes (prepared ahead, only the
// leaf tables and the openings, about 50, come once the inputs exist); with IKNP, 1.1 KB.
import Transport

/// 1-out-of-2^m OT of short messages (at most 64 bits) from m correlated OTs per instance.
public enum SmallOT {
    static let tableMessage: UInt16 = 0x0301
    /// COTs extended and hashed at a time (256 KB of keys: stays in L2).
    static let chunkCOTs = 1 << 14

    /// A batch of instances: the sender's entries packed in a bit stream, instance e's entry v at bit
    /// (e 2^m + v) bits (the layout of the table message).
    struct Batch {
        let m: Int, bits: Int, count: Int
        var entries: [UInt64]
    }

    /// Hash terms per instance: two keys per level x, each under the 2^x prefixes.
    @inline(__always) static func terms(m: Int) -> Int { 2 * ((1 << m) - 1) }
    /// Index of the term of level x, key bit b, prefix y among an instance's terms.
    @inline(__always) static func position(level x: Int, bit b: Int, prefix y: Int) -> Int { 2 * ((1 << x) - 1) + (b << x) + y }
    /// Tweak of the first term of a batch whose first COT is `first`.
    @inline(__always) static func tweakBase(_ first: UInt64) -> UInt64 { (1 << 62) | (first << 9) }

    /// The sender: `messages[e * 2^m + v]` is instance e's entry v (its low `bits` bits are sent).
    public static func send(_ ot: any CorrelatedOTSender, m: Int, bits: Int, messages: [UInt64]) throws {
        precondition(messages.count % (1 << m) == 0, "small OT: \(messages.count) entries for m = \(m)")
        var writer = BitWriter(reservingBits: messages.count * bits)
        for message in messages { writer.append(message, width: bits) }
        try send(ot, batches: [Batch(m: m, bits: bits, count: messages.count >> m, entries: writer.finish())])
    }

    /// Several batches, each with its own m and entry width, in one table message (one flight pair for all).
    static func send(_ ot: any CorrelatedOTSender, batches: [Batch]) throws {
        let pads = try batches.map { try senderPads(ot, m: $0.m, bits: $0.bits, count: $0.count) }
        try sendTable(Array(zip(batches, pads)), channel: ot.channel)
    }

    /// The table message of batches whose pads `senderPads` made (possibly offline, long before): entries
    /// XOR pads, batch after batch, word by word (both in the table's layout).
    static func sendTable(_ batches: [(batch: Batch, pads: [UInt64])], channel: any Channel) throws {
        var table = BitWriter(reservingBits: batches.reduce(0) { $0 + ($1.batch.count << $1.batch.m) * $1.batch.bits })
        for (batch, pads) in batches {
            let total = (batch.count << batch.m) * batch.bits, full = total / 64, rest = total % 64
            precondition(batch.entries.count == (total + 63) / 64 && pads.count == batch.entries.count, "small OT: pads of another batch")
            for w in 0..<full { table.append(batch.entries[w] ^ pads[w], width: 64) }
            if rest > 0 { table.append(batch.entries[full] ^ pads[full], width: rest) }
        }
        try channel.sendMessage(type: tableMessage, table.finish())
        try channel.flush()
    }

    /// The sender's pads of `count` instances (each pad `bits` wide), in the table's layout: instance e's
    /// entry v's pad at bit (e 2^m + v) bits. Extends the instances' COTs now (the receiver's `receivePads`
    /// at the same time, with its choices), chunk by chunk.
    static func senderPads(_ ot: any CorrelatedOTSender, m: Int, bits: Int, count n: Int) throws -> [UInt64] {
        precondition((1...8).contains(m) && (1...64).contains(bits), "small OT: bad sizes")
        let width = 1 << m, terms = terms(m: m)
        let chunk = max(1, chunkCOTs / m)
        let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
        var output = BitWriter(reservingBits: (n << m) * bits)
        var q = uninitializedBlocks(min(n, chunk) * m)
        var keys = uninitializedBlocks(min(n, chunk) * terms)
        var pads = [UInt64](repeating: 0, count: width)
        let delta = ot.delta
        var base: UInt64 = 0
        var start = 0
        while start < n {
            let count = min(chunk, n - start)
            let first = try q.withUnsafeMutableBufferPointer { try ot.extend(into: UnsafeMutableBufferPointer(rebasing: $0[0..<(count * m)])) }
            if start == 0 { base = first }
            precondition(first == base + UInt64(start * m), "small OT: a batch's COTs must be consecutive")
            q.withUnsafeBufferPointer { q in
                keys.withUnsafeMutableBufferPointer { keys in
                    for e in 0..<count {
                        for x in 0..<m {
                            let k0 = q[e * m + x], k1 = k0 ^ delta
                            let at = e * terms + position(level: x, bit: 0, prefix: 0), span = 1 << x
                            for y in 0..<span { keys[at + y] = k0; keys[at + span + y] = k1 }
                        }
                    }
                    FixedKeyAES.shared.hash(UnsafeMutableBufferPointer(rebasing: keys[0..<(count * terms)]),
                                            firstTweak: tweakBase(base) &+ UInt64(start * terms))
                    for e in 0..<count {
                        let row = e * terms
                        // pad(v) for v < 2^(x+1) from pad(v mod 2^x), level by level.
                        pads[0] = keys[row].lo
                        pads[1] = keys[row + 1].lo
                        for x in 1..<max(m, 1) {
                            let span = 1 << x, at = row + position(level: x, bit: 0, prefix: 0)
                            for y in 0..<span {
                                let low = pads[y]
                                pads[y] = low ^ keys[at + y].lo
                                pads[span + y] = low ^ keys[at + span + y].lo
                            }
                        }
                        for v in 0..<width { output.append(pads[v] & mask, width: bits) }
                    }
                }
            }
            start += count
        }
        return output.finish()
    }

    /// The receiver: instance e's chosen entry `choices[e]` (below 2^m).
    public static func receive(_ ot: any CorrelatedOTReceiver, m: Int, bits: Int, choices: [Int]) throws -> [UInt64] {
        try receive(ot, batches: [(m, bits, choices)])[0]
    }

    /// The receiver's side of `send(_:batches:)`: each batch's chosen entries.
    static func receive(_ ot: any CorrelatedOTReceiver, batches: [(m: Int, bits: Int, choices: [Int])]) throws -> [[UInt64]] {
        var pads: [[UInt64]] = []
        for (m, bits, choices) in batches {
            precondition((1...8).contains(m) && (1...64).contains(bits) && choices.allSatisfy { (0..<(1 << m)).contains($0) },
                         "small OT: bad choices")
            pads.append(try receivePads(ot, m: m, choices: choices))
        }
        return try receiveTable(ot.channel, batches: batches.indices.map { (batches[$0].m, batches[$0].bits, batches[$0].choices, pads[$0]) })
    }

    /// Reads the table message of batches whose pads `receivePads` made (possibly offline, long before): each
    /// batch's chosen entries.
    static func receiveTable(_ channel: any Channel, batches: [(m: Int, bits: Int, choices: [Int], pads: [UInt64])]) throws -> [[UInt64]] {
        let totalBits = batches.reduce(0) { $0 + ($1.choices.count << $1.m) * $1.bits }
        let words = try channel.receiveMessage(expecting: tableMessage, UInt64.self, count: (totalBits + 63) / 64)
        var offset = 0
        return words.withUnsafeBufferPointer { table in
            batches.map { m, bits, choices, pads in
                let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
                let chosen = choices.indices.map { e in
                    (readBits(table, at: offset + ((e << m) + choices[e]) * bits, width: bits) ^ pads[e]) & mask
                }
                offset += (choices.count << m) * bits
                return chosen
            }
        }
    }

    /// The receiver's pads of its chosen entries: its m keys per instance hashed under the tweaks of its
    /// choice's terms. The hash takes consecutive tweaks only, so each key is offset instead:
    /// H(w ⊕ (t ‖ t), 0) = H(w, t) (FixedKeyAES.tweakOffset).
    static func receivePads(_ ot: any CorrelatedOTReceiver, m: Int, choices: [Int]) throws -> [UInt64] {
        let n = choices.count, terms = terms(m: m), chunk = max(1, chunkCOTs / m)
        var w = uninitializedBlocks(min(n, chunk) * m)
        var pads = [UInt64](repeating: 0, count: n)
        var base: UInt64 = 0
        var start = 0
        while start < n {
            let count = min(chunk, n - start)
            var bits = ChoiceBits(count: count * m)
            for e in 0..<count { for x in 0..<m where (choices[start + e] >> x) & 1 == 1 { bits[e * m + x] = true } }
            try w.withUnsafeMutableBufferPointer { w in
                let keys = UnsafeMutableBufferPointer(rebasing: w[0..<(count * m)])
                let first = try ot.extend(choices: bits, into: keys)
                if start == 0 { base = first }
                precondition(first == base + UInt64(start * m), "small OT: a batch's COTs must be consecutive")
                for e in 0..<count {
                    let c = choices[start + e], row = tweakBase(base) &+ UInt64((start + e) * terms)
                    for x in 0..<m {
                        let tweak = row &+ UInt64(position(level: x, bit: (c >> x) & 1, prefix: c & ((1 << x) - 1)))
                        keys[e * m + x] ^= FixedKeyAES.tweakOffset(tweak)
                    }
                }
                FixedKeyAES.shared.hash(keys, firstTweak: 0, tweakStride: 0)
                for e in 0..<count {
                    var pad: UInt64 = 0
                    for x in 0..<m { pad ^= keys[e * m + x].lo }
                    pads[start + e] = pad
                }
            }
            start += count
        }
        return pads
    }

    /// `width` bits of a packed stream from bit `offset`.
    @inline(__always) static func readBits(_ words: UnsafeBufferPointer<UInt64>, at offset: Int, width: Int) -> UInt64 {
        let index = offset >> 6, shift = UInt64(offset & 63)
        var v = words[index] >> shift
        if shift != 0 && Int(shift) + width > 64 { v |= words[index + 1] << (64 - shift) }
        return width == 64 ? v : v & ((1 << UInt64(width)) - 1)
    }
}

/// XOR-shared bits, packed: Beaver AND triples and the AND of shared vectors.
enum SharedBits {
    static let openingsMessage: UInt16 = 0x0302

    typealias Triples = (a: ChoiceBits, b: ChoiceBits, c: ChoiceBits)

    /// AND triples (a, b, c = a ∧ b, each XOR-shared), one 1-of-4 OT each, sent with other small OTs: the
    /// sender's share (a0, b0, c0) random, and the OT entries by which the receiver, with its random
    /// (a1, b1) as choice, learns c1 = c0 ⊕ (a0 ⊕ a1)(b0 ⊕ b1): instance t's 4 one-bit entries packed.
    static func senderTriples(_ count: Int) -> (triples: Triples, batch: SmallOT.Batch) {
        let a = ChoiceBits.random(count: count), b = ChoiceBits.random(count: count), c = ChoiceBits.random(count: count)
        var writer = BitWriter(reservingBits: 4 * count)
        for t in 0..<count {
            let a0 = a[t], b0 = b[t], c0 = c[t]
            var entries: UInt64 = 0
            for v in 0..<4 where c0 != ((a0 != (v & 1 == 1)) && (b0 != (v & 2 == 2))) { entries |= 1 << UInt64(v) }
            writer.append(entries, width: 4)
        }
        return ((a, b, c), SmallOT.Batch(m: 2, bits: 1, count: count, entries: writer.finish()))
    }

    /// The receiver's 1-of-4 choices for its random halves (a, b) of the triples (c comes from the OT).
    static func receiverTripleChoices(a: ChoiceBits, b: ChoiceBits) -> [Int] {
        (0..<a.count).map { (a[$0] ? 1 : 0) | (b[$0] ? 2 : 0) }
    }

    /// This side's openings d = x ⊕ a and e = y ⊕ b of every pair (all d and e of a pair, pair after pair),
    /// consuming triples from `offset` on, and the triples used.
    static func open(_ pairs: [(x: ChoiceBits, y: ChoiceBits)], triples: Triples, offset: inout Int) -> (words: [UInt64], used: [Triples]) {
        var used: [Triples] = []
        var words: [UInt64] = []
        for (x, y) in pairs {
            let n = x.count
            let t = (a: triples.a.slice(from: offset, count: n), b: triples.b.slice(from: offset, count: n),
                     c: triples.c.slice(from: offset, count: n))
            offset += n
            used.append(t)
            words += (x ^ t.a).words
            words += (y ^ t.b).words
        }
        return (words, used)
    }

    /// Shares of the pairs' ANDs from both sides' openings (Beaver: z = c ⊕ d b ⊕ e a, and d e on one side).
    static func products(mine: [UInt64], theirs: [UInt64], used: [Triples], isSender: Bool) -> [ChoiceBits] {
        var at = 0
        return used.map { t in
            let words = t.c.words.count
            let (a, b, c) = (t.a.words, t.b.words, t.c.words)
            var out = [UInt64](repeating: 0, count: words)
            for w in 0..<words {
                let d = mine[at + w] ^ theirs[at + w], e = mine[at + words + w] ^ theirs[at + words + w]
                out[w] = c[w] ^ (d & b[w]) ^ (e & a[w]) ^ (isSender ? d & e : 0)
            }
            at += 2 * words
            return ChoiceBits(words: out, count: t.c.count)
        }
    }
}

/// Shares of 1{x < y}: the OT sender holds x, the receiver y.
///
/// With `low` = f > 0 the same run also gives shares of 1{x mod 2^f < y mod 2^f}, the comparison of the low
/// bits (the OT ReLU's truncation carry), at no extra OT: the leaves are cut at bit f (f bits in blocks of
/// 4, the last narrower, then the other ℓ - f bits likewise), the low leaves and the high leaves are combined
/// into one node each, side by side, and a last AND joins them, lt = lt_H ⊕ (eq_H ∧ lt_L). A leaf of w bits
/// costs w COTs. Equalities on the lowest chain of nodes are never needed (a lowest node is never the upper
/// operand) and are not computed. Levels: T = max(⌈log2 #low⌉, ⌈log2 #high⌉) + 1; messages after the
/// table: T + 1 (`openingSchedule`).
public enum Millionaire {
    static let blockBits = 4

    /// One side of a comparison tree: its nodes' lt and eq shares (eq nil where it is never needed).
    struct Node {
        var lt: ChoiceBits
        var eq: ChoiceBits?
    }

    /// A run of leaves reduced to one node: the lowest chain of the whole comparison skips its equalities,
    /// and `needsEQ` keeps the equality of the final node.
    struct Reduction {
        var nodes: [Node]
        let lowestChain: Bool
        let needsEQ: Bool

        /// Whether the node made from pair t of a level with `count` nodes needs its equality.
        func keepsEQ(pair t: Int, count: Int) -> Bool { !(lowestChain && t == 0) && !(count == 2 && !needsEQ) }
    }

    /// Leaf widths and first bits, lowest first: `low` bits in blocks of 4 (the last narrower), then the other
    /// bits likewise.
    static func leaves(bits: Int, low: Int) -> (widths: [Int], offsets: [Int], lowLeaves: Int) {
        precondition((1...64).contains(bits) && (0...bits).contains(low), "comparison of \(bits) bits, \(low) low")
        func cut(_ n: Int) -> [Int] { stride(from: 0, to: n, by: blockBits).map { min(blockBits, n - $0) } }
        let l = cut(low), widths = l + cut(bits - low)
        var offsets = [0]
        for w in widths.dropLast() { offsets.append(offsets[offsets.count - 1] + w) }
        return (widths, offsets, l.count)
    }

    /// The leaves' small-OT batches: one per width present (widest first), leaves in order within it.
    static func batches(_ widths: [Int]) -> [(m: Int, leaves: [Int])] {
        (1...blockBits).reversed().compactMap { m in
            let leaves = widths.indices.filter { widths[$0] == m }
            return leaves.isEmpty ? nil : (m, leaves)
        }
    }

    /// AND vectors (of one bit per element) each level of the combination takes, the join last: the tree run
    /// on one-element dummies, so that the count cannot drift from `Tree`.
    static func levelSizes(lowLeaves: Int, highLeaves: Int) -> [Int] {
        let dummy = Node(lt: ChoiceBits(count: 1), eq: ChoiceBits(count: 1))
        var tree = Tree(Array(repeating: dummy, count: lowLeaves + highLeaves), lowLeaves: lowLeaves)
        var sizes: [Int] = []
        while !tree.done {
            let pairs = tree.levelPairs()
            sizes.append(pairs.count)
            tree.apply(pairs.map { _ in ChoiceBits(count: 1) })
        }
        return sizes
    }

    /// AND vectors of the whole combination.
    static func andVectors(lowLeaves: Int, highLeaves: Int) -> Int {
        levelSizes(lowLeaves: lowLeaves, highLeaves: highLeaves).reduce(0, +)
    }

    /// Which levels' openings each message of the pipelined combination carries, the OT sender's first (its
    /// level-1 openings need only its own leaf shares). A side's level-l openings need its shares of level
    /// l - 1's ANDs, which need both sides' level l - 1 openings; each side sends, whenever it has received,
    /// every opening it can then make: [1], [1, 2], [2, 3], ..., [T], about one flight per level where
    /// strict turns (open, wait, compute) took two.
    static func openingSchedule(levels T: Int) -> [[Int]] {
        var opened = [0, 0], produced = [0, 0], messages: [[Int]] = []
        var p = 0
        while true {
            var new: [Int] = []
            func produce() { produced[p] = max(produced[p], min(opened[p], opened[1 - p])) }
            produce()
            while opened[p] < T && opened[p] == produced[p] {
                opened[p] += 1
                new.append(opened[p])
                produce()
            }
            if new.isEmpty { break }
            messages.append(new)
            p = 1 - p
        }
        return messages
    }

    /// The sender's entries of a w-bit leaf with block value `x` and its random shares (lt0, eq0): lt in
    /// bit 2v, eq in bit 2v + 1 of entry v.
    static func leafEntries(_ x: Int, width m: Int, lt0: Bool, eq0: Bool) -> UInt64 {
        if m == blockBits { return fullLeafEntries[x | (lt0 ? 16 : 0) | (eq0 ? 32 : 0)] }
        var word: UInt64 = 0
        for v in 0..<(1 << m) {
            if lt0 != (x < v) { word |= 1 << UInt64(2 * v) }
            if eq0 != (x == v) { word |= 1 << UInt64(2 * v + 1) }
        }
        return word
    }

    /// `leafEntries` of 4-bit leaves by x | lt0 << 4 | eq0 << 5.
    static let fullLeafEntries: [UInt64] = (0..<64).map { index in
        var word: UInt64 = 0
        let x = index & 15, lt0 = index & 16 != 0, eq0 = index & 32 != 0
        for v in 0..<16 {
            if lt0 != (x < v) { word |= 1 << UInt64(2 * v) }
            if eq0 != (x == v) { word |= 1 << UInt64(2 * v + 1) }
        }
        return word
    }

    /// The sender's shares of 1{x[k] < y[k]} (x[k] < 2^bits).
    public static func send(_ x: [UInt64], bits: Int, ot: any CorrelatedOTSender) throws -> [Bool] {
        try send(x, bits: bits, low: 0, ot: ot).all
    }

    /// The receiver's shares of 1{x[k] < y[k]} (y[k] < 2^bits).
    public static func receive(_ y: [UInt64], bits: Int, ot: any CorrelatedOTReceiver) throws -> [Bool] {
        try receive(y, bits: bits, low: 0, ot: ot).all
    }

    /// What the OT sender makes before it knows its input, for a comparison of `count` values of `bits` bits
    /// (`low` low): its leaves' pads (their COTs' derandomisation comes from the receiver's `beginReceive`)
    /// and its AND triples, whose 1-of-4 OTs' table it sends when the caller says (`sendTripleTable`: a
    /// session sends every layer's after reading every layer's choices, so that neither side's writes wait
    /// on the other's reads). Online, `send` then needs no OT: one table of entries XOR pads, and the openings.
    /// Single use: a second `send` would reuse the pads and triples.
    public struct SenderPreparation {
        let count: Int, bits: Int, low: Int
        /// Per leaf batch (`batches` order): the pads, in the table's layout.
        let leafPads: [[UInt64]]
        let triples: SharedBits.Triples
        let tripleTable: (batch: SmallOT.Batch, pads: [UInt64])
    }

    /// The OT receiver's part made from its input `y` before the sender's input exists: its leaves' pads, its
    /// random halves of the triples (their choices sent); `finishReceive` reads the triples' table. The
    /// choices themselves are derived again from y and the halves where they are needed.
    public struct ReceiverPending {
        let y: [UInt64]
        let bits: Int, low: Int
        /// Per leaf batch (`batches` order): the pads of its choices (the blocks of y).
        let leafPads: [[UInt64]]
        let tripleHalves: (a: ChoiceBits, b: ChoiceBits)
        let triplePads: [UInt64]
    }

    /// Per leaf batch (`batches` order): the receiver's choices, the blocks of y its leaves cover.
    static func leafChoices(_ y: [UInt64], bits: Int, low: Int) -> [[Int]] {
        let (widths, offsets, _) = leaves(bits: bits, low: low)
        return batches(widths).map { m, indices in
            let mask: UInt64 = (1 << UInt64(m)) - 1
            return indices.flatMap { leaf in y.map { Int(($0 >> UInt64(offsets[leaf])) & mask) } }
        }
    }

    /// The OT receiver's whole preparation.
    public struct ReceiverPreparation {
        let pending: ReceiverPending
        let triples: SharedBits.Triples
    }

    public static func prepareSend(count n: Int, bits: Int, low: Int, ot: any CorrelatedOTSender) throws -> SenderPreparation {
        let (widths, _, lowLeaves) = leaves(bits: bits, low: low)
        let pads = try batches(widths).map { m, indices in try SmallOT.senderPads(ot, m: m, bits: 2, count: indices.count * n) }
        let (triples, tripleBatch) = SharedBits.senderTriples(n * andVectors(lowLeaves: lowLeaves, highLeaves: widths.count - lowLeaves))
        let triplePads = try SmallOT.senderPads(ot, m: tripleBatch.m, bits: tripleBatch.bits, count: tripleBatch.count)
        return SenderPreparation(count: n, bits: bits, low: low, leafPads: pads, triples: triples, tripleTable: (tripleBatch, triplePads))
    }

    /// Sends the triples' table of a preparation (once, before its `send`).
    public static func sendTripleTable(_ prepared: SenderPreparation, channel: any Channel) throws {
        try SmallOT.sendTable([prepared.tripleTable], channel: channel)
    }

    public static func beginReceive(_ y: [UInt64], bits: Int, low: Int, ot: any CorrelatedOTReceiver) throws -> ReceiverPending {
        let (widths, _, lowLeaves) = leaves(bits: bits, low: low)
        let pads = try zip(batches(widths), leafChoices(y, bits: bits, low: low)).map { try SmallOT.receivePads(ot, m: $0.0.m, choices: $0.1) }
        let ands = y.count * andVectors(lowLeaves: lowLeaves, highLeaves: widths.count - lowLeaves)
        let a = ChoiceBits.random(count: ands), b = ChoiceBits.random(count: ands)
        let triplePads = try SmallOT.receivePads(ot, m: 2, choices: SharedBits.receiverTripleChoices(a: a, b: b))
        return ReceiverPending(y: y, bits: bits, low: low, leafPads: pads, tripleHalves: (a, b), triplePads: triplePads)
    }

    /// Reads the triples' table (`sendTripleTable`): the receiver's preparation is complete.
    public static func finishReceive(_ pending: ReceiverPending, channel: any Channel) throws -> ReceiverPreparation {
        let (a, b) = pending.tripleHalves
        let received = try SmallOT.receiveTable(channel, batches: [(2, 1, SharedBits.receiverTripleChoices(a: a, b: b), pending.triplePads)])[0]
        var c = ChoiceBits(count: received.count)
        for (t, bit) in received.enumerated() where bit == 1 { c[t] = true }
        return ReceiverPreparation(pending: pending, triples: (a, b, c))
    }

    /// The sender's shares of 1{x[k] < y[k]} and of 1{x[k] mod 2^low < y[k] mod 2^low} (all false when low = 0).
    /// `afterTable` runs between the table message and the combination (the OT ReLU sends its own first-flight
    /// messages there; the receiver's `afterTable` reads them). The result's `finishedFirst` says whether this
    /// side learnt its shares before the other (it sent the last openings).
    public static func send(_ x: [UInt64], bits: Int, low: Int, ot: any CorrelatedOTSender,
                            afterTable: () throws -> Void = {}) throws -> (all: [Bool], low: [Bool], finishedFirst: Bool) {
        let prepared = try prepareSend(count: x.count, bits: bits, low: low, ot: ot)
        try sendTripleTable(prepared, channel: ot.channel)
        return try send(x, prepared: prepared, channel: ot.channel, afterTable: afterTable)
    }

    /// `send` on a preparation for x.count values: no OT, the leaves' table and the openings.
    public static func send(_ x: [UInt64], prepared: SenderPreparation, channel: any Channel,
                            afterTable: () throws -> Void = {}) throws -> (all: [Bool], low: [Bool], finishedFirst: Bool) {
        let n = x.count
        precondition(n == prepared.count, "comparison prepared for \(prepared.count) values, given \(n)")
        let (widths, offsets, lowLeaves) = leaves(bits: prepared.bits, low: prepared.low)
        let nodes = widths.map { _ in Node(lt: .random(count: n), eq: .random(count: n)) }
        var tables: [(batch: SmallOT.Batch, pads: [UInt64])] = []
        for ((m, indices), pads) in zip(batches(widths), prepared.leafPads) {
            var writer = BitWriter(reservingBits: indices.count * n << (m + 1))
            for leaf in indices {
                let shift = UInt64(offsets[leaf]), mask: UInt64 = (1 << UInt64(m)) - 1
                let (lt0, eq0) = (nodes[leaf].lt, nodes[leaf].eq!)
                for k in 0..<n { writer.append(leafEntries(Int((x[k] >> shift) & mask), width: m, lt0: lt0[k], eq0: eq0[k]), width: 2 << m) }
            }
            tables.append((SmallOT.Batch(m: m, bits: 2, count: indices.count * n, entries: writer.finish()), pads))
        }
        try SmallOT.sendTable(tables, channel: channel)
        try afterTable()
        return try combine(nodes, lowLeaves: lowLeaves, count: n, triples: prepared.triples, isSender: true, channel: channel)
    }

    /// The receiver's side of `send(_:bits:low:ot:)`.
    public static func receive(_ y: [UInt64], bits: Int, low: Int, ot: any CorrelatedOTReceiver,
                               afterTable: () throws -> Void = {}) throws -> (all: [Bool], low: [Bool], finishedFirst: Bool) {
        try receive(prepared: finishReceive(beginReceive(y, bits: bits, low: low, ot: ot), channel: ot.channel), channel: ot.channel,
                    afterTable: afterTable)
    }

    /// The receiver's side of `send(_:prepared:channel:)`, on its preparation (which holds its input).
    public static func receive(prepared: ReceiverPreparation, channel: any Channel,
                               afterTable: () throws -> Void = {}) throws -> (all: [Bool], low: [Bool], finishedFirst: Bool) {
        let pending = prepared.pending, n = pending.y.count
        let (widths, _, lowLeaves) = leaves(bits: pending.bits, low: pending.low)
        let order = batches(widths), choices = leafChoices(pending.y, bits: pending.bits, low: pending.low)
        let received = try SmallOT.receiveTable(channel, batches: order.indices.map { (order[$0].m, 2, choices[$0], pending.leafPads[$0]) })
        var nodes = [Node?](repeating: nil, count: widths.count)
        for (batch, (_, indices)) in order.enumerated() {
            for (i, leaf) in indices.enumerated() {
                var lt = ChoiceBits(count: n), eq = ChoiceBits(count: n)
                for k in 0..<n {
                    let entry = received[batch][i * n + k]
                    if entry & 1 == 1 { lt[k] = true }
                    if entry & 2 == 2 { eq[k] = true }
                }
                nodes[leaf] = Node(lt: lt, eq: eq)
            }
        }
        try afterTable()
        return try combine(nodes.map { $0! }, lowLeaves: lowLeaves, count: n, triples: prepared.triples, isSender: false, channel: channel)
    }

    /// The low leaves and the high leaves reduced side by side, level by level, then joined, with the
    /// openings exchanged on `openingSchedule`.
    static func combine(_ leaves: [Node], lowLeaves: Int, count n: Int, triples: SharedBits.Triples, isSender: Bool,
                        channel: any Channel) throws -> (all: [Bool], low: [Bool], finishedFirst: Bool) {
        var tree = Tree(leaves, lowLeaves: lowLeaves)
        let sizes = levelSizes(lowLeaves: lowLeaves, highLeaves: leaves.count - lowLeaves)
        let schedule = openingSchedule(levels: sizes.count)
        let wordsPerLevel = sizes.map { 2 * $0 * ((n + 63) / 64) }
        var offset = 0, produced = 0
        var mine: [[UInt64]] = [], used: [[SharedBits.Triples]] = []
        var theirs = [[UInt64]](repeating: [], count: sizes.count)
        func produce(upTo level: Int) {
            while produced < level {
                tree.apply(SharedBits.products(mine: mine[produced], theirs: theirs[produced], used: used[produced], isSender: isSender))
                produced += 1
            }
        }
        for (index, levels) in schedule.enumerated() {
            if (index % 2 == 0) == isSender {
                var words: [UInt64] = []
                for level in levels {
                    produce(upTo: level - 1)
                    let opened = SharedBits.open(tree.levelPairs(), triples: triples, offset: &offset)
                    mine.append(opened.words)
                    used.append(opened.used)
                    words += opened.words
                }
                try channel.sendMessage(type: SharedBits.openingsMessage, words)
                try channel.flush()
            } else {
                let words = try channel.receiveMessage(expecting: SharedBits.openingsMessage, UInt64.self,
                                                       count: levels.reduce(0) { $0 + wordsPerLevel[$1 - 1] })
                var at = 0
                for level in levels {
                    theirs[level - 1] = Array(words[at..<(at + wordsPerLevel[level - 1])])
                    at += wordsPerLevel[level - 1]
                }
            }
        }
        produce(upTo: sizes.count)
        let result = tree.result(count: n)
        let lastSender = schedule.isEmpty ? true : (schedule.count - 1) % 2 == 0
        return (result.all, result.low, lastSender == isSender)
    }

    /// The comparison's state between levels: the two reductions, then their join.
    struct Tree {
        var reductions: [Reduction]
        var joined: ChoiceBits?

        init(_ leaves: [Node], lowLeaves: Int) {
            reductions = [Reduction(nodes: Array(leaves[0..<lowLeaves]), lowestChain: true, needsEQ: false),
                          Reduction(nodes: Array(leaves[lowLeaves...]), lowestChain: lowLeaves == 0, needsEQ: lowLeaves > 0)]
        }

        var reducing: Bool { reductions.contains { $0.nodes.count > 1 } }
        var joins: Bool { reductions.allSatisfy { $0.nodes.count == 1 } }
        var done: Bool { !reducing && (!joins || joined != nil) }

        /// This level's ANDs: per reduction, eq_hi ∧ lt_lo for every pair, then eq_hi ∧ eq_lo where that
        /// equality is kept; or the join, eq_H ∧ lt_L.
        func levelPairs() -> [(x: ChoiceBits, y: ChoiceBits)] {
            guard reducing else { return [(reductions[1].nodes[0].eq!, reductions[0].nodes[0].lt)] }
            var pairs: [(x: ChoiceBits, y: ChoiceBits)] = []
            for r in reductions {
                let nodes = r.nodes, count = nodes.count
                guard count > 1 else { continue }
                for t in 0..<(count / 2) { pairs.append((nodes[2 * t + 1].eq!, nodes[2 * t].lt)) }
                for t in 0..<(count / 2) where r.keepsEQ(pair: t, count: count) { pairs.append((nodes[2 * t + 1].eq!, nodes[2 * t].eq!)) }
            }
            return pairs
        }

        /// The level's products, in `levelPairs`' order, folded into the nodes.
        mutating func apply(_ products: [ChoiceBits]) {
            guard reducing else { joined = products[0]; return }
            var at = 0
            for r in reductions.indices where reductions[r].nodes.count > 1 {
                let nodes = reductions[r].nodes, count = nodes.count, half = count / 2
                var next: [Node] = []
                var eqAt = at + half
                for t in 0..<half {
                    var eq: ChoiceBits? = nil
                    if reductions[r].keepsEQ(pair: t, count: count) { eq = products[eqAt]; eqAt += 1 }
                    next.append(Node(lt: nodes[2 * t + 1].lt ^ products[at + t], eq: eq))
                }
                if count % 2 == 1 { next.append(nodes[count - 1]) }
                reductions[r].nodes = next
                at = eqAt
            }
        }

        /// Shares of the whole comparison and of the low bits' comparison.
        func result(count n: Int) -> (all: [Bool], low: [Bool]) {
            let low = reductions[0].nodes.first, high = reductions[1].nodes.first
            switch (low, high) {
            case let (low?, high?): return ((high.lt ^ joined!).booleans, low.lt.booleans)
            case let (low?, nil): return (low.lt.booleans, low.lt.booleans)
            case let (nil, high?): return (high.lt.booleans, [Bool](repeating: false, count: n))
            case (nil, nil): preconditionFailure("a comparison of no bits")
            }
        }
    }
}

/// The sign of a shared value: XOR shares of 1{v >= 0} for v = (s + c) mod 2^k read as a signed k-bit
/// number, the OT sender holding s and the receiver c (CrypTFlow2, section 3.2). With l the low k - 1
/// bits, msb(v) = msb(s) ⊕ msb(c) ⊕ 1{l(s) + l(c) >= 2^(k-1)}, and the carry is the comparison
/// 1{2^(k-1) - 1 - l(s) < l(c)}: one millionaires' protocol on k - 1 bits.
public enum DReLU {
    static func split(_ v: UInt64, bits k: Int) -> (msb: Bool, low: UInt64) {
        ((v >> UInt64(k - 1)) & 1 == 1, k == 1 ? 0 : v & ((1 << UInt64(k - 1)) - 1))
    }

    /// The sender's input to the millionaire (2^(k-1) - 1 - l(s)) and, from its share of the comparison,
    /// its share of the sign.
    static func senderInputs(_ s: [UInt64], bits k: Int) -> [UInt64] {
        let limit: UInt64 = (1 << UInt64(k - 1)) - 1
        return s.map { limit - split($0, bits: k).low }
    }

    static func senderSigns(_ s: [UInt64], bits k: Int, carry: [Bool]) -> [Bool] {
        zip(s, carry).map { !(split($0, bits: k).msb != $1) }
    }

    static func receiverInputs(_ c: [UInt64], bits k: Int) -> [UInt64] { c.map { split($0, bits: k).low } }

    static func receiverSigns(_ c: [UInt64], bits k: Int, carry: [Bool]) -> [Bool] {
        zip(c, carry).map { split($0, bits: k).msb != $1 }
    }

    /// The sender's shares, s[i] its shares mod 2^k (2 <= k <= 64; higher bits ignored).
    public static func send(_ s: [UInt64], bits k: Int, ot: any CorrelatedOTSender) throws -> [Bool] {
        precondition((2...64).contains(k), "DReLU on \(k) bits")
        return senderSigns(s, bits: k, carry: try Millionaire.send(senderInputs(s, bits: k), bits: k - 1, ot: ot))
    }

    /// The receiver's shares, c[i] its shares mod 2^k.
    public static func receive(_ c: [UInt64], bits k: Int, ot: any CorrelatedOTReceiver) throws -> [Bool] {
        precondition((2...64).contains(k), "DReLU on \(k) bits")
        return receiverSigns(c, bits: k, carry: try Millionaire.receive(receiverInputs(c, bits: k), bits: k - 1, ot: ot))
    }
}
