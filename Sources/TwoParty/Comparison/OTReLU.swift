// ReLU with exact truncation from correlated OT alone: the function of the garbled ReLU circuit
// (ReLUCircuit: y = ReLU(x) >> f for x = (s + c) mod 2^64 with |x| < 2^(k-1), only the low k bits of each
// share entering; fresh additive shares of y in Z_(2^64) out), computed the way CrypTFlow2 (Rathee et al.,
// CCS 2020, sections 3-5) and Cheetah (Huang et al., USENIX Security 2022) compute ReLU: a millionaires'
// protocol for the sign, then multiplexing. Semi-honest.
//
// With a = s mod 2^k and b = c mod 2^k (the server's and the client's low k bits):
//  1. b_x = 1{x >= 0}, as XOR shares: DReLU on k bits (one millionaire on k - 1 bits, whose inputs are
//     2^(k-1) - 1 - l(a), the complement of a's low k - 1 bits, and l(b)).
//  2. Exact truncation of x when x >= 0: x = a + b - w 2^k with the wrap w = 1{a + b >= 2^k}, so
//         x >> f = (a >> f) + (b >> f) + carry_f - w 2^(k-f),
//     carry_f = 1{(a mod 2^f) + (b mod 2^f) >= 2^f} = 1{2^f - 1 - (a mod 2^f) < b mod 2^f}: a comparison of
//     the low f bits of step 1's inputs, which the same millionaire's tree gives with no extra OT
//     (Millionaire's `low`; the first version ran a second millionaire on f bits beside it).
//     Where x >= 0 (the only case the result keeps), w = msb(a) OR msb(b): both top bits clear leave no
//     wrap, both set always wrap, and one set must wrap, or x would be at least 2^(k-1).
//  3. The multiplexer y = b_x · T without a round for the B2A conversions first: with b_x = b_s ⊕ b_c,
//     carry_f = u_s ⊕ u_c, w = m_s + m_c - m_s m_c and K = 2^(k-f),
//         T = P_s + P_c - 2 u_s u_c,   P_s = (a >> f) + u_s - K m_s + K W_s  (P_c likewise),
//     where W_s + W_c = m_s m_c (m_c is the client's at the start, m_s the server's, so this product is
//     made during the comparison), and expanding b_x = b_s + b_c (1 - 2 b_s),
//         y = b_s P_s + b_c P_c                                   (local)
//           + b_c · (1 - 2 b_s) P_s + u_c · (-2 b_s u_s) + (b_c u_c) · (-2 (1 - 2 b_s) u_s)   (client bit x server value)
//           + b_s · (1 - 2 b_c) P_c                               (server bit x client value),
//     four products of one side's bit and the other side's value, all in one exchange (`BitValueProducts`;
//     the server-bit product runs on correlated OT in the reverse direction, the client as its sender).
// Offline and online (Delphi's split; `prepareServer`, `beginClient`, `finishClient`): nothing of the above
// needs the server's shares but the table entries and the openings, and the client's shares are fixed
// offline, so every OT runs offline: the leaves' 1-of-2^w OTs (the client's choices are its own blocks; the
// server keeps each entry's pad and later XORs its entries in), the AND triples, the products' random
// OLEs in both directions. Offline: the client's choice bits, then the server's and the triples' table (2
// flights however many layers a session prepares together). Online: no OT, no hash of a key.
// Online rounds: the client's first flight carries its opening of m_c; the server's first the leaf table,
// its opening for W and its first openings; the comparison's openings then take about one flight per
// level (Millionaire's schedule); whoever learns its sign first sends its product openings with its last
// openings, the other answers with its own (and, the client, its re-sharing): T + 2 flights per ReLU layer
// for a tree of T levels where the server finishes first (T even: the shipped plans' T = 4 gives 6
// flights), T + 3 otherwise.
// COTs per element, k = 35, f = 13 (`correlatedOTs`): 34 for the leaves, 2 per AND triple (15), 4 forward
// and 1 reverse for the products. Traffic with silent OT, offline: the chosen COTs' bit each, 4 table bits
// per AND; online: the leaf tables (2^w x 2 bits per leaf of w bits), 4 opening bits per AND, and per
// product 65 bits (a masked bit and a masked 64-bit value): about 81 B per element, 88 B with the
// session's re-sharing of the result; with IKNP add 16 B per COT offline.
import Transport

