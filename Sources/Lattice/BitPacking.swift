// Compact serialisation: values packed at an exact bit width, little-endian, plus framing helpers.

/// Appends fields and bit-packed values to a byte array.
public struct MessageWriter {
    public private(set) var bytes: [UInt8] = []
    private var acc: UInt64 = 0
    private var accBits = 0

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func byte(_ b: UInt8) { flushBits(); bytes.append(b) }

    public mutating func uint32(_ v: UInt32) { flushBits(); for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(8 * k))) } }

    public mutating func raw(_ b: [UInt8]) { flushBits(); bytes += b }

    /// Appends the low `width` bits of v (width <= 64).
    @inline(__always) public mutating func bits(_ v: UInt64, width: Int) {
        let v = width == 64 ? v : v & ((UInt64(1) << UInt64(width)) - 1)
        acc |= v << UInt64(accBits)   // bits beyond 64 are carried below
        let total = accBits + width
        if total >= 64 {
            withUnsafeBytes(of: acc.littleEndian) { bytes.append(contentsOf: $0) }
            let used = 64 - accBits
            acc = used == 64 ? 0 : v >> UInt64(used)
            accBits = total - 64
        } else {
            accBits = total
        }
    }

    /// Appends the low `width` bits of v (width <= 128).
    @inline(__always) public mutating func bits(_ v: UInt128, width: Int) {
        if width <= 64 {
            bits(UInt64(truncatingIfNeeded: v), width: width)
        } else {
            bits(UInt64(truncatingIfNeeded: v), width: 64)
            bits(UInt64(truncatingIfNeeded: v >> 64), width: width - 64)
        }
    }

    /// Pads the current bit run to a whole byte.
    public mutating func flushBits() {
        while accBits > 0 {
            bytes.append(UInt8(truncatingIfNeeded: acc))
            acc >>= 8
            accBits = max(0, accBits - 8)
        }
        acc = 0
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

    /// Loads up to 8 more bytes into the accumulator (only whole bytes that exist).
    @inline(__always) private mutating func refill() {
        if offset + 8 <= bytes.count && accBits == 0 {
            var w: UInt64 = 0
            bytes.withUnsafeBytes { w = $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
            acc = UInt64(littleEndian: w)
            accBits = 64
            offset += 8
            return
        }
        while accBits <= 56 && offset < bytes.count {
            acc |= UInt64(bytes[offset]) << UInt64(accBits)
            offset += 1
            accBits += 8
        }
    }

    /// Reads `width` bits (<= 64).
    @inline(__always) public mutating func bits64(width: Int) throws -> UInt64 {
        if accBits >= width {
            let v = width == 64 ? acc : acc & ((UInt64(1) << UInt64(width)) - 1)
            acc = width == 64 ? 0 : acc >> UInt64(width)
            accBits -= width
            return v
        }
        // Take what is left, then refill for the rest.
        let low = acc, lowBits = accBits
        acc = 0; accBits = 0
        refill()
        let rest = width - lowBits
        guard accBits >= rest else { throw LatticeError.truncatedMessage(expected: offset + (rest - accBits + 7) / 8, actual: bytes.count) }
        let hi = rest == 64 ? acc : acc & ((UInt64(1) << UInt64(rest)) - 1)
        acc = rest == 64 ? 0 : acc >> UInt64(rest)
        accBits -= rest
        return lowBits == 0 ? hi : low | (hi << UInt64(lowBits))
    }

    /// Reads `width` bits (<= 128).
    @inline(__always) public mutating func bits(width: Int) throws -> UInt128 {
        if width <= 64 { return UInt128(try bits64(width: width)) }
        let lo = try bits64(width: 64)
        let hi = try bits64(width: width - 64)
        return UInt128(hi) << 64 | UInt128(lo)
    }

    /// Drops the rest of a partially read byte (whole unread bytes in the accumulator are given back).
    public mutating func alignBits() {
        offset -= accBits / 8
        acc = 0
        accBits = 0
    }

    /// Throws unless every byte was consumed.
    public mutating func expectEnd() throws {
        alignBits()
        if offset != bytes.count {
            throw LatticeError.malformedInput("\(bytes.count - offset) unexpected trailing bytes")
        }
    }
}
