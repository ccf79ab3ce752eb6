// Framed messages over a Channel: a fixed 16-byte header, then the payload.
//
//   offset 0  magic    UInt32 LE  0x4C594253 ("SBYL" on the wire)
//   offset 4  version  UInt16 LE  Framing.version
//   offset 6  type     UInt16 LE  protocol-defined message tag
//   offset 8  length   UInt64 LE  payload bytes, at most the receiver's maxFrameLength
//
// Message type tags are allocated per module so that an out-of-step peer is caught at once; see the
// modules that define them (TwoParty: OT 0x01xx, multiplication 0x02xx).

/// Constants of the frame format.
public enum Framing {
    public static let magic: UInt32 = 0x4C59_4253
    public static let version: UInt16 = 1
    public static let headerSize = 16
    /// Default for `Channel.maxFrameLength`: 1 GiB.
    public static let defaultMaxFrameLength: UInt64 = 1 << 30
}

/// A decoded frame header.
public struct FrameHeader: Equatable, Sendable {
    public var type: UInt16
    public var length: UInt64

    public init(type: UInt16, length: UInt64) {
        self.type = type
        self.length = length
    }

    /// The 16 header bytes for this frame.
    public func encoded(version: UInt16 = Framing.version) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Framing.headerSize)
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: Framing.magic.littleEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: version.littleEndian, toByteOffset: 4, as: UInt16.self)
            raw.storeBytes(of: type.littleEndian, toByteOffset: 6, as: UInt16.self)
            raw.storeBytes(of: length.littleEndian, toByteOffset: 8, as: UInt64.self)
        }
        return bytes
    }

    /// Parses and validates 16 header bytes.
    public static func decode(_ bytes: UnsafeRawBufferPointer, maxLength: UInt64) throws -> FrameHeader {
        guard bytes.count == Framing.headerSize else {
            throw TransportError.malformedHeader(reason: "header has \(bytes.count) bytes, expected \(Framing.headerSize)")
        }
        let magic = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        guard magic == Framing.magic else {
            let hex = bytes.prefix(8).map { String($0, radix: 16) }.joined(separator: " ")
            throw TransportError.malformedHeader(reason: "bad magic (first bytes: \(hex)); the peer is not speaking this protocol")
        }
        let version = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
        guard version == Framing.version else {
            throw TransportError.versionMismatch(local: Framing.version, remote: version)
        }
        let type = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
        let length = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        // Never above Int.max, whatever the configured limit: the length becomes an allocation size.
        let limit = min(maxLength, UInt64(Int.max) - UInt64(Framing.headerSize))
        guard length <= limit else {
            throw TransportError.oversizedFrame(length: length, limit: limit)
        }
        return FrameHeader(type: type, length: length)
    }
}

extension Channel {
    /// Sends one frame: header, then `payload`.
    public func sendMessage(type: UInt16, _ payload: UnsafeRawBufferPointer) throws {
        let header = FrameHeader(type: type, length: UInt64(payload.count)).encoded()
        try header.withUnsafeBytes { try send($0) }
        if payload.count > 0 { try send(payload) }
    }

    /// Sends one frame whose payload is the memory of `values`.
    public func sendMessage<T: BitwiseCopyable>(type: UInt16, _ values: [T]) throws {
        try values.withUnsafeBytes { try sendMessage(type: type, $0) }
    }

    /// Reads and validates the next frame header.
    public func receiveHeader() throws -> FrameHeader {
        var bytes = [UInt8](repeating: 0, count: Framing.headerSize)
        do {
            try bytes.withUnsafeMutableBytes { try receive(into: $0) }
        } catch TransportError.shortRead(_, let received) {
            throw TransportError.peerClosedMidFrame(receivedBytes: received, frameBytes: Framing.headerSize)
        }
        return try bytes.withUnsafeBytes { try FrameHeader.decode($0, maxLength: maxFrameLength) }
    }

    /// Receives the payload of a frame whose header was just read.
    private func receivePayload(of header: FrameHeader, into buffer: UnsafeMutableRawBufferPointer) throws {
        do {
            try receive(into: buffer)
        } catch TransportError.peerClosed {
            throw TransportError.peerClosedMidFrame(receivedBytes: Framing.headerSize,
                                                    frameBytes: Framing.headerSize + Int(header.length))
        } catch TransportError.shortRead(_, let received) {
            throw TransportError.peerClosedMidFrame(receivedBytes: Framing.headerSize + received,
                                                    frameBytes: Framing.headerSize + Int(header.length))
        }
    }

    /// Receives the next frame, whatever its type (for dispatching on the tag).
    public func receiveAnyMessage() throws -> (type: UInt16, payload: [UInt8]) {
        let header = try receiveHeader()
        let count = Int(header.length)
        let payload = try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            try receivePayload(of: header, into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
        return (header.type, payload)
    }

    /// Receives the next frame, which must have type `type`, and returns its payload.
    public func receiveMessage(expecting type: UInt16) throws -> [UInt8] {
        let header = try receiveHeader()
        guard header.type == type else {
            throw TransportError.unexpectedMessageType(expected: type, received: header.type)
        }
        let count = Int(header.length)
        return try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            try receivePayload(of: header, into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }

    /// Receives the next frame, which must have type `type` and exactly `buffer.count` payload bytes,
    /// straight into `buffer`.
    public func receiveMessage(expecting type: UInt16, into buffer: UnsafeMutableRawBufferPointer) throws {
        let header = try receiveHeader()
        guard header.type == type else {
            throw TransportError.unexpectedMessageType(expected: type, received: header.type)
        }
        guard header.length == UInt64(buffer.count) else {
            throw TransportError.unexpectedMessageLength(type: type, expected: buffer.count, received: header.length)
        }
        try receivePayload(of: header, into: buffer)
    }

    /// Receives a frame of type `type` holding exactly `count` plain values.
    public func receiveMessage<T: BitwiseCopyable>(expecting type: UInt16, _ valueType: T.Type, count: Int) throws -> [T] {
        try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            try receiveMessage(expecting: type, into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }
}