/// Products α v of one side's bits α and the other side's values v (mod 2^64) in one exchange (neither
/// side's openings wait for the other's), Beaver-style from random OLEs z_bit + z_value = ρ w: the bit side opens e = α ⊕ ρ, the value side
/// δ = v - w, and α v = e v + (1 - 2e)(ρ w + ρ δ). The random OLEs come from random OT with no message of
/// their own: ρ is the OT receiver's random choice, and with the sender's random messages m0, m1,
/// w = lo(m1) - lo(m0), z_value = -lo(m0), z_bit = lo(m_ρ) (Gilboa's OLE, CRYPTO 1999, with the sender's
/// input itself random). e is uniform because ρ is; δ because w is pseudorandom to the bit side.
enum BitValueProducts {
    static let openingsMessage: UInt16 = 0x0303

    /// The bit side's random OLEs (the OT receiver).
    struct BitSide {
        let rho: ChoiceBits
        let z: [UInt64]

        init(_ ot: any CorrelatedOTReceiver, count: Int) throws {
            rho = ChoiceBits.random(count: count)
            z = try ot.random(choices: rho).map(\.lo)
        }

        /// Openings e = α ⊕ ρ of the bits α[i] (for OLEs from `first` on).
        func open(_ alpha: ChoiceBits, first: Int) -> ChoiceBits { alpha ^ rho.slice(from: first, count: alpha.count) }

        /// Shares of α v from the openings e and the other side's δ.
        func shares(_ e: ChoiceBits, deltas: ArraySlice<UInt64>, first: Int) -> [UInt64] {
            (0..<e.count).map { i in
                let d = deltas[deltas.startIndex + i]
                let share = z[first + i] &+ (rho[first + i] ? d : 0)
                return e[i] ? 0 &- share : share
            }
        }
    }

    /// The value side's random OLEs (the OT sender).
    struct ValueSide {
        let w: [UInt64]
        let z: [UInt64]

        init(_ ot: any CorrelatedOTSender, count: Int) throws {
            let (m0, m1) = try ot.random(count: count)
            w = (0..<count).map { m1[$0].lo &- m0[$0].lo }
            z = m0.map { 0 &- $0.lo }
        }

        /// Openings δ = v - w of the values v[i] (for OLEs from `first` on).
        func open(_ v: [UInt64], first: Int) -> [UInt64] { v.indices.map { v[$0] &- w[first + $0] } }

        /// Shares of α v from the other side's openings e.
        func shares(_ v: [UInt64], e: ChoiceBits, first: Int) -> [UInt64] {
            v.indices.map { i in e[i] ? v[i] &- z[first + i] : z[first + i] }
        }
    }
}

public enum OTReLU {

    /// A share's top bit of its low k bits and those bits shifted right by f (the carry of the low f bits
    /// comes from the comparison).
    static func parts(_ share: UInt64, valueBits k: Int, truncation f: Int) -> Parts {
        let low = k == 64 ? share : share & ((1 << UInt64(k)) - 1)
        return (low >> UInt64(k - 1), low >> UInt64(f))
    }

    typealias Parts = (msb: UInt64, shifted: UInt64)

    /// K = 2^(k-f) mod 2^64.
    static func wrapWeight(valueBits k: Int, truncation f: Int) -> UInt64 { k - f < 64 ? 1 << UInt64(k - f) : 0 }

    /// P = (share >> f) + u - K m + K W for this side (u its carry share, m its top bit, W its share of m_s m_c).
    static func local(_ part: Parts, carry: Bool, wrapShare: UInt64, weight: UInt64) -> UInt64 {
        part.shifted &+ (carry ? 1 : 0) &- weight &* part.msb &+ weight &* wrapShare
    }

