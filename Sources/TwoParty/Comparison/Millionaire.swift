// Secure comparison ("millionaires'"): XOR shares of 1{x < y} for the OT sender's x and the OT receiver's
// y, both below 2^ℓ, from correlated OT alone (CrypTFlow2: Rathee, Chandran, Gupta, Rastogi, Sharma,
// "CrypTFlow2: Practical 2-Party Secure Inference", CCS 2020, section 3; the building block of Cheetah's
// and SCI's ReLU). Semi-honest.
//
// The ℓ bits are cut into q = ⌈ℓ/4⌉ blocks of 4 (zero-padded at the top on both sides, which changes no
// comparison). Per block j, a 1-of-16 OT on the receiver's y_j gives XOR shares of lt_j = 1{x_j < y_j} and
// eq_j = 1{x_j = y_j}: the sender offers, for every v, its random (lt0, eq0) masked with (1{x_j < v},
// 1{x_j = v}). The blocks are then combined from the least significant up, in ⌈log2 q⌉ rounds:
// lt = lt_hi ⊕ (eq_hi ∧ lt_lo), eq = eq_hi ∧ eq_lo, each AND with a Beaver bit triple made by a 1-of-4
// OT beforehand, in the same run of COTs and the same table message as the blocks' 1-of-16 OTs.
// 1-of-2^m OTs come from m chosen COTs (the receiver's choice bits are the bits of its choice v): the pad
// of entry v is the XOR over i of H(k_i^{v_i}, tweak(i, v)) with a tweakable correlation-robust hash
// (FixedKeyAES); the tweak depends on v, so an entry the receiver did not choose keeps a term it cannot
// compute under a tweak it never sees (Naor and Pinkas' 1-of-N from log N 1-of-2 OTs, with the PRF on v
// instantiated by the tweak).
// Traffic per comparison of ℓ = 40 bits with silent COTs: 10 blocks x (4 COTs + 32 table bits) and at most
// 18 triples x (2 COTs + 4 table bits) + 4 opening bits per AND: about 120 bytes; with IKNP, 1.1 KB.
import Transport

/// 1-out-of-2^m OT of short messages (at most 64 bits) from m correlated OTs per instance.
public enum SmallOT {
    static let tableMessage: UInt16 = 0x0301

    /// Tweak of COT `index` opened as entry `v`.
    @inline(__always) static func tweak(_ index: UInt64, _ v: Int, m: Int) -> UInt64 { (index << UInt64(m)) | UInt64(v) }

    /// The sender: `messages[e * 2^m + v]` is instance e's entry v (its low `bits` bits are sent).
    public static func send(_ ot: any CorrelatedOTSender, m: Int, bits: Int, messages: [UInt64]) throws {
        try send(ot, batches: [(m, bits, messages)])
    }

    /// Several batches of 1-of-2^m OTs, each with its own m and message width, on one run of correlated OTs
    /// and in one table message (one flight pair for all).
    public static func send(_ ot: any CorrelatedOTSender, batches: [(m: Int, bits: Int, messages: [UInt64])]) throws {
        for (m, bits, messages) in batches {
            precondition(messages.count % (1 << m) == 0 && (1...8).contains(m) && (1...64).contains(bits), "small OT: bad sizes")
        }
        let cots = batches.reduce(0) { $0 + ($1.messages.count >> $1.m) * $1.m }
        var q = [Block](repeating: .zero, count: cots)
        let first = try q.withUnsafeMutableBufferPointer { try ot.extend(into: $0) }
        var table = BitWriter(reservingBits: batches.reduce(0) { $0 + $1.messages.count * $1.bits })
        var offset = 0
        q.withUnsafeBufferPointer { q in
            for (m, bits, messages) in batches {
                let n = messages.count >> m
                appendTable(q: UnsafeBufferPointer(rebasing: q[offset..<(offset + n * m)]), first: first + UInt64(offset),
                            delta: ot.delta, m: m, bits: bits, messages: messages, to: &table)
                offset += n * m
            }
        }
        try ot.channel.sendMessage(type: tableMessage, table.finish())
        try ot.channel.flush()
    }

