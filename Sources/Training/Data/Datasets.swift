// Loading CIFAR-100, CIFAR-10 and the synthetic set: find the files (unpacking the shared archive when
// needed), verify sizes and SHA-256 checksums, parse, split 45,000/5,000, compute normalisation.
//
// Checksums. CIFAR-100: train.bin and test.bin are checked against `SHA256SUMS` in the data directory
// (or its parent) when it lists them, otherwise against the values hard-coded below (the same values;
// a test keeps the two in step). CIFAR-10: only the official archive's MD5 is published
// (c32a1d4ab5d03f1284b67883e8d87530, checked by Datasets/fetch.sh at download); here each batch file
// is checked for its exact size and label range, and against SHA256SUMS only when it lists the file.
import Foundation

/// Entry point for datasets.
public enum Datasets {
    /// SHA-256 of the official CIFAR-100 binary files (from ../shared/datasets/README.md).
    public static let cifar100TrainSHA256 = "f31298fc616915fa142368359df1c4ca2ae984d6915ca468b998a5ec6aeebf29"
    public static let cifar100TestSHA256 = "d8b1e6b7b3bee4020055f0699b111f60b1af1e262aeb93a0b659061746f8224a"
    /// Folder names inside the data directory.
    public static let cifar100Folder = "cifar-100-binary"
    public static let cifar10Folder = "cifar-10-batches-bin"

    /// Finds, verifies (SHA-256) and loads a dataset; 45,000/5,000 train/validation split for CIFAR.
    ///
    /// `directory` is the folder holding `cifar-100-binary/` (or `cifar-10-batches-bin/`), e.g.
    /// `Datasets/`, or that data folder itself. It is ignored for `.synthetic`, whose validation part
    /// has `min(validationCount, 500)` images.
    public static func load(_ kind: DatasetKind, directory: URL, validationCount: Int = 5000) throws -> DataSplits {
        try load(kind, directory: directory, validationCount: validationCount, unpackSharedArchive: true)
    }

    /// `load`, choosing whether a missing CIFAR-100 folder may be filled from the shared archive
    /// (see `sharedArchiveCandidates(for:)`).
    public static func load(_ kind: DatasetKind, directory: URL, validationCount: Int, unpackSharedArchive: Bool) throws -> DataSplits {
        switch kind {
        case .synthetic:
            return try SyntheticCIFAR.splits(validationCount: validationCount)
        case .cifar100:
            return try loadCIFAR100(directory: directory, validationCount: validationCount, unpack: unpackSharedArchive)
        case .cifar10:
            return try loadCIFAR10(directory: directory, validationCount: validationCount)
        }
    }

    /// The test images alone, read and verified without the training file (`sibyl query` and `sibyl
    /// evaluate` need one image or a few: reading and hashing CIFAR-100's 150 MB train.bin took 1.2 s of a
    /// query's wall clock).
    public static func loadTest(_ kind: DatasetKind, directory: URL) throws -> ImageSet {
        switch kind {
        case .synthetic:
            return try SyntheticCIFAR.splits(validationCount: 0).test
        case .cifar100:
            let folder = try cifar100Folder(in: directory, unpack: true)
            return try cifar100Test(in: folder, sums: checksumManifest(near: folder))
        case .cifar10:
            let folder = try cifar10Folder(in: directory)
            return try cifar10Batch("test_batch.bin", in: folder, sums: checksumManifest(near: folder))
        }
    }

    // MARK: - CIFAR-100

    static func loadCIFAR100(directory: URL, validationCount: Int, unpack: Bool) throws -> DataSplits {
        let folder = try cifar100Folder(in: directory, unpack: unpack)
        let sums = checksumManifest(near: folder)
        let train = try CIFARFormat.cifar100.read(
            fileAt: folder.appendingPathComponent("train.bin"), expectedRecords: 50000,
            expectedSHA256: sums["\(cifar100Folder)/train.bin"] ?? cifar100TrainSHA256)
        let test = try cifar100Test(in: folder, sums: sums)
        let names = classNames(file: folder.appendingPathComponent("fine_label_names.txt"), count: 100)
        return try split(train, test: test, validationCount: validationCount, classNames: names)
    }

    /// CIFAR-100's test.bin in `folder`, verified.
    static func cifar100Test(in folder: URL, sums: [String: String]) throws -> ImageSet {
        try CIFARFormat.cifar100.read(fileAt: folder.appendingPathComponent("test.bin"), expectedRecords: 10000,
                                      expectedSHA256: sums["\(cifar100Folder)/test.bin"] ?? cifar100TestSHA256)
    }