    /// The correlated OTs `server`/`client` take for `count` values: forward (the server as sender: the
    /// comparison's leaves, 2 per AND triple, 4 per value for the products) and reverse (1 per value).
    /// Sessions prepare them offline (`CorrelatedOTSender.prepare`).
    public static func correlatedOTs(count n: Int, valueBits k: Int, truncation f: Int) -> (forward: Int, reverse: Int) {
        check(valueBits: k, truncation: f)
        let (widths, _, lowLeaves) = Millionaire.leaves(bits: k - 1, low: f)
        let ands = Millionaire.andVectors(lowLeaves: lowLeaves, highLeaves: widths.count - lowLeaves)
        return (n * (k - 1 + 2 * ands + 4), n)
    }

    static func check(valueBits k: Int, truncation f: Int) {
        precondition((2...64).contains(k) && f >= 0 && f <= k - 1, "OT ReLU: need 2 <= k <= 64 and 0 <= f <= k - 1")
    }

    /// Sends this side's product openings, then reads the other's, or the other way round: the side that
    /// learnt its shares of the comparison first writes first.
    static func exchange(_ mine: [UInt64], theirs count: Int, writeFirst: Bool, channel: any Channel) throws -> [UInt64] {
        if writeFirst {
            try channel.sendMessage(type: BitValueProducts.openingsMessage, mine)
            try channel.flush()
            return try channel.receiveMessage(expecting: BitValueProducts.openingsMessage, UInt64.self, count: count)
        }
        let theirs = try channel.receiveMessage(expecting: BitValueProducts.openingsMessage, UInt64.self, count: count)
        try channel.sendMessage(type: BitValueProducts.openingsMessage, mine)
        try channel.flush()
        return theirs
    }

    /// What the server makes offline for `count` values, before its shares exist: the comparison's leaf
    /// pads and AND triples, the products' random OLEs (forward: 4 per value) and the reverse one (1 per
    /// value). With the client's side (`beginClient`, `ClientPending.reverse`, `finishClient`), in this
    /// order on the channel: the client's choice bits (forward), the server's (reverse), the triples' table
    /// (`sendTables`). Online, `server(_:prepared:channel:)` then runs no OT at all. Single use: a second
    /// run on the same preparation would send two tables under the same pads.
    public struct ServerPreparation {
        let count: Int, valueBits: Int, truncation: Int
        /// The comparison's part (public for tests that play a faulty server).
        public let comparison: Millionaire.SenderPreparation
        let values: BitValueProducts.ValueSide
        let bits: BitValueProducts.BitSide
    }

    /// The client's forward part, made from its shares `c` (which the Delphi split fixes offline).
    public struct ClientPending {
        let shares: [UInt64]
        let valueBits: Int, truncation: Int
        let comparison: Millionaire.ReceiverPending
        let bits: BitValueProducts.BitSide
        var values: BitValueProducts.ValueSide?

        /// The reverse direction's random OLEs (the client as OT sender): reads the server's choice bits.
        public mutating func reverse(_ ot: any CorrelatedOTSender) throws {
            values = try BitValueProducts.ValueSide(ot, count: shares.count)
        }
    }

    /// The client's whole preparation (single use, as the server's).
    public struct ClientPreparation {
        let pending: ClientPending
        let comparison: Millionaire.ReceiverPreparation
        let values: BitValueProducts.ValueSide
    }

    public static func prepareServer(count n: Int, valueBits k: Int, truncation f: Int,
                                     forward: any CorrelatedOTSender, reverse: any CorrelatedOTReceiver) throws -> ServerPreparation {
        check(valueBits: k, truncation: f)
        let comparison = try Millionaire.prepareSend(count: n, bits: k - 1, low: f, ot: forward)
        let values = try BitValueProducts.ValueSide(forward, count: 4 * n)
        let bits = try BitValueProducts.BitSide(reverse, count: n)
        return ServerPreparation(count: n, valueBits: k, truncation: f, comparison: comparison, values: values, bits: bits)
    }

