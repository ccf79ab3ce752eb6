// The one error type of the Transport module. Every case carries what a user needs to act on it.

/// Everything that can go wrong while moving bytes between the two parties.
///
/// After any error other than `.timeout` raised before a single byte of a frame arrived, the stream is
/// no longer aligned on frame boundaries: close the channel and open a new one.
public enum TransportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The peer closed the connection cleanly before the next read delivered any byte.
    case peerClosed
    /// The peer closed the connection in the middle of a frame (header or payload).
    case peerClosedMidFrame(receivedBytes: Int, frameBytes: Int)
    /// A raw `receive` of an exact byte count got only part of it before the peer closed.
    case shortRead(expected: Int, received: Int)
    /// A frame header announced a payload longer than this channel accepts.
    case oversizedFrame(length: UInt64, limit: UInt64)
    /// The bytes read as a frame header are not one (wrong magic: garbage or a different protocol).
    case malformedHeader(reason: String)
    /// The peer speaks another version of the framing protocol.
    case versionMismatch(local: UInt16, remote: UInt16)
    /// The peer sent a frame of a different type than the protocol step expects.
    case unexpectedMessageType(expected: UInt16, received: UInt16)
    /// The frame had the right type but not the payload length the caller needs.
    case unexpectedMessageLength(type: UInt16, expected: Int, received: UInt64)
    /// While this side waited to send, the peer sent more than a frame's limit without reading.
    case peerNotReading(unreadBytes: Int)
    /// No progress within the channel's timeout.
    case timeout(operation: String, seconds: Double)
    /// Nobody listens at the address (ECONNREFUSED).
    case connectionRefused(host: String, port: UInt16)
    /// The host name did not resolve.
    case addressResolution(host: String, reason: String)
    /// The channel was used after this side closed it.
    case channelClosed
    /// Any other operating-system error, with the failing call and errno.
    case system(operation: String, errno: Int32, message: String)

    public var description: String {
        switch self {
        case .peerClosed:
            return "peer closed the connection"
        case let .peerClosedMidFrame(received, frame):
            return "peer closed the connection in the middle of a frame (\(received) of \(frame) bytes received)"
        case let .shortRead(expected, received):
            return "short read: expected \(expected) bytes, the peer closed after \(received)"
        case let .oversizedFrame(length, limit):
            return "frame of \(length) bytes exceeds this channel's limit of \(limit) bytes (raise maxFrameLength if intended)"
        case let .malformedHeader(reason):
            return "malformed frame header: \(reason)"
        case let .versionMismatch(local, remote):
            return "protocol version mismatch: this side speaks version \(local), the peer version \(remote)"
        case let .unexpectedMessageType(expected, received):
            return "unexpected message type 0x\(String(received, radix: 16)) (expected 0x\(String(expected, radix: 16))): the two parties are out of step"
        case let .unexpectedMessageLength(type, expected, received):
            return "message of type 0x\(String(type, radix: 16)) has \(received) payload bytes, expected \(expected)"
        case let .peerNotReading(unread):
            return "the peer sent \(unread) bytes while not reading ours: the two parties are out of step"
        case let .timeout(operation, seconds):
            return "timed out after \(seconds) s while waiting to \(operation)"
        case let .connectionRefused(host, port):
            return "connection refused by \(host):\(port) (is the peer listening?)"
        case let .addressResolution(host, reason):
            return "cannot resolve host \(host): \(reason)"
        case .channelClosed:
            return "the channel was already closed by this side"
        case let .system(operation, errno, message):
            return "\(operation) failed: \(message) (errno \(errno))"
        }
    }
}
