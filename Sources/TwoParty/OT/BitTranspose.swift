// Bit-matrix transposition for IKNP: 128x128 blocks by Eklundh's recursive block swaps (J. O. Eklundh,
// "A fast computer method for matrix transposing", IEEE Trans. Computers 1972), six swap stages per
// 64x64 quarter, with the four quarters of a 128x128 block carried in the four lanes of a SIMD4<UInt64>.
// A bit-by-bit reference sits next to it; the tests compare them.

/// Transposition of bit matrices stored as rows of 128-bit blocks (bit j of a block: bit j % 64 of
/// `lo` for j < 64, else of `hi`).
public enum BitTranspose {
    /// Returns the transpose of a 128x128 bit matrix: `result[j]` bit `i` = `rows[i]` bit `j`.
    public static func transpose128(_ rows: [Block]) -> [Block] {
        precondition(rows.count == 128, "a 128x128 bit matrix has 128 rows, got \(rows.count)")
        var out = [Block](repeating: .zero, count: 128)
        rows.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                transposeColumns(source.baseAddress!, columnStride: 1, groups: 1, into: target.baseAddress!, rowCount: 128)
            }
        }
        return out
    }

    /// The obvious bit-by-bit transpose (reference for tests).
    public static func transpose128Reference(_ rows: [Block]) -> [Block] {
        precondition(rows.count == 128, "a 128x128 bit matrix has 128 rows, got \(rows.count)")
        func bit(_ b: Block, _ j: Int) -> UInt64 { (j < 64 ? b.lo >> UInt64(j) : b.hi >> UInt64(j - 64)) & 1 }
        return (0..<128).map { j in
            var lo: UInt64 = 0
            var hi: UInt64 = 0
            for i in 0..<64 { lo |= bit(rows[i], j) << UInt64(i) }
            for i in 64..<128 { hi |= bit(rows[i], j) << UInt64(i - 64) }
            return Block(lo: lo, hi: hi)
        }
    }

    /// Transposes a 128 x (128 * groups) bit matrix given as 128 columns into its rows.
    ///
    /// Column `i` occupies `columns[i * columnStride ..< i * columnStride + groups]` (bit j of the column
    /// is bit j % 128 of block j / 128). Row `j` (bit `i` = bit `j` of column `i`) goes to `rows[j]`, for
    /// `j < rowCount` (rowCount <= 128 * groups; rows beyond it are computed and dropped).
    @inlinable
    public static func transposeColumns(_ columns: UnsafePointer<Block>, columnStride: Int, groups: Int,
                                        into rows: UnsafeMutablePointer<Block>, rowCount: Int) {
        precondition(rowCount <= 128 * groups, "rowCount exceeds the matrix")
        withUnsafeTemporaryAllocation(of: SIMD4<UInt64>.self, capacity: 64) { lanes in
            withUnsafeTemporaryAllocation(of: Block.self, capacity: 128) { spill in
                let x = lanes.baseAddress!
                for g in 0..<groups {
                    // Lanes: 0 = rows 0..63 low words, 1 = rows 0..63 high, 2 = rows 64..127 low, 3 = high.
                    for r in 0..<64 {
                        let top = columns[r * columnStride + g]
                        let bottom = columns[(r + 64) * columnStride + g]
                        x[r] = SIMD4(top.lo, top.hi, bottom.lo, bottom.hi)
                    }
                    transpose64x4(x)
                    let full = rowCount - 128 * g >= 128
                    let target = full ? rows + 128 * g : spill.baseAddress!
                    for j in 0..<64 {
                        let v = x[j]
                        target[j] = Block(lo: v[0], hi: v[2])
                        target[64 + j] = Block(lo: v[1], hi: v[3])
                    }
                    if !full {
                        let remaining = rowCount - 128 * g
                        if remaining > 0 { (rows + 128 * g).update(from: spill.baseAddress!, count: remaining) }
                    }
                }
            }
        }
    }

    /// Transposes four 64x64 bit matrices at once (one per SIMD lane), rows x[0..<64]: six swap stages
    /// with constant widths, so each stage's loops have fixed trip counts the compiler can unroll.
    @inlinable @inline(__always)
    static func transpose64x4(_ x: UnsafeMutablePointer<SIMD4<UInt64>>) {
        swapStage(x, width: 32, mask: 0x0000_0000_FFFF_FFFF)
        swapStage(x, width: 16, mask: 0x0000_FFFF_0000_FFFF)
        swapStage(x, width: 8, mask: 0x00FF_00FF_00FF_00FF)
        swapStage(x, width: 4, mask: 0x0F0F_0F0F_0F0F_0F0F)
        swapStage(x, width: 2, mask: 0x3333_3333_3333_3333)
        swapStage(x, width: 1, mask: 0x5555_5555_5555_5555)
    }

    /// One Eklundh stage: for rows r and r + width (bit `width` of r clear), swaps the high-half bits of
    /// row r (columns with bit `width` set) with the low-half bits of row r + width.
    @inlinable @inline(__always)
    static func swapStage(_ x: UnsafeMutablePointer<SIMD4<UInt64>>, width: Int, mask: UInt64) {
        let m = SIMD4<UInt64>(repeating: mask)
        let shift = UInt64(width)
        var k = 0
        while k < 64 {
            for r in k..<(k + width) {
                let t = ((x[r] &>> shift) ^ x[r + width]) & m
                x[r] ^= t &<< shift
                x[r + width] ^= t
            }
            k += 2 * width
        }
    }
}
