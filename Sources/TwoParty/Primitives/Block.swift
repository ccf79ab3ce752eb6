// A 128-bit block: an AES block, a garbled-circuit wire label, an OT message or PRG seed.
// Memory layout: `lo` then `hi`, 16 bytes, which on little-endian machines is the FIPS-197 byte order
// the CAES functions read (byte 0 is the low byte of `lo`).

public struct Block: Hashable, Sendable, CustomStringConvertible {
    public var lo: UInt64
    public var hi: UInt64

    @inlinable
    public init(lo: UInt64, hi: UInt64) {
        self.lo = lo
        self.hi = hi
    }

    public static let zero = Block(lo: 0, hi: 0)

    /// The block whose bytes, in memory order, are `bytes` (exactly 16).
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16, "a Block is made of exactly 16 bytes, got \(bytes.count)")
        var lo: UInt64 = 0
        var hi: UInt64 = 0
        for i in 0..<8 {
            lo |= UInt64(bytes[i]) << (8 * UInt64(i))
            hi |= UInt64(bytes[8 + i]) << (8 * UInt64(i))
        }
        self.init(lo: lo, hi: hi)
    }

    /// The 16 bytes in memory order.
    public var bytes: [UInt8] {
        (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? lo : hi) >> (8 * UInt64(i % 8))) }
    }

    @inlinable
    public static func ^ (a: Block, b: Block) -> Block { Block(lo: a.lo ^ b.lo, hi: a.hi ^ b.hi) }

    @inlinable
    public static func & (a: Block, b: Block) -> Block { Block(lo: a.lo & b.lo, hi: a.hi & b.hi) }

    @inlinable
    public static func ^= (a: inout Block, b: Block) { a = a ^ b }

    /// Bit 0 of `lo`: the point-and-permute bit of a wire label.
    @inlinable
    public var lsb: Bool { lo & 1 == 1 }

    /// The block with its lowest bit cleared.
    @inlinable
    public var clearingLSB: Block { Block(lo: lo & ~1, hi: hi) }

    /// `self` if `bit`, else zero (branch-free).
    @inlinable
    public func masked(by bit: Bool) -> Block {
        let m = UInt64(0) &- (bit ? 1 : 0)
        return Block(lo: lo & m, hi: hi & m)
    }

    /// Hexadecimal, in memory byte order.
    public var description: String {
        bytes.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined()
    }
}
