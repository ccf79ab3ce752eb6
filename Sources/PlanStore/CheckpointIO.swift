// Checkpoint files: HDF5 with one group per kind of value, written atomically (temporary file in the
// same directory, fsync, rename, fsync of the directory), so a crash leaves either the old or the new
// file, never a half-written one.
//
// Layout (readable with h5dump and h5py):
//   /arrays/<name>     float32 dataset with the array's shape (scalar dataspace for shape [])
//   /integers/<name>   int64 scalar dataset
//   /strings/<name>    variable-length UTF-8 scalar string dataset
//   /words/<name>      uint64 1-D dataset
//   root attributes    format = "sibyl-checkpoint", format_version = "1"
import Foundation

/// Reads and writes `CheckpointContents` as HDF5 files.
public enum CheckpointIO {
    /// The value of the root attribute `format`.
    public static let formatName = "sibyl-checkpoint"
    /// The value of the root attribute `format_version`.
    public static let formatVersion = "1"

    private static let groups = (arrays: "arrays", integers: "integers", strings: "strings", words: "words")

    /// Writes `contents` to `url` atomically; on any error the file previously at `url` is untouched
    /// and no temporary file is left behind.
    public static func write(_ contents: CheckpointContents, to url: URL) throws {
        try AtomicFile.write(to: url) { temporary in
            // Errors name the destination, not the temporary file.
            do {
                try writeContents(contents, to: temporary)
            } catch let error as PlanStoreError {
                throw renamed(error, in: url)
            }
        }
    }

    private static func writeContents(_ contents: CheckpointContents, to temporary: URL) throws {
        let file = try HDF5File(creating: temporary, overwrite: false)
        try file.setAttribute("format", to: formatName)
        try file.setAttribute("format_version", to: formatVersion)
        for name in contents.arrays.keys.sorted() {
            let array = contents.arrays[name]!
            try file.write(array.values, shape: array.shape, to: groups.arrays + "/" + name)
        }
        for name in contents.integers.keys.sorted() {
            try file.write(scalar: contents.integers[name]!, to: groups.integers + "/" + name)
        }
        for name in contents.strings.keys.sorted() {
            try file.write(string: contents.strings[name]!, to: groups.strings + "/" + name)
        }
        for name in contents.words.keys.sorted() {
            let words = contents.words[name]!
            try file.write(words, shape: [words.count], to: groups.words + "/" + name)
        }
        try file.close()
    }

    /// Reads a checkpoint written by `write`. Missing, corrupt, truncated or foreign files throw a
    /// `PlanStoreError` naming the path.
    public static func read(from url: URL) throws -> CheckpointContents {
        let file = try HDF5File(opening: url)
        let format = try file.attribute("format")
        guard format == formatName else {
            throw PlanStoreError.wrongFormat(path: url.path, expected: "Sibyl checkpoint (\(formatName))",
                                             found: format.map { "format '\($0)'" } ?? "an HDF5 file without a 'format' attribute")
        }
        let version = try file.attribute("format_version") ?? "?"
        guard version == formatVersion else {
            throw PlanStoreError.wrongFormat(path: url.path, expected: "checkpoint format version \(formatVersion)",
                                             found: "version \(version); use the Sibyl version that wrote it")
        }
        var contents = CheckpointContents()
        for name in try file.datasetNames() {
            guard let slash = name.firstIndex(of: "/") else { continue }
            let group = String(name[..<slash])
            let key = String(name[name.index(after: slash)...])
            switch group {
            case groups.arrays:
                let (shape, values) = try file.read(Float.self, from: name)
                contents.arrays[key] = StoredArray(shape: shape, values: values)
            case groups.integers:
                contents.integers[key] = try file.readScalar(Int64.self, from: name)
            case groups.strings:
                contents.strings[key] = try file.readString(from: name)
            case groups.words:
                let (shape, values) = try file.read(UInt64.self, from: name)
                guard shape.count == 1 else {
                    throw PlanStoreError.wrongKind(path: url.path, name: name, expected: "a 1-D uint64 array", found: "shape \(shape)")
                }
                contents.words[key] = values
            default:
                continue
            }
        }
        try file.close()
        return contents
    }

    /// Errors raised while writing the temporary file name the destination instead.
    private static func renamed(_ error: PlanStoreError, in url: URL) -> PlanStoreError {
        let p = url.path
        switch error {
        case .fileNotFound: return .fileNotFound(path: p)
        case .corruptFile(_, let d): return .corruptFile(path: p, detail: d)
        case .wrongFormat(_, let e, let f): return .wrongFormat(path: p, expected: e, found: f)
        case .missingObject(_, let n): return .missingObject(path: p, name: n)
        case .wrongKind(_, let n, let e, let f): return .wrongKind(path: p, name: n, expected: e, found: f)
        case .invalidName(_, let n, let r): return .invalidName(path: p, name: n, reason: r)
        case .nameConflict(_, let n): return .nameConflict(path: p, name: n)
        case .invalidValue(_, let n, let r): return .invalidValue(path: p, name: n, reason: r)
        case .hdf5(_, let o, let d): return .hdf5(path: p, operation: o, detail: d)
        case .io(_, let o, let d): return .io(path: p, operation: o, detail: d)
        }
    }
}
