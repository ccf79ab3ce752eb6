// HDF5File: every element kind round-trips with its shape (scalars, empty and nested), strings and
// attributes, recursive listing, and clear errors for wrong kinds, bad names and conflicts.
import Foundation
import PlanStore
import XCTest
import TestSupport

final class HDF5FileTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory("h5") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func roundTrip<T: HDF5Element & Equatable>(_ values: [T], shape: [Int], name: String, in file: HDF5File,
                                                       line: UInt = #line) throws {
        try file.write(values, shape: shape, to: name)
        let (readShape, readValues) = try file.read(T.self, from: name)
        XCTAssertEqual(readShape, shape, "shape of \(name)", line: line)
        XCTAssertEqual(readValues, values, "values of \(name)", line: line)
        let info = try file.info(of: name)
        XCTAssertEqual(info.kind, T.hdf5Kind, line: line)
        XCTAssertEqual(info.shape, shape, line: line)
        XCTAssertFalse(info.isString, line: line)
    }

    func testEveryElementKindRoundTripsWithShapes() throws {
        let seed: UInt64 = 0x4844_4635
        var random = SplitMix64(seed: seed)
        let url = directory.appendingPathComponent("kinds.h5")
        let file = try HDF5File(creating: url)
        let floats = (0..<24).map { _ in Float.random(in: -10...10, using: &random) }
        try roundTrip(floats, shape: [2, 3, 4], name: "f32/a", in: file)
        try roundTrip((0..<5).map { _ in Double.random(in: -1...1, using: &random) }, shape: [5], name: "f64", in: file)
        try roundTrip((0..<6).map { _ in Int8.random(in: .min ... .max, using: &random) }, shape: [3, 2], name: "i8", in: file)
        try roundTrip((0..<7).map { _ in UInt8.random(in: .min ... .max, using: &random) }, shape: [7], name: "u8", in: file)
        try roundTrip((0..<4).map { _ in Int32.random(in: .min ... .max, using: &random) }, shape: [4], name: "g/i32", in: file)
        try roundTrip([Int64.min, -1, 0, Int64.max], shape: [2, 2], name: "i64", in: file)
        try roundTrip([UInt64.max, 0, 0x0123_4567_89AB_CDEF], shape: [3], name: "u64", in: file)
        try roundTrip([Float(3.5)], shape: [], name: "scalar", in: file)
        try roundTrip([Float](), shape: [0], name: "empty/zero", in: file)
        try roundTrip([Int64](), shape: [2, 0, 3], name: "empty/zero3", in: file)
        XCTAssertEqual(try file.readScalar(Float.self, from: "scalar"), 3.5)
        try file.close()

        // Values survive closing and reopening.
        let reopened = try HDF5File(opening: url)
        XCTAssertEqual(try reopened.read(Float.self, from: "f32/a").values, floats, "seed \(seed)")
        XCTAssertEqual(try reopened.read(Int64.self, from: "empty/zero3").shape, [2, 0, 3])
    }

    func testNestedGroupsAndListing() throws {
        let url = directory.appendingPathComponent("nested.h5")
        let file = try HDF5File(creating: url)
        try file.write([Float(1)], shape: [1], to: "a/b/c/deep")
        try file.write([Float(2)], shape: [1], to: "/a/b/sibling")
        try file.write([UInt8(3)], shape: [1], to: "top")
        try file.write(string: "hello", to: "a/text")
        XCTAssertEqual(try file.datasetNames(), ["a/b/c/deep", "a/b/sibling", "a/text", "top"])
        XCTAssertTrue(try file.contains("a/b"))
        XCTAssertFalse(try file.contains("a/x"))
        XCTAssertFalse(try file.contains("nothing/here"))
        // Rewriting a dataset replaces it, even with another shape.
        try file.write([Float(4), 5], shape: [2], to: "a/b/sibling")
        XCTAssertEqual(try file.read(Float.self, from: "a/b/sibling").values, [4, 5])
    }

    func testStringsAndAttributes() throws {
        let url = directory.appendingPathComponent("strings.h5")
        let file = try HDF5File(creating: url)
        let json = #"{"model":"resnet32","lr":0.1,"note":"Grüße, 模型"}"#
        try file.write(string: json, to: "config/json")
        try file.write(string: "", to: "config/empty")
        try file.setAttribute("format", to: "test-format")
        try file.setAttribute("unit", to: "pixels", on: "config/json")
        try file.setAttribute("format", to: "test-format-2")
        try file.close()

        let reopened = try HDF5File(opening: url)
        XCTAssertEqual(try reopened.readString(from: "config/json"), json)
        XCTAssertEqual(try reopened.readString(from: "config/empty"), "")
        XCTAssertEqual(try reopened.attribute("format"), "test-format-2")
        XCTAssertEqual(try reopened.attribute("unit", on: "config/json"), "pixels")
        XCTAssertNil(try reopened.attribute("absent"))
        XCTAssertTrue(try reopened.info(of: "config/json").isString)
    }

    func testWrongKindsNamesAndConflictsAreClearErrors() throws {
        let url = directory.appendingPathComponent("errors.h5")
        let file = try HDF5File(creating: url)
        try file.write([Float(1), 2], shape: [2], to: "w")
        try file.write(string: "s", to: "text")

        func expect(_ body: () throws -> Void, line: UInt = #line, _ check: (PlanStoreError) -> Bool) {
            do {
                try body()
                XCTFail("expected an error", line: line)
            } catch let error as PlanStoreError {
                XCTAssertTrue(check(error), "unexpected \(error)", line: line)
                XCTAssertEqual(error.path, url.path, line: line)
                XCTAssertTrue(error.description.contains(url.path), line: line)
            } catch {
                XCTFail("not a PlanStoreError: \(error)", line: line)
            }
        }
        expect({ _ = try file.read(Int64.self, from: "w") }) { if case .wrongKind = $0 { return true }; return false }
        expect({ _ = try file.read(Float.self, from: "text") }) { if case .wrongKind = $0 { return true }; return false }
        expect({ _ = try file.readString(from: "w") }) { if case .wrongKind = $0 { return true }; return false }
        expect({ _ = try file.read(Float.self, from: "missing/x") }) { if case .missingObject = $0 { return true }; return false }
        expect({ try file.write([Float(1)], shape: [1], to: "w/child") }) { if case .nameConflict = $0 { return true }; return false }
        expect({ try file.write([Float(1)], shape: [1], to: "a//b") }) { if case .invalidName = $0 { return true }; return false }
        expect({ try file.write([Float(1)], shape: [1], to: "a/../b") }) { if case .invalidName = $0 { return true }; return false }
        expect({ try file.write([Float(1)], shape: [1], to: "") }) { if case .invalidName = $0 { return true }; return false }
        expect({ try file.write([Float(1), 2, 3], shape: [2, 2], to: "bad") }) { if case .invalidValue = $0 { return true }; return false }
        expect({ try file.write([Float](), shape: [-1], to: "neg") }) { if case .invalidValue = $0 { return true }; return false }
        expect({ try file.write(string: "a\u{0}b", to: "nul") }) { if case .invalidValue = $0 { return true }; return false }
        try file.write([Float(1)], shape: [1], to: "g/x")
        expect({ try file.write([Float(1)], shape: [1], to: "g") }) { if case .nameConflict = $0 { return true }; return false }
        try file.close()
        expect({ _ = try file.read(Float.self, from: "w") }) { if case .hdf5 = $0 { return true }; return false }
    }

    func testOpeningMissingAndForeignFiles() throws {
        let missing = directory.appendingPathComponent("nope.h5")
        XCTAssertThrowsError(try HDF5File(opening: missing)) { error in
            XCTAssertEqual(error as? PlanStoreError, .fileNotFound(path: missing.path))
        }
        let text = directory.appendingPathComponent("text.h5")
        try Data("not hdf5 at all".utf8).write(to: text)
        XCTAssertThrowsError(try HDF5File(opening: text)) { error in
            guard case .corruptFile(let path, _)? = error as? PlanStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, text.path)
        }
        XCTAssertThrowsError(try HDF5File(creating: directory.appendingPathComponent("no/such/dir/x.h5"))) { error in
            guard case .io? = error as? PlanStoreError else { return XCTFail("\(error)") }
        }
    }

    func testConcurrentUseFromManyThreadsIsSerialised() throws {
        let base = directory!
        let failures = FailureLog()
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            do {
                let url = base.appendingPathComponent("thread-\(index).h5")
                let file = try HDF5File(creating: url)
                for step in 0..<20 {
                    let values = (0..<100).map { Float($0 * step + index) }
                    try file.write(values, shape: [10, 10], to: "t\(index)/s\(step)")
                    if try file.read(Float.self, from: "t\(index)/s\(step)").values != values { failures.add("thread \(index) step \(step)") }
                }
                try file.close()
            } catch {
                failures.add("thread \(index): \(error)")
            }
        }
        XCTAssertEqual(failures.all, [])
    }

    func testH5DumpReadsTheFile() throws {
        let url = directory.appendingPathComponent("dump.h5")
        let file = try HDF5File(creating: url)
        try file.write([Float(1), 2, 3, 4], shape: [2, 2], to: "layer1/weight")
        try file.write([Int64(-7)], shape: [1], to: "fixed/layer1/weight")
        try file.write(string: "plan", to: "meta/name")
        try file.close()
        guard let (status, output) = try runTool("h5dump", [url.path]) else { throw XCTSkip("h5dump is not installed") }
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("DATASET \"weight\""), output)
        XCTAssertTrue(output.contains("H5T_IEEE_F32LE"), output)
        XCTAssertTrue(output.contains("H5T_STD_I64LE"), output)
        XCTAssertTrue(output.contains("\"plan\""), output)
        XCTAssertTrue(output.contains("(1,0): 3, 4"), output)
    }
}

/// Collects failure messages from concurrent work.
final class FailureLog: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ message: String) { lock.lock(); messages.append(message); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return messages }
}
