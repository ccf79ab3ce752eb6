// Helpers for the data-pipeline tests (names start with "data" to stay clear of other test files).
import Foundation
import Training
import XCTest

/// A fresh empty directory under the system temporary directory.
func dataTemporaryDirectory(_ tag: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("sibyl-data-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The repository root (this file is Tests/TrainingTests/DataTestSupport.swift).
func dataRepositoryRoot() -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Random images with random labels in `0..<classCount`.
func dataRandomImages(count: Int, classCount: Int, seed: UInt64) -> ImageSet {
    var random = DataRandom(seed: seed)
    let pixels = (0..<(count * ImageSet.imageBytes)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    let labels = (0..<count).map { _ in Int32(random.next(below: classCount)) }
    return ImageSet(count: count, pixels: pixels, labels: labels, classCount: classCount)
}

/// Runs an installed tool; nil when it is not installed.
func dataRunTool(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String)? {
    guard FileManager.default.isExecutableFile(atPath: path) else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Asserts that `body` throws a DataError satisfying `check`, and that its text mentions `mentioning`.
func dataAssertThrows(_ body: () throws -> Void, mentioning: String? = nil, file: StaticString = #filePath, line: UInt = #line,
                      _ check: (DataError) -> Bool) {
    do {
        try body()
        XCTFail("expected a DataError", file: file, line: line)
    } catch let error as DataError {
        XCTAssertTrue(check(error), "unexpected \(error)", file: file, line: line)
        if let mentioning { XCTAssertTrue(error.description.contains(mentioning), "\(error) does not mention \(mentioning)", file: file, line: line) }
    } catch {
        XCTFail("not a DataError: \(error)", file: file, line: line)
    }
}