    /// The folder holding train.bin/test.bin, unpacking the shared archive when they are missing.
    static func cifar100Folder(in directory: URL, unpack: Bool) throws -> URL {
        let manager = FileManager.default
        let hasData = { (folder: URL) in
            manager.fileExists(atPath: folder.appendingPathComponent("train.bin").path)
                || manager.fileExists(atPath: folder.appendingPathComponent("test.bin").path)
        }
        if hasData(directory) { return directory }
        let folder = directory.appendingPathComponent(cifar100Folder)
        if hasData(folder) { return folder }
        if unpack, let archive = DatasetArchive.find(for: directory, name: DatasetArchive.cifar100Name) {
            do {
                try manager.createDirectory(at: directory, withIntermediateDirectories: true)
            } catch {
                throw DataError.ioFailed(path: directory.path, detail: "cannot create the dataset directory (\(error.localizedDescription))")
            }
            try DatasetArchive.unpack(archive, into: directory, folder: cifar100Folder)
            return folder
        }
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.missingDirectory(path: directory.path, hint: DataError.fetchCIFAR100Hint)
        }
        throw DataError.missingFile(path: folder.appendingPathComponent("train.bin").path, hint: DataError.fetchCIFAR100Hint)
    }

    /// Where a missing CIFAR-100 folder is looked for as `cifar-100-binary.tar.gz`, in order:
    /// `<directory>/../../shared/datasets/`, `<cwd>/../shared/datasets/`, `$SIBYL_SHARED/datasets/`, `$SIBYL_SHARED/`.
    public static func sharedArchiveCandidates(for directory: URL) -> [URL] {
        DatasetArchive.candidates(for: directory, name: DatasetArchive.cifar100Name)
    }

    // MARK: - CIFAR-10

    /// The folder holding the CIFAR-10 batches: `directory` itself when it holds them, else its
    /// cifar-10-batches-bin; `directory` must exist.
    static func cifar10Folder(in directory: URL) throws -> URL {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.missingDirectory(path: directory.path, hint: DataError.fetchCIFAR10Hint)
        }
        let holdsBatches = ["data_batch_1.bin", "test_batch.bin"].contains {
            manager.fileExists(atPath: directory.appendingPathComponent($0).path)
        }
        return holdsBatches ? directory : directory.appendingPathComponent(cifar10Folder)
    }

    /// One CIFAR-10 batch file of `folder`, verified against `sums` where it lists it.
    static func cifar10Batch(_ name: String, in folder: URL, sums: [String: String]) throws -> ImageSet {
        try CIFARFormat.cifar10.read(fileAt: folder.appendingPathComponent(name), expectedRecords: 10000,
                                     expectedSHA256: sums["\(cifar10Folder)/\(name)"], hint: DataError.fetchCIFAR10Hint)
    }

    static func loadCIFAR10(directory: URL, validationCount: Int) throws -> DataSplits {
        let folder = try cifar10Folder(in: directory)
        let sums = checksumManifest(near: folder)
        func batch(_ name: String) throws -> ImageSet { try cifar10Batch(name, in: folder, sums: sums) }
        let parts = try (1...5).map { try batch("data_batch_\($0).bin") }
        let train = ImageSet(count: parts.reduce(0) { $0 + $1.count }, pixels: parts.flatMap(\.pixels),
                             labels: parts.flatMap(\.labels), classCount: 10)
        let test = try batch("test_batch.bin")
        let names = classNames(file: folder.appendingPathComponent("batches.meta.txt"), count: 10, fallback: [
            "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"])
        return try split(train, test: test, validationCount: validationCount, classNames: names)
    }

    // MARK: - Shared steps

    static func split(_ trainFile: ImageSet, test: ImageSet, validationCount: Int, classNames: [String]) throws -> DataSplits {
        let (trainIndices, validationIndices) = try splitIndices(labels: trainFile.labels, classCount: trainFile.classCount,
                                                                 validationCount: validationCount)
        let train = trainFile.subset(trainIndices)
        return DataSplits(train: train, validation: trainFile.subset(validationIndices), test: test,
                          classNames: classNames, normalization: Normalization.compute(from: train))
    }

    /// Entries of a `sha256sum`-style manifest ("<hex>  <relative path>") in the data folder, its
    /// parent, or its grandparent; relative paths as written there (e.g. "cifar-100-binary/train.bin").
    static func checksumManifest(near folder: URL) -> [String: String] {
        for candidate in [folder, folder.deletingLastPathComponent(), folder.deletingLastPathComponent().deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("SHA256SUMS")
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
            return parseChecksumManifest(text)
        }
        return [:]
    }

    /// Parses `sha256sum` output lines; a leading "*" (binary mode) on the name is dropped.
    public static func parseChecksumManifest(_ text: String) -> [String: String] {
        var sums: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard fields.count == 2, fields[0].count == 64 else { continue }
            var name = fields[1].trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("*") { name.removeFirst() }
            sums[name] = fields[0].lowercased()
        }
        return sums
    }

    /// One name a line; generic names when the file is absent or has the wrong number of lines.
    static func classNames(file: URL, count: Int, fallback: [String]? = nil) -> [String] {
        if let text = try? String(contentsOf: file, encoding: .utf8) {
            let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if names.count == count { return names }
        }
        return fallback ?? (0..<count).map { "class\($0)" }
    }
}
