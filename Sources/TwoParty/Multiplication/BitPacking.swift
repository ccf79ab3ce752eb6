// Variable-width packing of words into a bit stream, least-significant bit first: the corrections of
// OT-based multiplication need 64 - i bits for the i-th bit of a factor, so they are packed tightly.

/// Appends values of 1...64 bits to a stream of words.
public struct BitWriter {
    private(set) var words: [UInt64] = []
    private var accumulator: UInt64 = 0
    private var used = 0

    init(reservingBits bits: Int = 0) {
        words.reserveCapacity((bits + 63) / 64)
    }

    /// Appends the low `width` bits of `value`.
    @inline(__always)
    mutating func append(_ value: UInt64, width: Int) {
        let v = width == 64 ? value : value & ((1 << UInt64(width)) &- 1)
        accumulator |= v << UInt64(used)
        let total = used + width
        if total >= 64 {
            words.append(accumulator)
            accumulator = used == 0 ? 0 : v >> UInt64(64 - used)
            used = total - 64
        } else {
            used = total
        }
    }

    /// Appends the low `width` bits (1...128) of a 128-bit value.
    @inline(__always)
    mutating func append(_ value: UInt128, width: Int) {
        if width <= 64 {
            append(UInt64(truncatingIfNeeded: value), width: width)
        } else {
            append(UInt64(truncatingIfNeeded: value), width: 64)
            append(UInt64(truncatingIfNeeded: value >> 64), width: width - 64)
        }
    }

    /// The packed words (a partial last word is zero-padded).
    mutating func finish() -> [UInt64] {
        if used > 0 {
            words.append(accumulator)
            accumulator = 0
            used = 0
        }
        return words
    }
}

/// Reads back what `BitWriter` wrote.
public struct BitReader {
    private let words: UnsafeBufferPointer<UInt64>
    private var index = 0
    private var used = 0

    init(_ words: UnsafeBufferPointer<UInt64>) {
        self.words = words
    }

    @inline(__always)
    mutating func read(width: Int) -> UInt64 {
        var v = words[index] >> UInt64(used)
        let available = 64 - used
        if width >= available {
            index += 1
            if width > available { v |= words[index] << UInt64(available) }
            used = width - available
        } else {
            used += width
        }
        return width == 64 ? v : v & ((1 << UInt64(width)) &- 1)
    }
}

extension BitReader {
    /// Reads a value of `width` (1...128) bits written by `BitWriter.append(_:width:)` for UInt128.
    @inline(__always)
    mutating func readWide(width: Int) -> UInt128 {
        if width <= 64 { return UInt128(read(width: width)) }
        let low = read(width: 64)
        return UInt128(low) | (UInt128(read(width: width - 64)) << 64)
    }
}

/// Bits of a packed stream holding, per element, widths `bitsUsed`, `bitsUsed - 1`, ..., 1.
@inline(__always)
func triangularBits(elements: Int, bitsUsed: Int) -> Int {
    elements * bitsUsed * (bitsUsed + 1) / 2
}
