// The byte channel between the two parties of a protocol. Design after emp-toolkit's IOChannel and
// SCI's NetIO: one abstract channel that counts bytes, with a documented flush contract.

/// A reliable, ordered, bidirectional byte stream between two parties that counts its traffic.
///
/// Contract:
/// - `send` may buffer; `flush` hands everything buffered to the peer. `receive` flushes this side's
///   buffered sends before it waits, so a request/response protocol never deadlocks on a forgotten flush.
/// - `receive(into:)` returns only when the buffer is full, or throws (`TransportError`).
/// - A channel is driven by one thread at a time (each party runs its side of the protocol
///   sequentially). It is `Sendable` so that it can be handed to the thread that drives it; two threads
///   must not call it concurrently.
/// - `stats` counts wire bytes and rounds as defined in `ChannelStats`; `resetStats` zeroes them.
/// - After an error the stream may be out of step: close the channel.
public protocol Channel: AnyObject, Sendable {
    /// Queues `bytes` for the peer (may buffer until `flush` or the next `receive`).
    func send(_ bytes: UnsafeRawBufferPointer) throws
    /// Fills `buffer` completely with the next bytes from the peer.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws
    /// Hands all buffered bytes to the peer.
    func flush() throws
    /// Flushes what it can and closes both directions; the peer sees end of stream. Idempotent.
    func close()
    /// Traffic since creation or the last `resetStats()`.
    var stats: ChannelStats { get }
    func resetStats()
    /// Largest frame payload `receiveMessage` accepts; longer announced lengths raise `.oversizedFrame`.
    var maxFrameLength: UInt64 { get set }
}

extension Channel {
    /// Sends the raw bytes of an array of plain values (integers, blocks), in memory order.
    public func send<T: BitwiseCopyable>(_ values: [T]) throws {
        try values.withUnsafeBytes { try send($0) }
    }

    /// Receives `count` plain values sent by `send(_: [T])`.
    public func receive<T: BitwiseCopyable>(_ type: T.Type, count: Int) throws -> [T] {
        precondition(count >= 0, "negative count")
        return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            try receive(into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }

    /// Receives exactly `count` bytes.
    public func receiveBytes(count: Int) throws -> [UInt8] {
        try receive(UInt8.self, count: count)
    }
}

extension UnsafeMutableRawBufferPointer {
    /// Copies `count` bytes of `source` from `offset` into this buffer at `position` (the channels' reads).
    @inline(__always)
    func copy(_ count: Int, from source: UnsafeRawBufferPointer, at offset: Int, to position: Int) {
        UnsafeMutableRawBufferPointer(rebasing: self[position..<(position + count)])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<(offset + count)]))
    }
}
