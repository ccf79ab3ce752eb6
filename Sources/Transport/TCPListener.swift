// A listening TCP socket that hands out TCPChannels.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Listens on `host:port` (port 0: the system picks a free one; read `port`).
public final class TCPListener: @unchecked Sendable {
    private var fd: Int32
    /// The port actually bound.
    public let port: UInt16
    public let host: String

    public init(host: String = "127.0.0.1", port: UInt16 = 0, backlog: Int32 = 16) throws {
        let addresses = try Socket.resolve(host: host, port: port, passive: true)
        var lastError = TransportError.addressResolution(host: host, reason: "no usable address")
        for (family, address) in addresses {
            let fd = socket(family, Socket.streamType, 0)
            guard fd >= 0 else { lastError = Socket.systemError("socket"); continue }
            Socket.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            let bound = address.withUnsafeBytes {
                bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(address.count))
            }
            guard bound == 0 else { lastError = Socket.systemError("bind \(host):\(port)"); _ = Glibc.close(fd); continue }
            guard listen(fd, backlog) == 0 else { lastError = Socket.systemError("listen"); _ = Glibc.close(fd); continue }
            do {
                self.port = try Socket.localPort(fd)
            } catch {
                _ = Glibc.close(fd)
                throw error
            }
            self.fd = fd
            self.host = host
            return
        }
        throw lastError
    }

    deinit { close() }

    /// Waits for the next connection (`acceptTimeout` seconds, `nil`: forever); the channel gets the
    /// I/O `timeout`.
    public func accept(acceptTimeout: Double? = 60, timeout: Double? = 60) throws -> TCPChannel {
        guard fd >= 0 else { throw TransportError.channelClosed }
        guard try Socket.wait(fd, events: Int16(POLLIN), seconds: acceptTimeout) else {
            throw TransportError.timeout(operation: "accept a connection on port \(port)", seconds: acceptTimeout ?? 0)
        }
        while true {
            let client = Glibc.accept(fd, nil, nil)
            if client >= 0 { return TCPChannel(fileDescriptor: client, timeout: timeout) }
            if errno == EINTR { continue }
            throw Socket.systemError("accept")
        }
    }

    /// Stops listening. Idempotent.
    public func close() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
    }
}
