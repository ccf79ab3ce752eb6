// The correlated-OT interface shared by IKNP and the ideal (trusted-dealer) stand-in, and the OT
// flavours derived from it: random OT and chosen-message OT via a correlation-robust hash
// (Ishai, Kilian, Nissim, Petrank, Crypto 2003, section 3; the hash is Guo, Katz, Wang, Yang, S&P 2020).
//
// Correlated OT (COT) with global Δ: for OT j the sender gets q_j, the receiver with choice bit r_j gets
// t_j = q_j ⊕ r_j·Δ. Random OT: m0_j = H(q_j, j), m1_j = H(q_j ⊕ Δ, j); the receiver gets H(t_j, j) =
// m_{r_j}. Chosen OT: the sender also sends y_b = x_b ⊕ m_b (32 bytes per OT).
import CKernels
import Transport

/// Sender side of correlated OT extension.
///
/// Like a `Channel`, an OT session is driven by one thread at a time; it is `Sendable` so that it can be
/// set up on one thread and handed to the thread that runs the protocol.
public protocol CorrelatedOTSender: AnyObject, Sendable {
    /// The global correlation Δ (secret to this side).
    var delta: Block { get }
    /// The channel to the receiver.
    var channel: any Channel { get }
    /// Runs `output.count` correlated OTs; `output[j]` = q_j. Returns the session-wide index of the first
    /// of them (both sides count identically), used as hash tweak.
    func extend(into output: UnsafeMutableBufferPointer<Block>) throws -> UInt64
    /// Does ahead of need what the next `count` OTs need besides their own messages (the receiver's
    /// `prepare` runs at the same time with the same count): silent OT runs its iterations; sources
    /// without such work do nothing.
    func prepare(_ count: Int) throws
    /// Allocates now (no message) the memory that `prepare` calls of `count` OTs will need, so that they
    /// fault in no fresh pages; sources without such memory do nothing.
    func reserveStorage(forBatchesOf count: Int)
}

/// Receiver side of correlated OT extension (one thread at a time, see `CorrelatedOTSender`).
public protocol CorrelatedOTReceiver: AnyObject, Sendable {
    /// The channel to the sender.
    var channel: any Channel { get }
    /// Runs one correlated OT per choice bit (`choices.count == output.count`); `output[j]` = q_j ⊕ r_j·Δ.
    /// Returns the session-wide index of the first OT.
    func extend(choices: ChoiceBits, into output: UnsafeMutableBufferPointer<Block>) throws -> UInt64
    /// The sender's `prepare`, at the same time and with the same count.
    func prepare(_ count: Int) throws
    /// The sender's `reserveStorage`.
    func reserveStorage(forBatchesOf count: Int)
}

extension CorrelatedOTSender {
    public func prepare(_ count: Int) throws {}
    public func reserveStorage(forBatchesOf count: Int) {}

    /// `count` correlated OTs: q_j (the receiver holds q_j ⊕ r_j·Δ).
    public func correlated(count: Int) throws -> [Block] {
        var q = uninitializedBlocks(count)
        _ = try q.withUnsafeMutableBufferPointer { try extend(into: $0) }
        return q
    }

    /// `count` random OTs: the receiver learns `messages0[j]` or `messages1[j]` by its choice bit.
    public func random(count: Int) throws -> (messages0: [Block], messages1: [Block]) {
        var m0 = uninitializedBlocks(count)
        var m1 = uninitializedBlocks(count)
        let delta = self.delta
        try m0.withUnsafeMutableBufferPointer { q in
            try m1.withUnsafeMutableBufferPointer { q1 in
                let first = try extend(into: q)
                for j in 0..<count { q1[j] = q[j] ^ delta }
                FixedKeyAES.shared.hash(q, firstTweak: first)
                FixedKeyAES.shared.hash(q1, firstTweak: first)
            }
        }
        return (m0, m1)
    }

    /// Chosen-message OT: the receiver learns `messages0[j]` if its choice bit j is 0, else `messages1[j]`.
    public func send(messages0: [Block], messages1: [Block]) throws {
        precondition(messages0.count == messages1.count, "message vectors differ in length")
        let count = messages0.count
        let (m0, m1) = try random(count: count)
        var masked = [Block](repeating: .zero, count: 2 * count)
        for j in 0..<count {
            masked[2 * j] = messages0[j] ^ m0[j]
            masked[2 * j + 1] = messages1[j] ^ m1[j]
        }
        try channel.sendBlocks(type: OTMessage.chosenMessages, masked)
        try channel.flush()
    }
}

extension CorrelatedOTReceiver {
    public func prepare(_ count: Int) throws {}
    public func reserveStorage(forBatchesOf count: Int) {}

    /// Correlated OTs for `choices`: q_j ⊕ r_j·Δ.
    public func correlated(choices: ChoiceBits) throws -> [Block] {
        var t = uninitializedBlocks(choices.count)
        _ = try t.withUnsafeMutableBufferPointer { try extend(choices: choices, into: $0) }
        return t
    }

    /// Random OTs: the chosen message of each.
    public func random(choices: ChoiceBits) throws -> [Block] {
        var t = uninitializedBlocks(choices.count)
        try t.withUnsafeMutableBufferPointer { buffer in
            let first = try extend(choices: choices, into: buffer)
            FixedKeyAES.shared.hash(buffer, firstTweak: first)
        }
        return t
    }

    /// Chosen-message OT: returns `messages0[j]` or `messages1[j]` of the sender, by choice bit j.
    public func receive(choices: ChoiceBits) throws -> [Block] {
        let count = choices.count
        let pads = try random(choices: choices)
        let masked = try channel.receiveBlocks(expecting: OTMessage.chosenMessages, count: 2 * count)
        return (0..<count).map { j in
            // Constant-time select of y_{r_j}.
            let y0 = masked[2 * j], y1 = masked[2 * j + 1]
            return y0 ^ (y0 ^ y1).masked(by: choices[j]) ^ pads[j]
        }
    }
}

/// An array of `count` blocks whose contents are left as allocated (Block is a plain 16-byte value);
/// every caller overwrites all of them before reading, which saves zero-filling megabytes per batch.
/// Buffers of 4 MiB or more (the silent-OT pools: 173 MB) ask for huge pages first (ckernels_advise_huge_pages).
@inline(__always)
func uninitializedBlocks(_ count: Int) -> [Block] {
    [Block](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count >= 1 << 18, let base = buffer.baseAddress { ckernels_advise_huge_pages(base, count * MemoryLayout<Block>.stride) }
        initialized = count
    }
}