    /// One batch's table: every entry masked by the XOR of its instance's m hashed keys.
    static func appendTable(q: UnsafeBufferPointer<Block>, first: UInt64, delta: Block, m: Int, bits: Int,
                            messages: [UInt64], to table: inout BitWriter) {
        let width = 1 << m, n = messages.count / width
        let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
        // Every key under every entry, laid out (instance, COT, entry) so that the tweaks
        // ((first + e m + i) << m) | v run consecutively: one batched hash per chunk of instances.
        let chunk = max(1, 4096 / (m * width))
        var keys = [Block](repeating: .zero, count: min(n, chunk) * m * width)
        var start = 0
        while start < n {
            let count = min(chunk, n - start)
            for j in 0..<(count * m) {
                let cot = start * m + j
                for v in 0..<width { keys[j * width + v] = q[cot] ^ delta.masked(by: (v >> (cot % m)) & 1 == 1) }
            }
            keys.withUnsafeMutableBufferPointer {
                FixedKeyAES.shared.hash(UnsafeMutableBufferPointer(rebasing: $0[0..<(count * m * width)]),
                                        firstTweak: (first + UInt64(start * m)) << UInt64(m))
            }
            for e in 0..<count {
                for v in 0..<width {
                    var pad: UInt64 = 0
                    for i in 0..<m { pad ^= keys[(e * m + i) * width + v].lo }
                    table.append((messages[(start + e) * width + v] ^ pad) & mask, width: bits)
                }
            }
            start += count
        }
    }

    /// The receiver: instance e's chosen entry `choices[e]` (below 2^m).
    public static func receive(_ ot: any CorrelatedOTReceiver, m: Int, bits: Int, choices: [Int]) throws -> [UInt64] {
        try receive(ot, batches: [(m, bits, choices)])[0]
    }

    /// The receiver's side of `send(_:batches:)`: each batch's chosen entries.
    public static func receive(_ ot: any CorrelatedOTReceiver, batches: [(m: Int, bits: Int, choices: [Int])]) throws -> [[UInt64]] {
        for (m, bits, choices) in batches {
            precondition((1...8).contains(m) && (1...64).contains(bits) && choices.allSatisfy { (0..<(1 << m)).contains($0) },
                         "small OT: bad choices")
        }
        let cots = batches.reduce(0) { $0 + $1.choices.count * $1.m }
        var choiceBits = ChoiceBits(count: cots)
        var offset = 0
        for (m, _, choices) in batches {
            for e in choices.indices { for i in 0..<m where (choices[e] >> i) & 1 == 1 { choiceBits[offset + e * m + i] = true } }
            offset += choices.count * m
        }
        var w = [Block](repeating: .zero, count: cots)
        let first = try w.withUnsafeMutableBufferPointer { try ot.extend(choices: choiceBits, into: $0) }
        let totalBits = batches.reduce(0) { $0 + ($1.choices.count << $1.m) * $1.bits }
        let words = try ot.channel.receiveMessage(expecting: tableMessage, UInt64.self, count: (totalBits + 63) / 64)
        return words.withUnsafeBufferPointer { buffer in
            var reader = BitReader(buffer)
            var offset = 0
            return batches.map { m, bits, choices in
                let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
                let chosen = choices.indices.map { e -> UInt64 in
                    var entry: UInt64 = 0
                    for v in 0..<(1 << m) {
                        let read = reader.read(width: bits)
                        if v == choices[e] { entry = read }
                    }
                    var pad: UInt64 = 0
                    for i in 0..<m {
                        let cot = offset + e * m + i
                        pad ^= FixedKeyAES.shared.hash(w[cot], tweak: tweak(first + UInt64(cot), choices[e], m: m)).lo
                    }
                    return (entry ^ pad) & mask
                }
                offset += choices.count * m
                return chosen
            }
        }
    }
}

/// XOR-shared bits: Beaver AND triples and the AND of shared bits.
enum SharedBits {
    static let openingsMessage: UInt16 = 0x0302

    /// AND triples (a, b, c = a ∧ b, each XOR-shared), one 1-of-4 OT each, sent with other small OTs: the
    /// sender's share (a0, b0, c0) random, and the OT entries by which the receiver, with its random
    /// (a1, b1) as choice, learns c1 = c0 ⊕ (a0 ⊕ a1)(b0 ⊕ b1).
    static func senderTripleMessages(_ count: Int) -> (triples: (a: [Bool], b: [Bool], c: [Bool]), messages: [UInt64]) {
        var random = AESPRG()
        let a = (0..<count).map { _ in random.nextUInt64() & 1 == 1 }
        let b = (0..<count).map { _ in random.nextUInt64() & 1 == 1 }
        let c = (0..<count).map { _ in random.nextUInt64() & 1 == 1 }
        var messages = [UInt64](repeating: 0, count: 4 * count)
        for t in 0..<count {
            for v in 0..<4 {
                let a1 = v & 1 == 1, b1 = v & 2 == 2
                messages[4 * t + v] = (c[t] != ((a[t] != a1) && (b[t] != b1))) ? 1 : 0
            }
        }
        return ((a, b, c), messages)
    }

