// Two connected channel endpoints in one process, for tests and single-process benchmarks.
import Foundation

/// One direction of an in-memory pair: a byte queue guarded by a condition variable.
final class InMemoryPipe: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [[UInt8]] = []
    private var head = 0            // index of the first unread chunk
    private var headOffset = 0      // bytes already read from chunks[head]
    private var buffered = 0
    private var writerClosed = false
    private var readerClosed = false
    let capacity: Int?

    init(capacity: Int?) {
        self.capacity = capacity
    }

    /// Appends a chunk; blocks while a bounded pipe is full (an empty pipe always takes one chunk).
    func write(_ chunk: [UInt8], timeout: Double?) throws {
        condition.lock()
        defer { condition.unlock() }
        let deadline = timeout.map { Date(timeIntervalSinceNow: $0) }
        while true {
            if readerClosed { throw TransportError.peerClosed }
            if writerClosed { throw TransportError.channelClosed }
            guard let capacity, buffered > 0, buffered + chunk.count > capacity else { break }
            if let deadline {
                if !condition.wait(until: deadline) && Date() >= deadline {
                    throw TransportError.timeout(operation: "send \(chunk.count) bytes (peer not reading)", seconds: timeout!)
                }
            } else {
                condition.wait()
            }
        }
        chunks.append(chunk)
        buffered += chunk.count
        condition.broadcast()
    }

    /// Fills `buffer` completely; throws `.peerClosed` / `.shortRead` at end of stream.
    func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Double?) throws {
        condition.lock()
        defer { condition.unlock() }
        let deadline = timeout.map { Date(timeIntervalSinceNow: $0) }
        var filled = 0
        while filled < buffer.count {
            if readerClosed { throw TransportError.channelClosed }
            if buffered == 0 {
                if writerClosed {
                    throw filled == 0 ? TransportError.peerClosed
                                      : TransportError.shortRead(expected: buffer.count, received: filled)
                }
                if let deadline {
                    if !condition.wait(until: deadline) && Date() >= deadline && buffered == 0 && !writerClosed {
                        throw TransportError.timeout(operation: "receive \(buffer.count) bytes", seconds: timeout!)
                    }
                } else {
                    condition.wait()
                }
                continue
            }
            let chunk = chunks[head]
            let take = min(chunk.count - headOffset, buffer.count - filled)
            chunk.withUnsafeBytes { buffer.copy(take, from: $0, at: headOffset, to: filled) }
            filled += take
            headOffset += take
            buffered -= take
            if headOffset == chunk.count {
                chunks[head] = []
                head += 1
                headOffset = 0
                if head > 64 && head * 2 > chunks.count {
                    chunks.removeFirst(head)
                    head = 0
                }
            }
            condition.broadcast()
        }
    }

    func closeWriter() {
        condition.lock()
        writerClosed = true
        condition.broadcast()
        condition.unlock()
    }

    func closeReader() {
        condition.lock()
        readerClosed = true
        chunks = []
        head = 0
        headOffset = 0
        buffered = 0
        condition.broadcast()
        condition.unlock()
    }
}

/// One endpoint of an in-memory channel pair (`InMemoryChannel.makePair`).
///
/// Sends are buffered locally and handed to the peer on `flush`, on `receive`, or when 1 MiB has
/// accumulated. With a `capacity`, a flush blocks while the peer has that many unread bytes (an empty
/// queue always accepts one flush, however large). Blocking waits end after `timeout` seconds with
/// `TransportError.timeout` (`nil`: wait forever). `close()` makes the peer see end of stream after
/// the bytes already flushed, and makes the peer's later sends fail with `.peerClosed`.
public final class InMemoryChannel: Channel, @unchecked Sendable {
    private let incoming: InMemoryPipe
    private let outgoing: InMemoryPipe
    private var pending: [UInt8] = []
    private var counter = TrafficCounter()
    private var closed = false
    private let flushThreshold = 1 << 20
    public let timeout: Double?
    public var maxFrameLength: UInt64 = Framing.defaultMaxFrameLength

    private init(incoming: InMemoryPipe, outgoing: InMemoryPipe, timeout: Double?) {
        self.incoming = incoming
        self.outgoing = outgoing
        self.timeout = timeout
    }

    /// Two connected endpoints. `capacity`: bytes the queue in each direction holds before a flush
    /// blocks (`nil`: unbounded). `timeout`: seconds any blocking wait may last (`nil`: forever).
    public static func makePair(capacity: Int? = nil, timeout: Double? = 60) -> (InMemoryChannel, InMemoryChannel) {
        precondition(capacity.map { $0 > 0 } ?? true, "capacity must be positive")
        let aToB = InMemoryPipe(capacity: capacity)
        let bToA = InMemoryPipe(capacity: capacity)
        return (InMemoryChannel(incoming: bToA, outgoing: aToB, timeout: timeout),
                InMemoryChannel(incoming: aToB, outgoing: bToA, timeout: timeout))
    }

    public func send(_ bytes: UnsafeRawBufferPointer) throws {
        guard !closed else { throw TransportError.channelClosed }
        counter.didSend(bytes.count)
        pending.append(contentsOf: bytes)
        if pending.count >= flushThreshold { try flush() }
    }

    public func flush() throws {
        guard !closed else { throw TransportError.channelClosed }
        guard !pending.isEmpty else { return }
        let chunk = pending
        pending = []
        try outgoing.write(chunk, timeout: timeout)
    }

    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws {
        guard !closed else { throw TransportError.channelClosed }
        try flush()
        guard buffer.count > 0 else { return }
        try incoming.read(into: buffer, timeout: timeout)
        counter.didReceive(buffer.count)
    }

    public func close() {
        guard !closed else { return }
        try? flush()
        closed = true
        outgoing.closeWriter()
        incoming.closeReader()
    }

    public var stats: ChannelStats { counter.stats }

    public func resetStats() { counter.reset() }

    deinit {
        outgoing.closeWriter()
        incoming.closeReader()
    }
}
