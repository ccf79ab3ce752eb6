// Errors of the CIFAR data pipeline: each names the file or folder and says what to do.
import Foundation

/// What went wrong while finding, verifying or reading a dataset.
public enum DataError: Error, CustomStringConvertible, LocalizedError, Equatable, Sendable {
    /// The dataset directory does not exist (and no archive to unpack was found).
    case missingDirectory(path: String, hint: String)
    /// A data file is absent from an existing directory.
    case missingFile(path: String, hint: String)
    /// Size not a multiple of the record size, or a wrong number of records.
    case truncatedFile(path: String, size: Int, recordSize: Int, expectedRecords: Int?)
    /// The file's SHA-256 differs from the published value.
    case checksumMismatch(path: String, expected: String, actual: String)
    /// A label byte outside 0..<classCount (record index counts from 0).
    case labelOutOfRange(path: String, record: Int, label: Int, classCount: Int)
    /// Unpacking the shared archive failed.
    case unpackFailed(archive: String, detail: String)
    /// Reading or writing a file failed at the operating-system level.
    case ioFailed(path: String, detail: String)
    /// The requested validation split cannot be taken from the training records.
    case invalidSplit(detail: String)

    public var description: String {
        switch self {
        case .missingDirectory(let path, let hint):
            return "dataset directory \(path) does not exist; \(hint)"
        case .missingFile(let path, let hint):
            return "dataset file \(path) is missing; \(hint)"
        case .truncatedFile(let path, let size, let recordSize, let expected):
            let want = expected.map { "\($0) records of \(recordSize) bytes = \($0 * recordSize) bytes" }
                ?? "a multiple of the record size \(recordSize)"
            return "dataset file \(path) has \(size) bytes, expected \(want): it is truncated or damaged; delete \(path) and run `make data`"
        case .checksumMismatch(let path, let expected, let actual):
            return "dataset file \(path) has SHA-256 \(actual), expected \(expected): it is damaged or a different version; delete \(path) and run `make data`"
        case .labelOutOfRange(let path, let record, let label, let classCount):
            return "dataset file \(path): record \(record) has label \(label), outside 0..<\(classCount); the file is damaged or not in this format; delete it and run `make data`"
        case .unpackFailed(let archive, let detail):
            return "could not unpack \(archive): \(detail); check free disk space, or delete the partial files and run `make data`"
        case .ioFailed(let path, let detail):
            return "\(path): \(detail)"
        case .invalidSplit(let detail):
            return "invalid train/validation split: \(detail)"
        }
    }

    public var errorDescription: String? { description }

    /// The advice attached to missing CIFAR-100 data.
    public static let fetchCIFAR100Hint = "run `make data` (it unpacks ../shared/datasets/cifar-100-binary.tar.gz when present, "
        + "otherwise downloads https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz) or pass the folder that holds cifar-100-binary/"
    /// The advice attached to missing CIFAR-10 data.
    public static let fetchCIFAR10Hint = "run `bash Datasets/fetch.sh cifar10` (downloads https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz) "
        + "or pass the folder that holds cifar-10-batches-bin/"
}