    /// The receiver's random (a, b) and its 1-of-4 choices (c comes from the OT).
    static func receiverTripleChoices(_ count: Int) -> (a: [Bool], b: [Bool], choices: [Int]) {
        var random = AESPRG()
        let a = (0..<count).map { _ in random.nextUInt64() & 1 == 1 }
        let b = (0..<count).map { _ in random.nextUInt64() & 1 == 1 }
        return (a, b, (0..<count).map { (a[$0] ? 1 : 0) | (b[$0] ? 2 : 0) })
    }

    /// Shares of x ∧ y for shared x, y, consuming triples from `offset`: both parties open d = x ⊕ a and
    /// e = y ⊕ b (the sender writes first, then reads; the receiver the other way round: one round trip).
    static func and(_ x: [Bool], _ y: [Bool], triples: (a: [Bool], b: [Bool], c: [Bool]), offset: Int, isSender: Bool,
                    channel: any Channel) throws -> [Bool] {
        let n = x.count
        var mine = ChoiceBits(count: 2 * n)
        for k in 0..<n {
            mine[2 * k] = x[k] != triples.a[offset + k]
            mine[2 * k + 1] = y[k] != triples.b[offset + k]
        }
        let theirs: [UInt64]
        if isSender {
            try channel.sendMessage(type: openingsMessage, mine.words)
            try channel.flush()
            theirs = try channel.receiveMessage(expecting: openingsMessage, UInt64.self, count: mine.words.count)
        } else {
            theirs = try channel.receiveMessage(expecting: openingsMessage, UInt64.self, count: mine.words.count)
            try channel.sendMessage(type: openingsMessage, mine.words)
            try channel.flush()
        }
        let other = ChoiceBits(words: theirs, count: 2 * n)
        return (0..<n).map { k in
            let d = mine[2 * k] != other[2 * k], e = mine[2 * k + 1] != other[2 * k + 1]
            var z = (triples.c[offset + k] != (d && triples.b[offset + k])) != (e && triples.a[offset + k])
            if isSender { z = z != (d && e) }
            return z
        }
    }
}

/// Shares of 1{x < y}: the OT sender holds x, the receiver y.
public enum Millionaire {
    static let blockBits = 4

    /// ANDs the combination tree of q leaves needs, level by level (the top level skips its eq).
    static func andsPerLevel(leaves q: Int) -> [Int] {
        var counts: [Int] = [], nodes = q
        while nodes > 1 {
            let pairs = nodes / 2
            counts.append(nodes == 2 ? 1 : 2 * pairs)
            nodes = pairs + nodes % 2
        }
        return counts
    }

    /// The sender's shares of 1{x[k] < y[k]} (x[k] < 2^bits).
    public static func send(_ x: [UInt64], bits: Int, ot: any CorrelatedOTSender) throws -> [Bool] {
        try send(groups: [(x, bits)], ot: ot)[0]
    }

    /// The receiver's shares of 1{x[k] < y[k]} (y[k] < 2^bits).
    public static func receive(_ y: [UInt64], bits: Int, ot: any CorrelatedOTReceiver) throws -> [Bool] {
        try receive(groups: [(y, bits)], ot: ot)[0]
    }

