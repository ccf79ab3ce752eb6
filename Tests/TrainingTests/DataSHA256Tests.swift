// SHA-256 against the NIST example vectors (FIPS 180-4 examples, SHA256.pdf) and the system sha256sum.
import Foundation
import PlanStore
import Training
import XCTest
import TestSupport

final class DataSHA256Tests: XCTestCase {
    private func hex(_ text: String) -> String { SHA256.hex(of: Data(text.utf8)) }

    func testNISTExampleVectors() {
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    func testMillionA() {
        XCTAssertEqual(SHA256.hex(of: Data(repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testIncrementalUpdatesMatchOneShotAtEveryBoundary() {
        let seed: UInt64 = 0x5A5A
        var random = DataRandom(seed: seed)
        let bytes = (0..<300).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let whole = SHA256.hex(of: Data(bytes))
        for cut in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 200, 299, 300] {
            var hasher = SHA256()
            hasher.update(bytes[..<cut])
            hasher.update(bytes[cut...])
            XCTAssertEqual(hasher.hexDigest(), whole, "cut \(cut), seed \(seed)")
        }
        var byteByByte = SHA256()
        for byte in bytes { byteByByte.update([byte]) }
        XCTAssertEqual(byteByByte.hexDigest(), whole)
    }

    func testAgreesWithSystemSha256sum() throws {
        let seed: UInt64 = 99
        var random = DataRandom(seed: seed)
        let directory = try makeTemporaryDirectory("sha")
        defer { try? FileManager.default.removeItem(at: directory) }
        for length in [0, 1, 63, 64, 1000, 123_457] {
            let url = directory.appendingPathComponent("f\(length)")
            try Data((0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }).write(to: url)
            guard let (status, output) = try runTool("/usr/bin/sha256sum", [url.path]) else { throw XCTSkip("sha256sum missing") }
            XCTAssertEqual(status, 0)
            XCTAssertEqual(try SHA256.hex(ofFile: url), String(output.prefix(64)), "length \(length), seed \(seed)")
        }
    }
}
