// An ideal correlated OT (a trusted dealer) with the same interface as IKNP, for tests and for
// measuring protocols without the OT cost. INSECURE by design: both sides derive everything from one
// shared seed, which stands in for the dealer; it sends nothing over the channel.
import Transport

/// Ideal COT sender: q_j from the dealer's stream, Δ from the dealer.
public final class IdealCOTSender: CorrelatedOTSender, @unchecked Sendable {
    public let channel: any Channel
    public let delta: Block
    private var dealer: AESPRG
    private var nextIndex: UInt64 = 0

    /// Both parties must pass the same `seed`.
    public init(seed: Block, channel: any Channel) {
        self.channel = channel
        dealer = AESPRG(seed: seed)
        delta = dealer.nextBlock()
    }

    public func extend(into output: UnsafeMutableBufferPointer<Block>) throws -> UInt64 {
        dealer.fill(output)
        defer { nextIndex += UInt64(output.count) }
        return nextIndex
    }
}

/// Ideal COT receiver: t_j = q_j ⊕ r_j·Δ from the same dealer stream.
public final class IdealCOTReceiver: CorrelatedOTReceiver, @unchecked Sendable {
    public let channel: any Channel
    private let delta: Block
    private var dealer: AESPRG
    private var nextIndex: UInt64 = 0

    /// Both parties must pass the same `seed`.
    public init(seed: Block, channel: any Channel) {
        self.channel = channel
        dealer = AESPRG(seed: seed)
        delta = dealer.nextBlock()
    }

    public func extend(choices: ChoiceBits, into output: UnsafeMutableBufferPointer<Block>) throws -> UInt64 {
        precondition(choices.count == output.count, "one choice bit per OT")
        dealer.fill(output)
        for j in 0..<output.count { output[j] ^= delta.masked(by: choices[j]) }
        defer { nextIndex += UInt64(output.count) }
        return nextIndex
    }
}
