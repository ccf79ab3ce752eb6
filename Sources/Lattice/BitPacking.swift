// Compact serialisation: values packed at an exact bit width, little-endian, plus framing helpers.

/// Appends fields and bit-packed values to a byte array.
public struct MessageWriter {
    public private(set) var bytes: [UInt8] = []
    private var acc: UInt64 = 0
    private var accBits = 0

    public init() {}

    public mutating func byte(_ b: UInt8) { flushBits(); bytes.append(b) }

    public mutating func uint32(_ v: UInt32) { flushBits(); for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(8 * k))) } }

    public mutating func raw(_ b: [UInt8]) { flushBits(); bytes += b }

    /// Appends the low `width` bits of v (width <= 128).
    public mutating func bits(_ v: UInt128, width: Int) {
        var v = width == 128 ? v : v & ((UInt128(1) << UInt128(width)) - 1)
        var left = width
        while left > 0 {
            let take = min(left, 64 - accBits, 32)
            let chunk = UInt64(truncatingIfNeeded: v) & ((UInt64(1) << UInt64(take)) - 1)
            acc |= chunk << UInt64(accBits)
            accBits += take
            v >>= UInt128(take)
            left -= take
            while accBits >= 8 {
                bytes.append(UInt8(truncatingIfNeeded: acc))
                acc >>= 8
                accBits -= 8
            }
        }
    }

    /// Pads the current bit run to a whole byte.
    public mutating func flushBits() {
        if accBits > 0 {
            bytes.append(UInt8(truncatingIfNeeded: acc))
            acc = 0
            accBits = 0
        }
    }

    /// The finished message.
    public mutating func finish() -> [UInt8] { flushBits(); return bytes }
}

/// Reads what `MessageWriter` wrote; every read checks the remaining length.
public struct MessageReader {
    public let bytes: [UInt8]
    public private(set) var offset = 0
    private var acc: UInt64 = 0
    private var accBits = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func need(_ n: Int) throws {
        if offset + n > bytes.count { throw LatticeError.truncatedMessage(expected: offset + n, actual: bytes.count) }
    }

    public mutating func byte() throws -> UInt8 { alignBits(); try need(1); offset += 1; return bytes[offset - 1] }

    public mutating func uint32() throws -> UInt32 {
        alignBits(); try need(4)
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(bytes[offset + k]) << UInt32(8 * k) }
        offset += 4
        return v
    }

    public mutating func raw(_ n: Int) throws -> [UInt8] {
        alignBits(); try need(n)
        offset += n
        return Array(bytes[(offset - n)..<offset])
    }

    /// Reads `width` bits (<= 128).
    public mutating func bits(width: Int) throws -> UInt128 {
        var v: UInt128 = 0
        var got = 0
        while got < width {
            if accBits == 0 {
                try need(1)
                acc = UInt64(bytes[offset]); offset += 1; accBits = 8
            }
            let take = min(width - got, accBits)
            v |= UInt128(acc & ((UInt64(1) << UInt64(take)) - 1)) << UInt128(got)
            acc >>= UInt64(take)
            accBits -= take
            got += take
        }
        return v
    }

    /// Drops the rest of a partially read byte.
    public mutating func alignBits() { acc = 0; accBits = 0 }

    /// Throws unless every byte was consumed.
    public mutating func expectEnd() throws {
        alignBits()
        if offset != bytes.count {
            throw LatticeError.malformedInput("\(bytes.count - offset) unexpected trailing bytes")
        }
    }
}

/// Bytes needed for `count` values of `width` bits.
@inline(__always) func packedBytes(count: Int, width: Int) -> Int { (count * width + 7) / 8 }
