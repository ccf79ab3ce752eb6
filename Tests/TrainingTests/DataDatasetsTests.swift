// Datasets.load: errors for missing directories, truncated and wrong-checksum files; the fixed split;
// the synthetic set; and, when the real CIFAR-100 files are available, the published sanity values.
import Foundation
import Training
import XCTest
import TestSupport

final class DataDatasetsTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory("datasets") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testMissingDirectoryNamesItAndSaysMakeData() {
        let missing = directory.appendingPathComponent("no/such/Datasets")
        dataAssertThrows({ _ = try Datasets.load(.cifar100, directory: missing, validationCount: 5000, unpackSharedArchive: false) },
                         mentioning: "make data") {
            if case .missingDirectory(let path, _) = $0 { return path == missing.path }
            return false
        }
        dataAssertThrows({ _ = try Datasets.load(.cifar10, directory: missing) }, mentioning: "fetch.sh cifar10") {
            if case .missingDirectory(let path, _) = $0 { return path == missing.path }
            return false
        }
        // An existing but empty directory: the missing file is named.
        dataAssertThrows({ _ = try Datasets.load(.cifar100, directory: self.directory, validationCount: 5000, unpackSharedArchive: false) },
                         mentioning: "cifar-100-binary/train.bin") {
            if case .missingFile = $0 { return true }
            return false
        }
    }

    func testTruncatedCIFAR100TrainFile() throws {
        let folder = directory.appendingPathComponent("cifar-100-binary")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try SyntheticCIFAR.writeCIFAR100File(to: folder.appendingPathComponent("train.bin"), count: 20, seed: 1)
        try SyntheticCIFAR.writeCIFAR100File(to: folder.appendingPathComponent("test.bin"), count: 10, seed: 2)
        let train = folder.appendingPathComponent("train.bin").path
        dataAssertThrows({ _ = try Datasets.load(.cifar100, directory: self.directory) }, mentioning: train) {
            $0 == .truncatedFile(path: train, size: 20 * 3074, recordSize: 3074, expectedRecords: 50000)
        }
        // The test split alone reads test.bin only: its own truncation is what is reported.
        let test = folder.appendingPathComponent("test.bin").path
        dataAssertThrows({ _ = try Datasets.loadTest(.cifar100, directory: self.directory) }, mentioning: test) {
            $0 == .truncatedFile(path: test, size: 10 * 3074, recordSize: 3074, expectedRecords: 10000)
        }
    }

    func testDatasetFilesMayBeSymbolicLinks() throws {
        // The real files live elsewhere; the data folder holds links to them. Sizes and checks are those of
        // the files, not of the links (a link is about 40 bytes).
        let elsewhere = directory.appendingPathComponent("shared-copy")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        try SyntheticCIFAR.writeCIFAR100File(to: elsewhere.appendingPathComponent("train.bin"), count: 20, seed: 1)
        try SyntheticCIFAR.writeCIFAR100File(to: elsewhere.appendingPathComponent("test.bin"), count: 10, seed: 2)
        let folder = directory.appendingPathComponent("cifar-100-binary")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["train.bin", "test.bin"] {
            try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent(name),
                                                       withDestinationURL: elsewhere.appendingPathComponent(name))
        }
        let train = folder.appendingPathComponent("train.bin").path
        dataAssertThrows({ _ = try Datasets.load(.cifar100, directory: self.directory) }, mentioning: train) {
            $0 == .truncatedFile(path: train, size: 20 * 3074, recordSize: 3074, expectedRecords: 50000)
        }
    }

    func testWrongChecksumOfFullSizeFile() throws {
        // A full-size train.bin of zero bytes (a sparse file: every label 0, so only the hash is wrong).
        let folder = directory.appendingPathComponent("cifar-100-binary")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let train = folder.appendingPathComponent("train.bin")
        _ = FileManager.default.createFile(atPath: train.path, contents: nil)
        let handle = try FileHandle(forWritingTo: train)
        try handle.truncate(atOffset: 50000 * 3074)
        try handle.close()
        dataAssertThrows({ _ = try Datasets.load(.cifar100, directory: self.directory) },
                         mentioning: "delete \(train.path) and run `make data`") {
            if case .checksumMismatch(let path, let expected, _) = $0 {
                return path == train.path && expected == Datasets.cifar100TrainSHA256
            }
            return false
        }
    }

    func testCommittedManifestAgreesWithHardCodedHashes() throws {
        let url = dataRepositoryRoot().appendingPathComponent("Datasets/SHA256SUMS")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw XCTSkip("no \(url.path)") }
        let sums = Datasets.parseChecksumManifest(text)
        XCTAssertEqual(sums["cifar-100-binary/train.bin"], Datasets.cifar100TrainSHA256)
        XCTAssertEqual(sums["cifar-100-binary/test.bin"], Datasets.cifar100TestSHA256)
    }

    func testSplitIsStratifiedDisjointAndDeterministic() throws {
        let seed: UInt64 = 4242
        var random = DataRandom(seed: seed)
        let labels = (0..<5000).map { Int32($0 % 100) }.shuffled(using: &random)
        let (train, validation) = try Datasets.splitIndices(labels: labels, classCount: 100, validationCount: 500)
        XCTAssertEqual(train.count, 4500)
        XCTAssertEqual(validation.count, 500)
        XCTAssertEqual(Set(train).union(validation), Set(0..<5000))
        XCTAssertTrue(Set(train).isDisjoint(with: validation))
        XCTAssertEqual(train, train.sorted(), "official order kept")
        var perClass = [Int](repeating: 0, count: 100)
        for index in validation { perClass[Int(labels[index])] += 1 }
        XCTAssertEqual(perClass, [Int](repeating: 5, count: 100), "seed \(seed)")
        let again = try Datasets.splitIndices(labels: labels, classCount: 100, validationCount: 500)
        XCTAssertEqual(again.validation, validation)
        // A remainder goes to the lowest classes; too many is an error.
        let odd = try Datasets.splitIndices(labels: labels, classCount: 100, validationCount: 503)
        XCTAssertEqual(odd.validation.count, 503)
        dataAssertThrows({ _ = try Datasets.splitIndices(labels: labels, classCount: 100, validationCount: 5001) }) {
            if case .invalidSplit = $0 { return true }
            return false
        }
        // Class 100 has no records at all but would owe one validation image.
        dataAssertThrows({ _ = try Datasets.splitIndices(labels: labels, classCount: 101, validationCount: 101) }, mentioning: "class 100") {
            if case .invalidSplit = $0 { return true }
            return false
        }
    }

    func testSyntheticDatasetSizesDeterminismAndNormalization() throws {
        let splits = try Datasets.load(.synthetic, directory: directory)
        XCTAssertEqual(splits.train.count, 2000)
        XCTAssertEqual(splits.validation.count, 500)
        XCTAssertEqual(splits.test.count, 500)
        XCTAssertEqual(splits.classNames.count, 10)
        XCTAssertEqual(splits.train.classCounts(), [Int](repeating: 200, count: 10))
        XCTAssertEqual(splits.validation.classCounts(), [Int](repeating: 50, count: 10))
        let again = try Datasets.load(.synthetic, directory: directory)
        XCTAssertEqual(again.train.pixels, splits.train.pixels)
        XCTAssertEqual(again.test.labels, splits.test.labels)
        XCTAssertEqual(again.normalization, splits.normalization)
        XCTAssertNotEqual(splits.test.pixels, Array(splits.train.pixels.prefix(splits.test.pixels.count)))
        XCTAssertEqual(try Datasets.load(.synthetic, directory: directory, validationCount: 100).validation.count, 100)

        // The computed statistics agree with a plain Double computation.
        let n = Normalization.compute(from: splits.train)
        for channel in 0..<3 {
            var values: [Double] = []
            for image in 0..<splits.train.count {
                for i in 0..<1024 { values.append(Double(splits.train.pixels[image * 3072 + channel * 1024 + i]) / 255) }
            }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
            XCTAssertEqual(Double(n.mean[channel]), mean, accuracy: 1e-6)
            XCTAssertEqual(Double(n.std[channel]), variance.squareRoot(), accuracy: 1e-6)
        }
    }

    /// The real CIFAR-100, from Datasets/ when `make data` has run, else unpacked from the shared archive
    /// into a temporary folder (exercising the unpack path); skipped when neither exists.
    func testRealCIFAR100WhenAvailable() throws {
        let repoData = dataRepositoryRoot().appendingPathComponent("Datasets")
        let source: URL
        if FileManager.default.fileExists(atPath: repoData.appendingPathComponent("cifar-100-binary/train.bin").path) {
            source = repoData
        } else if Datasets.sharedArchiveCandidates(for: repoData).contains(where: { FileManager.default.fileExists(atPath: $0.path) }) {
            // directory/../../shared/datasets will not exist under the temporary folder, but cwd or
            // SIBYL_SHARED candidates may; point the search at the repository's layout explicitly.
            let archive = Datasets.sharedArchiveCandidates(for: repoData).first { FileManager.default.fileExists(atPath: $0.path) }!
            let sharedRoot = directory.appendingPathComponent("shared/datasets")
            try FileManager.default.createDirectory(at: sharedRoot, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(at: sharedRoot.appendingPathComponent("cifar-100-binary.tar.gz"), withDestinationURL: archive)
            source = directory.appendingPathComponent("repo/Datasets")
        } else {
            throw XCTSkip("CIFAR-100 is not available (run `make data`)")
        }
        let splits = try Datasets.load(.cifar100, directory: source)
        XCTAssertEqual(splits.train.count, 45000)
        XCTAssertEqual(splits.validation.count, 5000)
        XCTAssertEqual(splits.test.count, 10000)
        XCTAssertEqual(splits.classNames.count, 100)
        XCTAssertEqual(splits.classNames.first, "apple")
        XCTAssertEqual(Array(splits.test.labels.prefix(5)), [49, 33, 72, 51, 71])
        XCTAssertEqual(splits.train.classCounts(), [Int](repeating: 450, count: 100))
        XCTAssertEqual(splits.validation.classCounts(), [Int](repeating: 50, count: 100))
        XCTAssertEqual(splits.test.classCounts(), [Int](repeating: 100, count: 100))
        // The test split alone (query, evaluate) is the same set.
        let test = try Datasets.loadTest(.cifar100, directory: source)
        XCTAssertEqual(test.pixels, splits.test.pixels)
        XCTAssertEqual(test.labels, splits.test.labels)
        // The official first five training labels.
        let folder = source.appendingPathComponent("cifar-100-binary")
        let full = try CIFARFormat.cifar100.read(fileAt: folder.appendingPathComponent("train.bin"), expectedRecords: 50000,
                                                 expectedSHA256: Datasets.cifar100TrainSHA256)
        XCTAssertEqual(Array(full.labels.prefix(5)), [19, 29, 0, 11, 1])
        for channel in 0..<3 {
            XCTAssertEqual(splits.normalization.mean[channel], Normalization.cifar100Reference.mean[channel], accuracy: 0.003)
            XCTAssertEqual(splits.normalization.std[channel], Normalization.cifar100Reference.std[channel], accuracy: 0.003)
        }
        // The split is the documented one: a second load gives the same validation images.
        let again = try Datasets.load(.cifar100, directory: source)
        XCTAssertEqual(again.validation.labels, splits.validation.labels)
        XCTAssertEqual(again.validation.pixels.prefix(30000), splits.validation.pixels.prefix(30000))
    }
}
