// CheckpointIO: round-trip of every field kind, atomic replacement, and clear errors for missing,
// corrupt, truncated and foreign files.
import Foundation
import PlanStore
import XCTest
import TestSupport

final class CheckpointIOTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory("ckpt") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    static func sampleContents(seed: UInt64) -> CheckpointContents {
        var random = SplitMix64(seed: seed)
        func array(_ shape: [Int]) -> StoredArray {
            StoredArray(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &random) })
        }
        return CheckpointContents(
            arrays: [
                "weights/conv1.weight": array([16, 3, 3, 3]),
                "weights/fc.bias": array([100]),
                "bn/layer1.0/running_mean": array([16]),
                "optimizer/momentum/conv1.weight": array([16, 3, 3, 3]),
                "scalar": array([]),
                "empty": StoredArray(shape: [0], values: []),
                "empty2d": StoredArray(shape: [4, 0], values: []),
            ],
            integers: ["epoch": 17, "step": 6_000_000_000, "negative": -3],
            strings: ["config": #"{"model":"resnet32","schedule":"onecycle","lr":0.4}"#, "empty": "", "note/nested": "ünïcode"],
            words: ["rng/state": [random.next(), random.next(), 0, UInt64.max], "none": []]
        )
    }

    func testRoundTripOfEveryFieldKind() throws {
        let seed: UInt64 = 20_261_122
        let contents = Self.sampleContents(seed: seed)
        let url = directory.appendingPathComponent("checkpoint.h5")
        try CheckpointIO.write(contents, to: url)
        let read = try CheckpointIO.read(from: url)
        XCTAssertEqual(read, contents, "seed \(seed)")
        XCTAssertEqual(read.arrays["scalar"]?.shape, [])
        XCTAssertEqual(read.arrays["empty2d"]?.shape, [4, 0])
        XCTAssertEqual(read.words["none"], [])
        // Nothing but the checkpoint is left in the directory.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["checkpoint.h5"])
    }

    func testEmptyContentsRoundTrip() throws {
        let url = directory.appendingPathComponent("empty.h5")
        try CheckpointIO.write(CheckpointContents(), to: url)
        XCTAssertEqual(try CheckpointIO.read(from: url), CheckpointContents())
    }

    func testFailedWriteLeavesOldFileIntact() throws {
        let url = directory.appendingPathComponent("checkpoint.h5")
        let original = Self.sampleContents(seed: 1)
        try CheckpointIO.write(original, to: url)
        let before = try Data(contentsOf: url)

        // A value that fails after other values were already written: shape and value count disagree.
        var bad = Self.sampleContents(seed: 2)
        bad.arrays["zzz/last"] = StoredArray(shape: [3, 3], values: [1, 2, 3])
        XCTAssertThrowsError(try CheckpointIO.write(bad, to: url)) { error in
            guard case .invalidValue(let path, let name, _)? = error as? PlanStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, url.path)
            XCTAssertEqual(name, "arrays/zzz/last")
        }
        // A name used as both a value and a group.
        var conflict = Self.sampleContents(seed: 3)
        conflict.arrays["weights/fc.bias/extra"] = StoredArray(shape: [1], values: [1])
        XCTAssertThrowsError(try CheckpointIO.write(conflict, to: url)) { error in
            guard case .nameConflict? = error as? PlanStoreError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try Data(contentsOf: url), before)
        XCTAssertEqual(try CheckpointIO.read(from: url), original)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["checkpoint.h5"])

        // Writing into a directory that does not exist fails before touching anything.
        let elsewhere = directory.appendingPathComponent("missing/checkpoint.h5")
        XCTAssertThrowsError(try CheckpointIO.write(original, to: elsewhere)) { error in
            guard case .io(let path, _, _)? = error as? PlanStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, elsewhere.path)
        }
    }

    func testOverwriteReplacesTheFile() throws {
        let url = directory.appendingPathComponent("checkpoint.h5")
        try CheckpointIO.write(Self.sampleContents(seed: 4), to: url)
        let second = CheckpointContents(integers: ["epoch": 2])
        try CheckpointIO.write(second, to: url)
        XCTAssertEqual(try CheckpointIO.read(from: url), second)
    }

    func testMissingCorruptTruncatedAndForeignFiles() throws {
        let missing = directory.appendingPathComponent("missing.h5")
        XCTAssertThrowsError(try CheckpointIO.read(from: missing)) { error in
            XCTAssertEqual(error as? PlanStoreError, .fileNotFound(path: missing.path))
            XCTAssertTrue("\(error)".contains(missing.path))
        }

        let seed: UInt64 = 77
        var random = SplitMix64(seed: seed)
        let noise = directory.appendingPathComponent("noise.h5")
        try Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) }).write(to: noise)
        XCTAssertThrowsError(try CheckpointIO.read(from: noise)) { error in
            guard case .corruptFile(let path, _)? = error as? PlanStoreError else { return XCTFail("seed \(seed): \(error)") }
            XCTAssertEqual(path, noise.path)
        }

        let good = directory.appendingPathComponent("good.h5")
        try CheckpointIO.write(Self.sampleContents(seed: 5), to: good)
        let bytes = try Data(contentsOf: good)
        for fraction in [0.1, 0.5, 0.9] {
            let truncated = directory.appendingPathComponent("truncated-\(fraction).h5")
            try bytes.prefix(Int(Double(bytes.count) * fraction)).write(to: truncated)
            XCTAssertThrowsError(try CheckpointIO.read(from: truncated), "fraction \(fraction)") { error in
                guard let storeError = error as? PlanStoreError else { return XCTFail("\(error)") }
                XCTAssertEqual(storeError.path, truncated.path)
            }
        }

        let foreign = directory.appendingPathComponent("foreign.h5")
        let file = try HDF5File(creating: foreign)
        try file.write([Float(1)], shape: [1], to: "data")
        try file.close()
        XCTAssertThrowsError(try CheckpointIO.read(from: foreign)) { error in
            guard case .wrongFormat(let path, _, _)? = error as? PlanStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, foreign.path)
        }

        XCTAssertThrowsError(try CheckpointIO.read(from: directory)) { error in
            XCTAssertEqual(error as? PlanStoreError, .fileNotFound(path: directory.path))
        }
    }

    func testH5DumpListsTheDatasets() throws {
        let url = directory.appendingPathComponent("checkpoint.h5")
        try CheckpointIO.write(Self.sampleContents(seed: 6), to: url)
        guard let (status, output) = try runTool("h5dump", ["-H", url.path]) else { throw XCTSkip("h5dump is not installed") }
        XCTAssertEqual(status, 0, output)
        for expected in ["GROUP \"arrays\"", "GROUP \"weights\"", "DATASET \"conv1.weight\"", "DATASET \"fc.bias\"",
                         "GROUP \"integers\"", "DATASET \"epoch\"", "GROUP \"words\"", "GROUP \"rng\"", "DATASET \"state\"",
                         "ATTRIBUTE \"format\"", "DATASPACE  SIMPLE { ( 16, 3, 3, 3 ) / ( 16, 3, 3, 3 ) }"] {
            XCTAssertTrue(output.contains(expected), "missing \(expected) in\n\(output)")
        }
    }
}
