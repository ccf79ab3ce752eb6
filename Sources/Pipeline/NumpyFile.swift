// A matrix written as a NumPy .npy file (format version 1.0: the magic string, a little-endian header
// length, a Python-literal header padded to a multiple of 64 bytes, then the values, C order, little
// endian), so that anyone can load Sibyl's per-image outputs with numpy.load.
import Foundation
import PlanStore

public enum NumpyFile {
    /// Writes `rows` (all the same length) as a 2-D array of int64 ("<i8") or float64 ("<f8"), atomically.
    public static func write<T: NumpyElement>(_ rows: [[T]], to url: URL) throws {
        let columns = rows.first?.count ?? 0
        guard rows.allSatisfy({ $0.count == columns }) else {
            throw PlanStoreError.invalidValue(path: url.path, name: "npy", reason: "rows of different lengths")
        }
        var header = "{'descr': '\(T.descriptor)', 'fortran_order': False, 'shape': (\(rows.count), \(columns)), }"
        let unpadded = 6 + 2 + 2 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        for row in rows { for value in row { withUnsafeBytes(of: value.littleEndianBits) { data.append(contentsOf: $0) } } }
        try AtomicFile.write(to: url) { try data.write(to: $0) }
    }
}

/// An element type a .npy file can hold.
public protocol NumpyElement {
    static var descriptor: String { get }
    var littleEndianBits: UInt64 { get }
}

extension Int64: NumpyElement {
    public static var descriptor: String { "<i8" }
    public var littleEndianBits: UInt64 { UInt64(bitPattern: self).littleEndian }
}

extension Double: NumpyElement {
    public static var descriptor: String { "<f8" }
    public var littleEndianBits: UInt64 { bitPattern.littleEndian }
}