    /// The server's last offline message of a preparation: the comparison's triples' table.
    public static func sendTables(_ prepared: ServerPreparation, channel: any Channel) throws {
        try Millionaire.sendTripleTable(prepared.comparison, channel: channel)
    }

    /// The client's forward part: sends its choice bits, reads nothing.
    public static func beginClient(_ c: [UInt64], valueBits k: Int, truncation f: Int,
                                   forward: any CorrelatedOTReceiver) throws -> ClientPending {
        check(valueBits: k, truncation: f)
        let comparison = try Millionaire.beginReceive(DReLU.receiverInputs(c, bits: k), bits: k - 1, low: f, ot: forward)
        let bits = try BitValueProducts.BitSide(forward, count: 4 * c.count)
        return ClientPending(shares: c, valueBits: k, truncation: f, comparison: comparison, bits: bits, values: nil)
    }

    /// Reads the triples' table (after `pending.reverse`).
    public static func finishClient(_ pending: ClientPending, channel: any Channel) throws -> ClientPreparation {
        guard let values = pending.values else { preconditionFailure("OT ReLU: the reverse OLEs come before the table") }
        return ClientPreparation(pending: pending, comparison: try Millionaire.finishReceive(pending.comparison, channel: channel),
                                 values: values)
    }

    /// The server's shares of ReLU(x) >> f, from its shares `s`. `forward` is the OT with the server as
    /// sender, `reverse` the one with the client as sender (both over the same channel). Prepares, then runs.
    public static func server(_ s: [UInt64], valueBits k: Int, truncation f: Int,
                              forward: any CorrelatedOTSender, reverse: any CorrelatedOTReceiver) throws -> [UInt64] {
        let prepared = try prepareServer(count: s.count, valueBits: k, truncation: f, forward: forward, reverse: reverse)
        try sendTables(prepared, channel: forward.channel)
        return try server(s, prepared: prepared, channel: forward.channel)
    }

    /// The client's shares of ReLU(x) >> f, from its shares `c` (the mirror of `server`).
    public static func client(_ c: [UInt64], valueBits k: Int, truncation f: Int,
                              forward: any CorrelatedOTReceiver, reverse: any CorrelatedOTSender) throws -> [UInt64] {
        var pending = try beginClient(c, valueBits: k, truncation: f, forward: forward)
        try pending.reverse(reverse)
        return try client(prepared: finishClient(pending, channel: forward.channel), channel: forward.channel)
    }

