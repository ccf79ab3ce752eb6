// The CIFAR record parser on generated files: record layout, fine versus coarse label bytes, plane
// order, truncated files, labels out of range, checksums and the verification stamp.
import Foundation
import PlanStore
import Training
import XCTest
import TestSupport

final class DataCIFARFormatTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory("format") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Hand-made CIFAR-100 records: coarse byte, fine byte, then R, G, B planes with recognisable values.
    private func handMadeCIFAR100(records: Int) -> Data {
        var bytes: [UInt8] = []
        for r in 0..<records {
            bytes.append(UInt8(90 + r))        // coarse label: deliberately out of the fine range
            bytes.append(UInt8(r * 7 % 100))   // fine label
            for channel in 0..<3 {
                for y in 0..<32 { for x in 0..<32 { bytes.append(UInt8((channel * 80 + y * 2 + x + r) % 256)) } }
            }
        }
        return Data(bytes)
    }

    func testCIFAR100RecordLayoutFineLabelsAndPlaneOrder() throws {
        let url = directory.appendingPathComponent("train.bin")
        try handMadeCIFAR100(records: 5).write(to: url)
        let images = try CIFARFormat.cifar100.read(fileAt: url)
        XCTAssertEqual(images.count, 5)
        XCTAssertEqual(images.classCount, 100)
        XCTAssertEqual(images.labels, [0, 7, 14, 21, 28], "fine labels come from the second byte")
        for r in 0..<5 {
            let image = Array(images.image(r))
            for channel in 0..<3 {
                for (y, x) in [(0, 0), (0, 31), (17, 5), (31, 31)] {
                    XCTAssertEqual(image[channel * 1024 + y * 32 + x], UInt8((channel * 80 + y * 2 + x + r) % 256),
                                   "record \(r) channel \(channel) (\(y),\(x))")
                }
            }
        }
        // Encoding gives back the same bytes when the coarse labels are supplied.
        let coarse = (0..<5).map { Int32(90 + $0) }
        XCTAssertEqual(CIFARFormat.cifar100.encode(images, coarseLabels: coarse), try Data(contentsOf: url))
    }

    func testCIFAR10RecordLayout() throws {
        var bytes: [UInt8] = []
        for r in 0..<3 {
            bytes.append(UInt8(9 - r))
            for i in 0..<3072 { bytes.append(UInt8((i / 1024) * 100 + r)) }
        }
        let images = try CIFARFormat.cifar10.parse(Data(bytes), source: "inline")
        XCTAssertEqual(images.labels, [9, 8, 7])
        XCTAssertEqual(images.image(2)[2 * 3072 + 0], 2)
        XCTAssertEqual(images.image(2)[2 * 3072 + 1024], 102)
        XCTAssertEqual(images.image(2)[2 * 3072 + 2048 + 1023], 202)
        XCTAssertEqual(CIFARFormat.cifar10.encode(images), Data(bytes))
    }

    func testRoundTripThroughEncoding() throws {
        let seed: UInt64 = 314
        for format in CIFARFormat.allCases {
            let images = dataRandomImages(count: 17, classCount: format.classCount, seed: seed)
            let parsed = try format.parse(format.encode(images), source: "round trip")
            XCTAssertEqual(parsed.pixels, images.pixels, "\(format), seed \(seed)")
            XCTAssertEqual(parsed.labels, images.labels, "\(format), seed \(seed)")
        }
    }

    func testTruncatedFileAndWrongRecordCount() throws {
        let url = directory.appendingPathComponent("train.bin")
        let data = handMadeCIFAR100(records: 3)
        try data.prefix(data.count - 100).write(to: url)
        dataAssertThrows({ _ = try CIFARFormat.cifar100.read(fileAt: url) }, mentioning: url.path) {
            if case .truncatedFile(_, let size, 3074, nil) = $0 { return size == 3 * 3074 - 100 }
            return false
        }
        try data.write(to: url)
        dataAssertThrows({ _ = try CIFARFormat.cifar100.read(fileAt: url, expectedRecords: 4) }, mentioning: "make data") {
            if case .truncatedFile(_, _, _, 4) = $0 { return true }
            return false
        }
        dataAssertThrows({ _ = try CIFARFormat.cifar100.read(fileAt: self.directory.appendingPathComponent("nope.bin")) }) {
            if case .missingFile = $0 { return true }
            return false
        }
    }

    func testLabelOutOfRange() throws {
        var bytes = [UInt8](handMadeCIFAR100(records: 4))
        bytes[2 * 3074 + 1] = 100   // fine label of record 2
        let url = directory.appendingPathComponent("bad.bin")
        try Data(bytes).write(to: url)
        dataAssertThrows({ _ = try CIFARFormat.cifar100.read(fileAt: url) }, mentioning: url.path) {
            $0 == .labelOutOfRange(path: url.path, record: 2, label: 100, classCount: 100)
        }
        var ten = [UInt8](repeating: 0, count: 2 * 3073)
        ten[3073] = 10
        dataAssertThrows({ _ = try CIFARFormat.cifar10.parse(Data(ten), source: "ten.bin") }) {
            $0 == .labelOutOfRange(path: "ten.bin", record: 1, label: 10, classCount: 10)
        }
    }

    func testChecksumMismatchAndStampCache() throws {
        let url = directory.appendingPathComponent("test.bin")
        let data = handMadeCIFAR100(records: 6)
        try data.write(to: url)
        let good = SHA256.hex(of: data)
        let wrong = String(repeating: "0", count: 64)
        dataAssertThrows({ _ = try CIFARFormat.cifar100.read(fileAt: url, expectedSHA256: wrong) },
                         mentioning: "delete \(url.path) and run `make data`") {
            $0 == .checksumMismatch(path: url.path, expected: wrong, actual: good)
        }
        let stamp = directory.appendingPathComponent(".test.bin.sha256-stamp")
        XCTAssertFalse(FileManager.default.fileExists(atPath: stamp.path))
        XCTAssertEqual(try CIFARFormat.cifar100.read(fileAt: url, expectedSHA256: good.uppercased()).count, 6)
        XCTAssertTrue(FileManager.default.fileExists(atPath: stamp.path), "a verified file gets a stamp")
        XCTAssertEqual(try CIFARFormat.cifar100.read(fileAt: url, expectedSHA256: good).count, 6)

        // Same size, new contents and a new modification time: the stamp no longer applies.
        var changed = [UInt8](data)
        changed[500] ^= 0xFF
        try Data(changed).write(to: url)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: url.path)
        dataAssertThrows({ _ = try CIFARFormat.cifar100.read(fileAt: url, expectedSHA256: good) }) {
            if case .checksumMismatch = $0 { return true }
            return false
        }
    }

    func testSyntheticCIFAR100FileWriter() throws {
        let url = directory.appendingPathComponent("synthetic.bin")
        try SyntheticCIFAR.writeCIFAR100File(to: url, count: 250, seed: 8)
        let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber
        XCTAssertEqual(size?.intValue, 250 * 3074)
        let images = try CIFARFormat.cifar100.read(fileAt: url, expectedRecords: 250)
        XCTAssertEqual(images.classCounts(), [Int](repeating: 2, count: 100) .enumerated().map { $0.offset < 50 ? 3 : 2 })
        let bytes = [UInt8](try Data(contentsOf: url))
        for r in 0..<250 { XCTAssertEqual(Int32(bytes[r * 3074]), images.labels[r] / 5, "coarse byte of record \(r)") }
        // Deterministic in the seed.
        let again = directory.appendingPathComponent("again.bin")
        try SyntheticCIFAR.writeCIFAR100File(to: again, count: 250, seed: 8)
        XCTAssertEqual(try Data(contentsOf: again), try Data(contentsOf: url))
    }
}