    /// Several batches of comparisons, each of its own width, at the cost in rounds of the widest: one
    /// batch of 1-of-16 OTs, one of triples, and the combination trees level by level in lockstep.
    public static func send(groups: [(x: [UInt64], bits: Int)], ot: any CorrelatedOTSender) throws -> [[Bool]] {
        var random = AESPRG()
        var lt = [[[Bool]]](), eq = [[[Bool]]]()
        var messages: [UInt64] = []
        var ands = 0
        for (x, bits) in groups {
            let q = (bits + blockBits - 1) / blockBits, n = x.count
            var groupLT = [[Bool]](), groupEQ = [[Bool]]()
            var part = [UInt64](repeating: 0, count: n * q * 16)
            for j in 0..<q {
                let lt0 = (0..<n).map { _ in random.nextUInt64() & 1 == 1 }, eq0 = (0..<n).map { _ in random.nextUInt64() & 1 == 1 }
                for k in 0..<n {
                    let block = Int((x[k] >> UInt64(blockBits * j)) & 15)
                    for v in 0..<16 {
                        let l = lt0[k] != (block < v), e = eq0[k] != (block == v)
                        part[(j * n + k) * 16 + v] = (l ? 1 : 0) | (e ? 2 : 0)
                    }
                }
                groupLT.append(lt0)
                groupEQ.append(eq0)
            }
            messages += part
            lt.append(groupLT)
            eq.append(groupEQ)
            ands += n * andsPerLevel(leaves: q).reduce(0, +)
        }
        // The blocks' 1-of-16 OTs and the triples' 1-of-4 OTs in one flight pair.
        let (triples, tripleMessages) = SharedBits.senderTripleMessages(ands)
        try SmallOT.send(ot, batches: [(blockBits, 2, messages), (2, 1, tripleMessages)])
        return try combine(lt: lt, eq: eq, triples: triples, isSender: true, channel: ot.channel)
    }

    /// The receiver's side of `send(groups:ot:)`.
    public static func receive(groups: [(y: [UInt64], bits: Int)], ot: any CorrelatedOTReceiver) throws -> [[Bool]] {
        var choices: [Int] = []
        var shapes: [(q: Int, n: Int)] = []
        var ands = 0
        for (y, bits) in groups {
            let q = (bits + blockBits - 1) / blockBits, n = y.count
            for j in 0..<q { for k in 0..<n { choices.append(Int((y[k] >> UInt64(blockBits * j)) & 15)) } }
            shapes.append((q, n))
            ands += n * andsPerLevel(leaves: q).reduce(0, +)
        }
        let (a, b, tripleChoices) = SharedBits.receiverTripleChoices(ands)
        let both = try SmallOT.receive(ot, batches: [(blockBits, 2, choices), (2, 1, tripleChoices)])
        let received = both[0]
        var lt = [[[Bool]]](), eq = [[[Bool]]]()
        var start = 0
        for (q, n) in shapes {
            lt.append((0..<q).map { j in (0..<n).map { received[start + j * n + $0] & 1 == 1 } })
            eq.append((0..<q).map { j in (0..<n).map { received[start + j * n + $0] & 2 == 2 } })
            start += q * n
        }
        let triples = (a: a, b: b, c: both[1].map { $0 == 1 })
        return try combine(lt: lt, eq: eq, triples: triples, isSender: false, channel: ot.channel)
    }

    /// The combination trees of every group, least significant block first, all groups' ANDs of a level in
    /// one round trip.
    static func combine(lt: [[[Bool]]], eq: [[[Bool]]], triples: (a: [Bool], b: [Bool], c: [Bool]), isSender: Bool,
                        channel: any Channel) throws -> [[Bool]] {
        var lt = lt, eq = eq, offset = 0
        while lt.contains(where: { $0.count > 1 }) {
            // ANDs of this level, all elements at once: eq_hi ∧ lt_lo per pair, then eq_hi ∧ eq_lo (not at the top).
            var left: [Bool] = [], right: [Bool] = []
            var levels: [(group: Int, pairs: Int, top: Bool, start: Int)] = []
            for g in lt.indices where lt[g].count > 1 {
                let pairs = lt[g].count / 2, top = lt[g].count == 2
                levels.append((g, pairs, top, left.count))
                for t in 0..<pairs { left += eq[g][2 * t + 1]; right += lt[g][2 * t] }
                if !top { for t in 0..<pairs { left += eq[g][2 * t + 1]; right += eq[g][2 * t] } }
            }
            let products = try SharedBits.and(left, right, triples: triples, offset: offset, isSender: isSender, channel: channel)
            offset += left.count
            for (g, pairs, top, start) in levels {
                let n = lt[g][0].count
                var nextLT: [[Bool]] = [], nextEQ: [[Bool]] = []
                for t in 0..<pairs {
                    nextLT.append((0..<n).map { lt[g][2 * t + 1][$0] != products[start + t * n + $0] })
                    if !top { nextEQ.append(Array(products[(start + (pairs + t) * n)..<(start + (pairs + t + 1) * n)])) }
                }
                if lt[g].count % 2 == 1 { nextLT.append(lt[g][lt[g].count - 1]); nextEQ.append(eq[g][eq[g].count - 1]) }
                lt[g] = nextLT
                eq[g] = nextEQ
            }
        }
        return lt.map { $0[0] }
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