    /// The server's online part, on its preparation for s.count values.
    public static func server(_ s: [UInt64], prepared: ServerPreparation, channel: any Channel) throws -> [UInt64] {
        let n = s.count, k = prepared.valueBits, f = prepared.truncation
        precondition(n == prepared.count, "OT ReLU prepared for \(prepared.count) values, given \(n)")
        let words = (n + 63) / 64, weight = wrapWeight(valueBits: k, truncation: f)
        let split = s.map { parts($0, valueBits: k, truncation: f) }
        let msb = split.map(\.msb)
        let values = prepared.values, bitSide = prepared.bits
        // First flight in: the client's opening of m_c for W.
        let eW = ChoiceBits(words: try channel.receiveMessage(expecting: BitValueProducts.openingsMessage, UInt64.self, count: words), count: n)
        // The sign's comparison and the carry's as the comparison of its low f bits (Millionaire's `low`);
        // after its table, this side's opening for W.
        let compared = try Millionaire.send(DReLU.senderInputs(s, bits: k), prepared: prepared.comparison, channel: channel) {
            try channel.sendMessage(type: BitValueProducts.openingsMessage, values.open(msb, first: 0))
        }
        let sign = DReLU.senderSigns(s, bits: k, carry: compared.all)
        let carry = compared.low
        let wrap = values.shares(msb, e: eW, first: 0)
        let p = (0..<n).map { local(split[$0], carry: carry[$0], wrapShare: wrap[$0], weight: weight) }
        // This side's values of the client's three products, and its sign for the fourth.
        var v = [UInt64](repeating: 0, count: 3 * n)
        for i in 0..<n {
            v[i] = sign[i] ? 0 &- p[i] : p[i]                                   // (1 - 2 b_s) P_s
            v[n + i] = sign[i] && carry[i] ? 0 &- 2 : 0                         // -2 b_s u_s
            v[2 * n + i] = carry[i] ? (sign[i] ? 2 : 0 &- 2) : 0                // -2 (1 - 2 b_s) u_s
        }
        let eSign = bitSide.open(ChoiceBits(sign), first: 0)
        let theirs = try exchange(values.open(v, first: n) + eSign.words,
                                  theirs: 3 * words + n, writeFirst: compared.finishedFirst, channel: channel)
        var e = ChoiceBits(count: 0)
        for j in 0..<3 { e = e.appending(ChoiceBits(words: Array(theirs[(j * words)..<((j + 1) * words)]), count: n)) }
        let products = values.shares(v, e: e, first: n)
        let reverseShares = bitSide.shares(eSign, deltas: theirs[(3 * words)...], first: 0)
        return (0..<n).map { i in
            (sign[i] ? p[i] : 0) &+ products[i] &+ products[n + i] &+ products[2 * n + i] &+ reverseShares[i]
        }
    }

    /// The client's online part, on its preparation (which holds its shares).
    public static func client(prepared: ClientPreparation, channel: any Channel) throws -> [UInt64] {
        let c = prepared.pending.shares, k = prepared.pending.valueBits, f = prepared.pending.truncation
        let n = c.count, words = (n + 63) / 64, weight = wrapWeight(valueBits: k, truncation: f)
        let split = c.map { parts($0, valueBits: k, truncation: f) }
        let bits = prepared.pending.bits, valueSide = prepared.values
        let msb = ChoiceBits(split.map { $0.msb == 1 })
        let eW = bits.open(msb, first: 0)
        try channel.sendMessage(type: BitValueProducts.openingsMessage, eW.words)
        try channel.flush()
        var deltaW: [UInt64] = []
        let compared = try Millionaire.receive(prepared: prepared.comparison, channel: channel) {
            deltaW = try channel.receiveMessage(expecting: BitValueProducts.openingsMessage, UInt64.self, count: n)
        }
        let sign = DReLU.receiverSigns(c, bits: k, carry: compared.all)
        let carry = compared.low
        let wrap = bits.shares(eW, deltas: deltaW[...], first: 0)
        let p = (0..<n).map { local(split[$0], carry: carry[$0], wrapShare: wrap[$0], weight: weight) }
        let signBits = ChoiceBits(sign), carryBits = ChoiceBits(carry)
        let alpha = signBits.appending(carryBits).appending(signBits & carryBits)
        let e = bits.open(alpha, first: n)
        let v = (0..<n).map { i in sign[i] ? 0 &- p[i] : p[i] }                 // (1 - 2 b_c) P_c
        var mine: [UInt64] = []
        for j in 0..<3 { mine += e.slice(from: j * n, count: n).words }
        mine += valueSide.open(v, first: 0)
        let theirs = try exchange(mine, theirs: 3 * n + words, writeFirst: compared.finishedFirst, channel: channel)
        var products = [UInt64]()
        for j in 0..<3 {
            products += bits.shares(e.slice(from: j * n, count: n), deltas: theirs[(j * n)..<((j + 1) * n)], first: n + j * n)
        }
        let eSign = ChoiceBits(words: Array(theirs[(3 * n)...]), count: n)
        let reverseShares = valueSide.shares(v, e: eSign, first: 0)
        return (0..<n).map { i in
            (sign[i] ? p[i] : 0) &+ products[i] &+ products[n + i] &+ products[2 * n + i] &+ reverseShares[i]
        }
    }
}
