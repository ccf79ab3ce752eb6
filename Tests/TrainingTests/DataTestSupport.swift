// Helpers for the data-pipeline tests (names start with "data" to stay clear of other test files).
import Foundation
import Training
import XCTest
import TestSupport

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
