// How a garbled circuit's outputs reach the evaluator.
//
// `.bits`: one decoding bit per output wire (point-and-permute: the evaluator's bit is lsb(label) ⊕ d).
//
// `.additiveShares`: the wire outputs, output i weighted by 2^i, are handed out as additive shares of
// v = Σ_i 2^i·y_i in Z_(2^64), with one projection gate per output wire (the classic point-and-permute
// garbled table of a unary gate, as in Yao's protocol and in the projection gates of Ball, Malkin,
// Rosulek, "Garbling Gadgets for Boolean and Arithmetic Circuits", CCS 2016). For output wire i of a copy
// the garbler draws a fresh uniform r_i ∈ Z_(2^64) and sends two 8-byte rows, ordered by the labels'
// permute bits:
//     row[lsb(W_b)] = H(W_b, t_i) ⊕ (r_i + b·2^i),   b ∈ {0, 1},
// with H the fixed-key-AES TCCR hash truncated to 64 bits and t_i a tweak used by no other hash under
// this Δ (high bit set; gate tweaks stay below 2^63). The evaluator, holding W_{y_i}, computes
// H(W_{y_i}, t_i) ⊕ row[lsb(W_{y_i})] = r_i + y_i·2^i and sums; the garbler's share is -Σ r_i.
// Security: the row of the inactive label is masked by H(W_{1-y_i}, t_i), pseudorandom to the evaluator
// because W_{1-y_i} = W_{y_i} ⊕ Δ and Δ is hidden (TCCR); the evaluator's values r_i + y_i·2^i are
// uniform because r_i is, so its share is uniform and independent of y, and a simulator can produce the
// view from the share alone. Cost: 16 bytes per output wire instead of an in-circuit 64-bit mask adder
// (63 AND gates, 2016 bytes) plus 64 decoding bits.

//
// `.gatedShares`: as `.additiveShares`, but output i is a_i ∧ g for value wires a_0..a_(p-1) (all outputs but
// the last) and a gate wire g (the last output), with the AND inside the output's table instead of a
// half-gates AND before it: the ReLU's multiplexer, y_i = x_(i+f) ∧ ¬sign. For value wire A (labels A_a) and
// gate wire S (labels S_s) of a copy, the row at (u, v) = (lsb A_a, lsb S_s) holds
//     row[u, v] = H(A_a, t(u, v, 0)) ⊕ H(S_s, t(u, v, 1)) ⊕ (r_i + (a ∧ s)·2^i),
// a tweak per row and side (`gatedTweak`); r_i is chosen so that row[0, 0] = 0, which is not sent (row
// reduction, Naor-Pinkas-Sumner 1999): three 8-byte rows. The evaluator hashes its two labels under its
// row's tweaks. Security: each of the three rows the evaluator cannot open holds a hash of a label it lacks
// (A_a ⊕ Δ or S_s ⊕ Δ) under a tweak no other hash uses (were the tweaks shared by the rows of one label,
// XORing three rows would reveal the XOR of the three inactive values), so they are pseudorandom (TCCR);
// its own value r_i + y_i·2^i is uniform as r_i is. 24 bytes per output bit instead of a 32-byte AND gate
// and a 16-byte projection; the garbler hashes 8 times per output bit (6 before), the evaluator twice (3).

public enum OutputEncoding: Sendable, Hashable {
    case bits
    case additiveShares
    case gatedShares

    /// Whether the outputs leave as additive shares (one word per copy).
    var isArithmetic: Bool { self != .bits }

    /// Projection rows of a batch: two per output wire (`.additiveShares`), three per value wire (`.gatedShares`).
    func rowCount(copies: Int, outputWires w: Int) -> Int {
        switch self {
        case .bits: return 0
        case .additiveShares: return copies * w * 2
        case .gatedShares: return copies * max(w - 1, 0) * 3
        }
    }

    /// The tweak of side `side` (0: value wire, 1: gate wire) of row (u, v) of value output `output` of
    /// global copy `copy` (bit 62 set: apart from `tweak`'s and from the gates').
    static func gatedTweak(copy: UInt64, output: Int, outputWires: Int, u: Int, v: Int, side: Int) -> UInt64 {
        (3 << 62) | ((copy &* UInt64(outputWires) &+ UInt64(output)) << 3) | UInt64(u << 2 | v << 1 | side)
    }

    /// The tweak of output wire `output` (among wire outputs) of global copy `copy` with `outputWires` wire outputs.
    static func tweak(copy: UInt64, output: Int, outputWires: Int) -> UInt64 {
        (1 << 63) | (copy &* UInt64(outputWires) &+ UInt64(output))
    }
}
