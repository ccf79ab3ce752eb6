// The slow, obvious reference for OT-based multiplication (Gilboa 1999): one chosen-message OT per
// bit of the receiver's factor, full 64-bit messages m0 = -r_i, m1 = x·2^i - r_i, the sender keeping
// Σ r_i. Tests check the fast `OLESender`/`OLEReceiver` against the same products.

/// Reference multiplication over Z_(2^64) with chosen-message OTs (4x the traffic of `OLESender`).
public enum GilboaReference {
    /// Sender side: shares of x[k]·y[k].
    public static func senderMultiply(_ x: [UInt64], ot: any CorrelatedOTSender) throws -> [UInt64] {
        var generator = AESPRG()
        var messages0: [Block] = []
        var messages1: [Block] = []
        var shares: [UInt64] = []
        for value in x {
            var share: UInt64 = 0
            for i in 0..<64 {
                let r = generator.nextUInt64()
                share &+= r
                messages0.append(Block(lo: 0 &- r, hi: 0))
                messages1.append(Block(lo: (value << UInt64(i)) &- r, hi: 0))
            }
            shares.append(share)
        }
        try ot.send(messages0: messages0, messages1: messages1)
        return shares
    }

    /// Receiver side: shares of x[k]·y[k].
    public static func receiverMultiply(_ y: [UInt64], ot: any CorrelatedOTReceiver) throws -> [UInt64] {
        var bits: [Bool] = []
        for value in y { for i in 0..<64 { bits.append((value >> UInt64(i)) & 1 == 1) } }
        let received = try ot.receive(choices: ChoiceBits(bits))
        return (0..<y.count).map { k in (0..<64).reduce(UInt64(0)) { $0 &+ received[k * 64 + $1].lo } }
    }
}
