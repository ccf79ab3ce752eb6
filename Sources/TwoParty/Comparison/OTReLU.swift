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
//  3. Arithmetic shares mod 2^64 of w = m_s + m_c - m_s m_c and of carry_f = u_s + u_c - 2 u_s u_c (B2A):
//     the two products of a server bit and a client bit by one-bit OLEs (one COT each).
//  4. y = b_x · T for T = T_s + T_c the truncated value: with b_x = b_s XOR b_c,
//         b_x T_s = b_s T_s + b_c (1 - 2 b_s) T_s      (an OLE on the client's bit b_c),
//         b_x T_c = b_c T_c + b_s (1 - 2 b_c) T_c      (an OLE on the server's bit b_s: OT the other way),
//     so the second product needs correlated OT in the reverse direction, the client as its sender.
// Rounds after the millionaires': the server is the OT sender of step 3's products and of the first
// multiplexer product, and a sender's OLE shares do not depend on its multiplicand (OLESender.prepare), so
// both run on one set of COTs: the client sends all its choices, the server answers with all corrections
// and its choices for the reverse OLE, the client with that OLE's corrections: three flights.
// COTs per element, k = 40, f = 12: 39 for the leaves, 2 x 15 for the AND triples, 3 one-bit OLEs, and
// one in reverse (73; 102 with the separate carry millionaire). Traffic with silent OT: the chosen COTs'
// bit each, the leaf tables (2^w x 2 bits per leaf of w bits), 4 table bits and 4 opening bits per AND,
// and the OLE corrections (8 B each); with IKNP add 16 B per COT.
import Transport

public enum OTReLU {
    /// A share's top bit of its low k bits and those bits shifted right by f (the carry of the low f bits
    /// comes from the comparison).
    static func parts(_ share: UInt64, valueBits k: Int, truncation f: Int) -> Parts {
        let low = k == 64 ? share : share & ((1 << UInt64(k)) - 1)
        return (low >> UInt64(k - 1), low >> UInt64(f))
    }

    typealias Parts = (msb: UInt64, shifted: UInt64)

    /// Step 3 on either side: this side's share T of the truncated value, from its parts, its bits
    /// (n top bits m, then n carry shares u) and its shares of their products with the other side's, and
    /// (1 - 2 b) T for the multiplexer (b this side's share of the sign).
    static func truncated(_ split: [Parts], bits: [UInt64], products: [UInt64], sign: [Bool], valueBits k: Int,
                          truncation f: Int) -> (t: [UInt64], scaled: [UInt64]) {
        let n = split.count, wrapShift = UInt64(k - f)
        var t = [UInt64](repeating: 0, count: n), scaled = t
        for e in 0..<n {
            let wrap = split[e].msb &- products[e]                         // m + m' - m m'
            let carryShare = bits[n + e] &- 2 &* products[n + e]           // u + u' - 2 u u'
            t[e] = split[e].shifted &+ carryShare &- (wrapShift < 64 ? wrap &<< wrapShift : 0)
            scaled[e] = sign[e] ? 0 &- t[e] : t[e]
        }
        return (t, scaled)
    }

    static func check(valueBits k: Int, truncation f: Int) {
        precondition((2...64).contains(k) && f >= 0 && f <= k - 1, "OT ReLU: need 2 <= k <= 64 and 0 <= f <= k - 1")
    }

    /// The server's shares of ReLU(x) >> f, from its shares `s`. `forward` is the OT with the server as
    /// sender, `reverse` the one with the client as sender (both over the same channel).
    public static func server(_ s: [UInt64], valueBits k: Int, truncation f: Int,
                              forward: any CorrelatedOTSender, reverse: any CorrelatedOTReceiver) throws -> [UInt64] {
        check(valueBits: k, truncation: f)
        let n = s.count
        let split = s.map { parts($0, valueBits: k, truncation: f) }
        // The sign's comparison, and the carry's as the comparison of its low f bits (Millionaire's `low`).
        let compared = try Millionaire.send(DReLU.senderInputs(s, bits: k), bits: k - 1, low: f, ot: forward)
        let sign = DReLU.senderSigns(s, bits: k, carry: compared.all)
        let carry = compared.low
        let bits = split.map(\.msb) + carry.map { $0 ? 1 : 0 }
        // The B2A products and this side's multiplexer term in one round trip: an OLE sender's shares do not
        // depend on its multiplicand, so the OTs of both run first and the multiplicands (bits, then the
        // scaled value computed from the B2A shares) go out in one message.
        let forwardOLE: PreparedOLE<UInt64> = try OLESender(ot: forward).prepare(count: 3 * n, bits: 1)
        let (t, scaled) = truncated(split, bits: bits, products: Array(forwardOLE.shares[0..<(2 * n)]),
                                    sign: sign, valueBits: k, truncation: f)
        let ownTerm = forwardOLE.shares[(2 * n)...]
        try forwardOLE.send(bits + scaled)
        let otherTerm = try OLEReceiver(ot: reverse).multiply(sign.map { $0 ? UInt64(1) : 0 }, bits: 1)
        return (0..<n).map { e in (sign[e] ? t[e] : 0) &+ ownTerm[2 * n + e] &+ otherTerm[e] }
    }

    /// The client's shares of ReLU(x) >> f, from its shares `c` (the mirror of `server`).
    public static func client(_ c: [UInt64], valueBits k: Int, truncation f: Int,
                              forward: any CorrelatedOTReceiver, reverse: any CorrelatedOTSender) throws -> [UInt64] {
        check(valueBits: k, truncation: f)
        let n = c.count
        let split = c.map { parts($0, valueBits: k, truncation: f) }
        let compared = try Millionaire.receive(DReLU.receiverInputs(c, bits: k), bits: k - 1, low: f, ot: forward)
        let sign = DReLU.receiverSigns(c, bits: k, carry: compared.all)
        let carry = compared.low
        let bits = split.map(\.msb) + carry.map { $0 ? 1 : 0 }
        // The server's B2A and multiplexer OLEs in one round trip (its `prepare`): both sets of choices now.
        let forwardProducts = try OLEReceiver(ot: forward).multiply(bits + sign.map { $0 ? UInt64(1) : 0 }, bits: 1)
        let (t, scaled) = truncated(split, bits: bits, products: Array(forwardProducts[0..<(2 * n)]),
                                    sign: sign, valueBits: k, truncation: f)
        let ownTerm = forwardProducts[(2 * n)...]
        let otherTerm = try OLESender(ot: reverse).multiply(scaled, bits: 1)
        return (0..<n).map { e in (sign[e] ? t[e] : 0) &+ ownTerm[2 * n + e] &+ otherTerm[e] }
    }
}
