// Small wrappers over POSIX socket calls (Glibc) shared by TCPChannel and TCPListener.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum Socket {
    static func errorMessage(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    static func systemError(_ operation: String, _ code: Int32 = errno) -> TransportError {
        .system(operation: operation, errno: code, message: errorMessage(code))
    }

    static var streamType: Int32 {
        #if canImport(Glibc)
        Int32(SOCK_STREAM.rawValue)
        #else
        SOCK_STREAM
        #endif
    }

    /// Resolves `host:port` to socket addresses (IPv4 and IPv6).
    static func resolve(host: String, port: UInt16, passive: Bool) throws -> [(family: Int32, address: [UInt8])] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamType
        hints.ai_flags = passive ? AI_PASSIVE : 0
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw TransportError.addressResolution(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var result: [(Int32, [UInt8])] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let current = node {
            let info = current.pointee
            if let address = info.ai_addr {
                let bytes = UnsafeRawBufferPointer(start: address, count: Int(info.ai_addrlen))
                result.append((info.ai_family, [UInt8](bytes)))
            }
            node = info.ai_next
        }
        return result
    }

    /// The local port a bound socket got.
    static func localPort(_ fd: Int32) throws -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard status == 0 else { throw systemError("getsockname") }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
        default:
            throw TransportError.system(operation: "getsockname", errno: 0, message: "unknown address family")
        }
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
        var value = value
        _ = setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// "host:port" of the connected peer, or "unknown".
    static func peerDescription(_ fd: Int32) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard status == 0 else { return "unknown" }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST)), port = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let named = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), &port, socklen_t(port.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard named == 0 else { return "unknown" }
        return "\(String(cString: host)):\(String(cString: port))"
    }

    /// Waits until `fd` is readable (`events = POLLIN`) or writable (`POLLOUT`); false on timeout.
    static func wait(_ fd: Int32, events: Int16, seconds: Double?) throws -> Bool {
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        let deadline = seconds.map { monotonicNow() + $0 }
        while true {
            // Milliseconds, at most Int32.max (24.8 days): poll's argument; longer waits simply wait again.
            let remaining = deadline.map { Int32(clamping: Int64(min(max(0, ($0 - monotonicNow()) * 1000), 2e9).rounded(.up))) } ?? -1
            let status = poll(&descriptor, 1, remaining)
            if status > 0 { return true }
            if status == 0 { return false }
            if errno != EINTR { throw systemError("poll") }
        }
    }

    static func monotonicNow() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }
}
