// A Channel over a TCP connection with blocking POSIX sockets.
//
// Why blocking sockets and not SwiftNIO: each party runs its side of the protocol strictly
// sequentially on one thread (send a message, then wait for the peer's), so there is nothing for an
// event loop to multiplex. Blocking reads and writes into large user-space buffers need one system call
// per large transfer, no executor hops and no extra dependency, and a plain thread can drive them.
// Every wait is a poll bounded by three limits (see `TCPChannel`): no progress for `timeout` seconds,
// one transfer (a whole `receive(into:)` or send) longer than `messageTimeout` once it started, and an
// absolute `deadline` for everything (a handshake, a session). A peer that trickles one byte every few
// seconds therefore cannot hold a connection open: only the idle limit resets on progress.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One end of a TCP connection (`TCPChannel.connect` or `TCPListener.accept`).
///
/// Writes are buffered (1 MiB) and go out on `flush`, before each `receive`, or when the buffer fills;
/// larger sends bypass the buffer. TCP_NODELAY is set, so a flushed message leaves at once. Reads are
/// buffered too (256 KiB) so small frames cost no extra system calls.
public final class TCPChannel: Channel, @unchecked Sendable {
    private var fd: Int32
    private let writeBuffer: UnsafeMutableRawBufferPointer
    private var writeCount = 0
    private let readBuffer: UnsafeMutableRawBufferPointer
    private var readStart = 0
    private var readEnd = 0
    /// Bytes that arrived while a send waited for the peer to read (`drainWhileBlocked`), oldest first,
    /// served after `readBuffer`'s; `peerFinished` once the peer's end of the stream was seen there.
    private var backlog: [UInt8] = []
    private var backlogStart = 0
    private var peerFinished = false
    private var counter = TrafficCounter()
    /// The receive in progress: time of its last progress and of its first byte.
    private struct Transfer { var progress: Double; var started: Double? }
    private var transfer = Transfer(progress: 0, started: nil)
    /// Seconds a blocking send or receive may wait for progress (`nil`: forever).
    public let timeout: Double?
    /// Seconds one receive (of a frame header or payload) may take once its first byte arrived, and one
    /// send may take in all, however steadily bytes trickle (`nil`: no limit).
    public var messageTimeout: Double?
    /// Monotonic time (`Socket.monotonicNow()`, seconds) after which every operation fails with a
    /// timeout (`nil`: none). Set it with `setDeadline(secondsFromNow:)`.
    public private(set) var deadline: Double?
    private var deadlineSeconds = 0.0
    public var maxFrameLength: UInt64 = Framing.defaultMaxFrameLength

    /// Wraps a connected socket; takes ownership of `fileDescriptor`.
    init(fileDescriptor: Int32, timeout: Double?) {
        self.fd = fileDescriptor
        self.timeout = timeout
        writeBuffer = .allocate(byteCount: 1 << 20, alignment: 64)
        readBuffer = .allocate(byteCount: 1 << 18, alignment: 64)
        Socket.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        Socket.setOption(fd, SOL_SOCKET, SO_SNDBUF, 4 << 20)
        Socket.setOption(fd, SOL_SOCKET, SO_RCVBUF, 4 << 20)
        // Non-blocking: every wait goes through `waitFor`, which applies the three limits.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
    }

    /// Makes every later operation fail once `seconds` have passed (nil: no deadline).
    public func setDeadline(secondsFromNow seconds: Double?) {
        deadline = seconds.map { Socket.monotonicNow() + $0 }
        deadlineSeconds = seconds ?? 0
    }

    /// Throws once the deadline has passed, even when data is waiting (a peer that keeps data flowing
    /// must not outlive its deadline).
    private func checkDeadline(_ operation: @autoclosure () -> String) throws {
        if let deadline, Socket.monotonicNow() >= deadline {
            throw TransportError.timeout(operation: "\(operation()): the connection's deadline is \(deadlineSeconds) s",
                                         seconds: deadlineSeconds)
        }
    }

    /// The peer's address as "host:port" (for logs), or "unknown".
    public var peerDescription: String { Socket.peerDescription(fd) }

