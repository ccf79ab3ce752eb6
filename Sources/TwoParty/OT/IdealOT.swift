// An ideal correlated OT (a trusted dealer) with the same interface as IKNP, for tests and for
// measuring protocols without the OT cost. INSECURE by design: both sides derive everything from one
// shared seed, which stands in for the dealer; it sends nothing over the channel.
import Transport

/// The dealer both sides simulate from one seed: Δ, then the stream of q_j.
struct IdealDealer {
    let delta: Block
    private var stream: AESPRG
    private(set) var nextIndex: UInt64 = 0

    init(seed: Block) {
        stream = AESPRG(seed: seed)
        var d = stream.nextBlock()
        d.lo |= 1   // as IKNP's: usable as a garbler's free-XOR offset
        delta = d
    }

    /// Writes the next q_j into `output`; returns the index of the first.
    mutating func deal(into output: UnsafeMutableBufferPointer<Block>) -> UInt64 {
        stream.fill(output)
        defer { nextIndex += UInt64(output.count) }
        return nextIndex
    }
}

/// Ideal COT sender: q_j from the dealer's stream, Δ from the dealer.
public final class IdealCOTSender: CorrelatedOTSender, @unchecked Sendable {
    public let channel: any Channel
    private var dealer: IdealDealer
    public var delta: Block { dealer.delta }

    /// Both parties must pass the same `seed`.
    public init(seed: Block, channel: any Channel) {
        self.channel = channel
        dealer = IdealDealer(seed: seed)
    }

    public func extend(into output: UnsafeMutableBufferPointer<Block>) throws -> UInt64 {
        dealer.deal(into: output)
    }
}

/// Ideal COT receiver: t_j = q_j ⊕ r_j·Δ from the same dealer stream.
public final class IdealCOTReceiver: CorrelatedOTReceiver, @unchecked Sendable {
    public let channel: any Channel
    private var dealer: IdealDealer

    /// Both parties must pass the same `seed`.
    public init(seed: Block, channel: any Channel) {
        self.channel = channel
        dealer = IdealDealer(seed: seed)
    }

    public func extend(choices: ChoiceBits, into output: UnsafeMutableBufferPointer<Block>) throws -> UInt64 {
        precondition(choices.count == output.count, "one choice bit per OT")
        let first = dealer.deal(into: output)
        let delta = dealer.delta
        for j in 0..<output.count { output[j] ^= delta.masked(by: choices[j]) }
        return first
    }
}
