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

public enum OutputEncoding: Sendable, Hashable {
    case bits
    case additiveShares

    /// The tweak of output wire `output` (among wire outputs) of global copy `copy` with `outputWires` wire outputs.
    static func tweak(copy: UInt64, output: Int, outputWires: Int) -> UInt64 {
        (1 << 63) | (copy &* UInt64(outputWires) &+ UInt64(output))
    }
}