    /// Waits until the socket is ready for `events`, or throws the timeout of the first limit reached:
    /// no progress since `lastProgress` for `timeout`, a transfer started at `started` running past
    /// `messageTimeout`, or the deadline.
    private func waitFor(_ events: Int32, lastProgress: Double, started: Double?, operation: @autoclosure () -> String) throws {
        let now = Socket.monotonicNow()
        var limit = Double.infinity
        var reason: (String, Double) = ("", 0)
        if let timeout, lastProgress + timeout < limit { limit = lastProgress + timeout; reason = ("no progress", timeout) }
        if let messageTimeout, let started, started + messageTimeout < limit {
            limit = started + messageTimeout; reason = ("one message may take", messageTimeout)
        }
        if let deadline, deadline < limit { limit = deadline; reason = ("the connection's deadline is", deadlineSeconds) }
        guard limit > now else {
            throw TransportError.timeout(operation: "\(operation()): \(reason.0) \(reason.1) s", seconds: reason.1)
        }
        _ = try Socket.wait(fd, events: Int16(events), seconds: limit.isFinite ? limit - now : nil)
    }

    deinit {
        close()
        writeBuffer.deallocate()
        readBuffer.deallocate()
    }

    /// Connects to `host:port`. Refused connections are retried for `retryFor` seconds (so a client may
    /// start before its server listens), then raise `.connectionRefused`; `connectTimeout` bounds each
    /// attempt; `timeout` becomes the channel's I/O timeout.
    public static func connect(host: String, port: UInt16, connectTimeout: Double = 10, retryFor: Double = 0,
                               timeout: Double? = 60) throws -> TCPChannel {
        let addresses = try Socket.resolve(host: host, port: port, passive: false)
        let giveUp = Socket.monotonicNow() + retryFor
        while true {
            var lastError: TransportError = .connectionRefused(host: host, port: port)
            for (family, address) in addresses {
                do {
                    let fd = try connectOnce(family: family, address: address, host: host, port: port,
                                             seconds: connectTimeout)
                    return TCPChannel(fileDescriptor: fd, timeout: timeout)
                } catch let error as TransportError {
                    lastError = error
                }
            }
            guard case .connectionRefused = lastError, Socket.monotonicNow() < giveUp else { throw lastError }
            usleep(50_000)
        }
    }

