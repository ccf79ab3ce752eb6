// ReLU with exact truncation from correlated OT alone: the function of the garbled ReLU circuit
// (ReLUCircuit: y = ReLU(x) >> f for x = (s + c) mod 2^64 with |x| < 2^(k-1), only the low k bits of each
// share entering; fresh additive shares of y in Z_(2^64) out), computed the way CrypTFlow2 (Rathee et al.,
// CCS 2020, sections 3-5) and Cheetah (Huang et al., USENIX Security 2022) compute ReLU: a millionaires'
// protocol for the sign, then multiplexing. Semi-honest.
//
// With a = s mod 2^k and b = c mod 2^k (the server's and the client's low k bits):
//  1. b_x = 1{x >= 0}, as XOR shares: DReLU on k bits (one millionaire on k - 1 bits, run side by side
//     with the one of step 2: the same rounds).
//  2. Exact truncation of x when x >= 0: x = a + b - w 2^k with the wrap w = 1{a + b >= 2^k}, so
//         x >> f = (a >> f) + (b >> f) + carry_f - w 2^(k-f),
//     carry_f = 1{(a mod 2^f) + (b mod 2^f) >= 2^f}: a millionaire on f bits (XOR shares).
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
// Traffic per element, k = 40, f = 12, silent OT: about 66 B (DReLU) + 20 B (carry) + 4 one-bit OLEs of
// 8 B each; with IKNP add 16 B per COT.
import Transport

public enum OTReLU {
    static func parts(_ share: UInt64, valueBits k: Int, truncation f: Int) -> Parts {
        let low = k == 64 ? share : share & ((1 << UInt64(k)) - 1)
        let fraction = f == 0 ? 0 : low & ((1 << UInt64(f)) - 1)
        return (low, low >> UInt64(k - 1), low >> UInt64(f), fraction)
    }

    typealias Parts = (low: UInt64, msb: UInt64, shifted: UInt64, fraction: UInt64)

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
        // The sign's and the carry's comparisons side by side (one set of rounds).
        let limit: UInt64 = f == 0 ? 0 : (1 << UInt64(f)) - 1
        let compared = try Millionaire.send(groups: [(DReLU.senderInputs(s, bits: k), k - 1),
                                                     (f == 0 ? [] : split.map { limit - $0.fraction }, max(f, 1))], ot: forward)
        let sign = DReLU.senderSigns(s, bits: k, carry: compared[0])
        let carry = f == 0 ? [Bool](repeating: false, count: n) : compared[1]
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
        let compared = try Millionaire.receive(groups: [(DReLU.receiverInputs(c, bits: k), k - 1),
                                                        (f == 0 ? [] : split.map(\.fraction), max(f, 1))], ot: forward)
        let sign = DReLU.receiverSigns(c, bits: k, carry: compared[0])
        let carry = f == 0 ? [Bool](repeating: false, count: n) : compared[1]
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
