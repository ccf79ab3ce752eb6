import TwoParty
import XCTest

final class OTTransposeTests: XCTestCase {
    func testTranspose128MatchesReference() {
        for seed in UInt64(1)...5 {
            var generator = testGenerator(seed: seed)
            let rows = randomBlocks(128, using: &generator)
            XCTAssertEqual(BitTranspose.transpose128(rows), BitTranspose.transpose128Reference(rows), "seed \(seed)")
            XCTAssertEqual(BitTranspose.transpose128(BitTranspose.transpose128(rows)), rows, "seed \(seed)")
        }
    }

    func testTransposeOfUnitMatrixIsUnit() {
        let unit = (0..<128).map { i in i < 64 ? Block(lo: 1 << UInt64(i), hi: 0) : Block(lo: 0, hi: 1 << UInt64(i - 64)) }
        XCTAssertEqual(BitTranspose.transpose128(unit), unit)
    }

    /// Many groups with a partial last one, against the bit-by-bit definition.
    func testTransposeColumnsWithPartialGroup() {
        let seed: UInt64 = 42
        var generator = testGenerator(seed: seed)
        let groups = 3
        let rowCount = 300
        let columns = randomBlocks(128 * groups, using: &generator)
        var rows = [Block](repeating: .zero, count: rowCount)
        columns.withUnsafeBufferPointer { c in
            rows.withUnsafeMutableBufferPointer { r in
                BitTranspose.transposeColumns(c.baseAddress!, columnStride: groups, groups: groups,
                                              into: r.baseAddress!, rowCount: rowCount)
            }
        }
        func bit(_ b: Block, _ j: Int) -> Bool { ((j < 64 ? b.lo >> UInt64(j) : b.hi >> UInt64(j - 64)) & 1) == 1 }
        for j in 0..<rowCount {
            for i in 0..<128 {
                let expected = bit(columns[i * groups + j / 128], j % 128)
                if bit(rows[j], i) != expected {
                    XCTFail("seed \(seed): row \(j) bit \(i) wrong")
                    return
                }
            }
        }
    }
}