    private static func connectOnce(family: Int32, address: [UInt8], host: String, port: UInt16, seconds: Double) throws -> Int32 {
        let fd = socket(family, Socket.streamType, 0)
        guard fd >= 0 else { throw Socket.systemError("socket") }
        var success = false
        defer { if !success { _ = Glibc.close(fd) } }
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        let status = address.withUnsafeBytes {
            Glibc.connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(address.count))
        }
        if status != 0 {
            let code = errno
            if code == ECONNREFUSED { throw TransportError.connectionRefused(host: host, port: port) }
            guard code == EINPROGRESS else { throw Socket.systemError("connect to \(host):\(port)", code) }
            guard try Socket.wait(fd, events: Int16(POLLOUT), seconds: seconds) else {
                throw TransportError.timeout(operation: "connect to \(host):\(port)", seconds: seconds)
            }
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
            if soError == ECONNREFUSED { throw TransportError.connectionRefused(host: host, port: port) }
            guard soError == 0 else { throw Socket.systemError("connect to \(host):\(port)", soError) }
        }
        _ = fcntl(fd, F_SETFL, flags)
        success = true
        return fd
    }

    // MARK: Channel

    public func send(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw TransportError.channelClosed }
        try checkDeadline("send")
        guard bytes.count > 0 else { return }
        counter.didSend(bytes.count)
        if writeCount + bytes.count <= writeBuffer.count {
            UnsafeMutableRawBufferPointer(rebasing: writeBuffer[writeCount..<(writeCount + bytes.count)]).copyMemory(from: bytes)
            writeCount += bytes.count
            return
        }
        try flush()
        if bytes.count >= writeBuffer.count / 2 {
            try writeAll(bytes)
        } else {
            UnsafeMutableRawBufferPointer(rebasing: writeBuffer[0..<bytes.count]).copyMemory(from: bytes)
            writeCount = bytes.count
        }
    }

    public func flush() throws {
        guard fd >= 0 else { throw TransportError.channelClosed }
        guard writeCount > 0 else { return }
        let count = writeCount
        writeCount = 0
        try writeAll(UnsafeRawBufferPointer(rebasing: writeBuffer[0..<count]))
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        let started = Socket.monotonicNow()
        var progress = started
        while offset < bytes.count {
            let written = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if written > 0 {
                offset += written
                progress = Socket.monotonicNow()
                continue
            }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK:
                try waitFor(POLLOUT | (peerFinished ? 0 : POLLIN), lastProgress: progress, started: started,
                            operation: "send \(bytes.count - offset) of \(bytes.count) bytes (peer not reading)")
                try drainWhileBlocked()
            case EPIPE, ECONNRESET: throw TransportError.peerClosed
            default: throw Socket.systemError("send", code)
            }
        }
    }

    /// Reads what the peer has sent while this side's send waits for room: a peer blocked writing to us
    /// then makes progress, reads again, and so frees the room we wait for. So two parties that both write
    /// before they read (the pipelined offline phase: requests one way, responses the other) cannot
    /// deadlock, whatever the socket buffers. Waiting sends are not reads: their timeouts still apply, and
    /// the backlog may not outgrow one largest frame.
    private func drainWhileBlocked() throws {
        let chunk = 1 << 20
        while !peerFinished {
            if backlog.count - backlogStart + chunk > Int(clamping: maxFrameLength) + (1 << 20) {
                throw TransportError.peerNotReading(unreadBytes: backlog.count - backlogStart)
            }
            if backlogStart > 0 && backlogStart == backlog.count { backlog.removeAll(keepingCapacity: true); backlogStart = 0 }
            let old = backlog.count
            backlog.append(contentsOf: repeatElement(0, count: chunk))
            let got = backlog.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + old, chunk, 0) }
            let code = errno
            backlog.removeLast(chunk - max(got, 0))
            if got > 0 { continue }
            if got == 0 { peerFinished = true; return }
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return
            case ECONNRESET: peerFinished = true; return
            default: throw Socket.systemError("recv", code)
            }
        }
    }

    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws {
        guard fd >= 0 else { throw TransportError.channelClosed }
        try checkDeadline("receive \(buffer.count) bytes")
        try flush()
        var filled = 0
        transfer = Transfer(progress: Socket.monotonicNow(), started: readStart < readEnd ? Socket.monotonicNow() : nil)
        while filled < buffer.count {
            if readStart < readEnd {
                let take = min(readEnd - readStart, buffer.count - filled)
                buffer.copy(take, from: UnsafeRawBufferPointer(readBuffer), at: readStart, to: filled)
                readStart += take
                filled += take
                continue
            }
            if backlogStart < backlog.count {
                let take = min(backlog.count - backlogStart, buffer.count - filled)
                backlog.withUnsafeBytes { buffer.copy(take, from: $0, at: backlogStart, to: filled) }
                backlogStart += take
                filled += take
                if backlogStart == backlog.count { backlog.removeAll(); backlogStart = 0 }
                continue
            }
            if peerFinished {
                throw filled == 0 ? TransportError.peerClosed : TransportError.shortRead(expected: buffer.count, received: filled)
            }
            let wanted = buffer.count - filled
            let got: Int
            if wanted >= readBuffer.count / 2 {
                got = try readSome(into: buffer.baseAddress! + filled, count: wanted, expected: buffer.count, filled: filled)
                filled += got
            } else {
                got = try readSome(into: readBuffer.baseAddress!, count: readBuffer.count, expected: buffer.count, filled: filled)
                readStart = 0
                readEnd = got
            }
        }
        counter.didReceive(buffer.count)
    }

    /// One successful recv (> 0 bytes), or the right error.
    private func readSome(into pointer: UnsafeMutableRawPointer, count: Int, expected: Int, filled: Int) throws -> Int {
        while true {
            let got = recv(fd, pointer, count, 0)
            if got > 0 {
                let now = Socket.monotonicNow()
                transfer.progress = now
                if transfer.started == nil { transfer.started = now }
                return got
            }
            if got == 0 {
                throw filled == 0 ? TransportError.peerClosed : TransportError.shortRead(expected: expected, received: filled)
            }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK:
                try waitFor(POLLIN, lastProgress: transfer.progress, started: transfer.started,
                            operation: "receive \(expected) bytes (\(filled) arrived)")
            case ECONNRESET:
                throw filled == 0 ? TransportError.peerClosed : TransportError.shortRead(expected: expected, received: filled)
            default: throw Socket.systemError("recv", code)
            }
        }
    }

    public func close() {
        guard fd >= 0 else { return }
        try? flush()
        _ = shutdown(fd, Int32(SHUT_RDWR))
        _ = Glibc.close(fd)
        fd = -1
    }

    public var stats: ChannelStats { counter.stats }

    public func resetStats() { counter.reset() }
}
