// PlanStore's one error type: every case names the file it is about and says what to do.
import Foundation

/// Errors from reading or writing HDF5 files (checkpoints, plan weights).
public enum PlanStoreError: Error, CustomStringConvertible, LocalizedError, Equatable, Sendable {
    /// The file does not exist.
    case fileNotFound(path: String)
    /// The file exists but is not a readable HDF5 file (random bytes, truncated, or damaged).
    case corruptFile(path: String, detail: String)
    /// The file is HDF5 but not of the kind expected (e.g. not a Sibyl checkpoint).
    case wrongFormat(path: String, expected: String, found: String)
    /// A dataset, group or attribute that should be in the file is not.
    case missingObject(path: String, name: String)
    /// An object exists but holds another element type or rank than requested.
    case wrongKind(path: String, name: String, expected: String, found: String)
    /// An object name is not a valid "/"-separated path (empty part, ".", "..").
    case invalidName(path: String, name: String, reason: String)
    /// A name is used both as a group and as a dataset (e.g. "a" and "a/b").
    case nameConflict(path: String, name: String)
    /// A value cannot be stored as given (e.g. shape does not match the number of values).
    case invalidValue(path: String, name: String, reason: String)
    /// The HDF5 library reported a failure; `detail` is its innermost message.
    case hdf5(path: String, operation: String, detail: String)
    /// A file-system operation (create, fsync, rename) failed.
    case io(path: String, operation: String, detail: String)

    /// The file the error is about.
    public var path: String {
        switch self {
        case .fileNotFound(let p), .corruptFile(let p, _), .wrongFormat(let p, _, _), .missingObject(let p, _),
             .wrongKind(let p, _, _, _), .invalidName(let p, _, _), .nameConflict(let p, _),
             .invalidValue(let p, _, _), .hdf5(let p, _, _), .io(let p, _, _):
            return p
        }
    }

    public var description: String {
        switch self {
        case .fileNotFound(let p):
            return "\(p): no such file; check the path (checkpoints are written as DIR/checkpoint.h5 by `sibyl train --out DIR`)"
        case .corruptFile(let p, let d):
            return "\(p): not a readable HDF5 file (\(d)); it is damaged or truncated: restore it or delete it and write it again"
        case .wrongFormat(let p, let e, let f):
            return "\(p): expected a \(e) file but found \(f); pass the right file"
        case .missingObject(let p, let n):
            return "\(p): has no object named '\(n)'; the file is incomplete or from another version"
        case .wrongKind(let p, let n, let e, let f):
            return "\(p): '\(n)' holds \(f), expected \(e)"
        case .invalidName(let p, let n, let r):
            return "\(p): invalid object name '\(n)': \(r)"
        case .nameConflict(let p, let n):
            return "\(p): the name '\(n)' is used both as a group and as a dataset; rename one of them"
        case .invalidValue(let p, let n, let r):
            return "\(p): cannot store '\(n)': \(r)"
        case .hdf5(let p, let op, let d):
            return "\(p): HDF5 \(op) failed: \(d)"
        case .io(let p, let op, let d):
            return "\(p): \(op) failed: \(d); check that the directory exists and is writable and the disk is not full"
        }
    }

    public var errorDescription: String? { description }
}
