// Correlated-message OT for free-XOR garbled-circuit input labels (Asharov, Lindell, Schneider, Zohner,
// "More Efficient Oblivious Transfer and Extensions for Faster Secure Computation", CCS 2013, C-OT):
// the zero-labels are the OT's own random pads m0_j = H(q_j, j), and the sender sends one block per OT,
// y_j = H(q_j, j) ⊕ H(q_j ⊕ Δ, j) ⊕ R, so the receiver with choice r_j learns m0_j ⊕ r_j·R as
// H(t_j, j) ⊕ r_j·y_j. 16 + 16 = 32 bytes per label instead of 48 for chosen messages.
import Transport

extension CorrelatedOTSender {
    /// Correlated-label OT: returns the `count` zero-labels (random, fixed by the OT); the receiver
    /// learns `labels0[j] ⊕ r_j·correlation` (use the garbler's free-XOR offset as `correlation`).
    public func sendCorrelatedLabels(count: Int, correlation: Block) throws -> [Block] {
        let (m0, m1) = try random(count: count)
        var corrections = uninitializedBlocks(count)
        for j in 0..<count { corrections[j] = m0[j] ^ m1[j] ^ correlation }
        try channel.sendBlocks(type: OTMessage.correlatedLabels, corrections)
        try channel.flush()
        return m0
    }
}

extension CorrelatedOTReceiver {
    /// Receiver of `sendCorrelatedLabels`: the zero-label or the one-label of each wire by choice bit.
    public func receiveCorrelatedLabels(choices: ChoiceBits) throws -> [Block] {
        var labels = try random(choices: choices)
        let corrections = try channel.receiveBlocks(expecting: OTMessage.correlatedLabels, count: choices.count)
        for j in 0..<choices.count { labels[j] ^= corrections[j].masked(by: choices[j]) }
        return labels
    }
}
