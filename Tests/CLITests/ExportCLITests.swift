// End-to-end tests of `sibyl export`, `sibyl inspect` and `sibyl test --plan` through the built binary:
// train a tiny net on synthetic data, export it, inspect it, re-measure it; and the errors a user meets
// (missing checkpoint, corrupt plan.json, truncated weights.h5, an existing plan), each a non-zero exit
// with a message naming the file, with nothing overwritten.
import Foundation
import XCTest
import TestSupport

final class ExportCLITests: XCTestCase {
    /// The sibyl binary: $SIBYL_BINARY, next to the test bundle, or .build/release/sibyl in the package.
    static func binary() -> URL? {
        var candidates: [URL] = []
        if let path = ProcessInfo.processInfo.environment["SIBYL_BINARY"] { candidates.append(URL(fileURLWithPath: path)) }
        if let executable = Bundle.main.executableURL {
            candidates.append(executable.deletingLastPathComponent().appendingPathComponent("sibyl"))
        }
        for bundle in Bundle.allBundles {
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("sibyl"))
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/release/sibyl"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    var directory: URL!
    var sibyl: URL!

    /// The binary, or a skip when it was not built; under CI (`make test` builds it first) a missing
    /// binary is a failure, not a skip.
    static func requireBinary() throws -> URL {
        if let binary = binary() { return binary }
        let message = "sibyl binary not found (build it with `swift build -c release --product sibyl` or set SIBYL_BINARY)"
        if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail(message) }
        throw XCTSkip(message)
    }

    override func setUpWithError() throws {
        sibyl = try Self.requireBinary()
        // A fresh directory of this test's own: tearDown removes it, so it must never be a shared folder.
        directory = try makeTemporaryDirectory("export-cli")
        for command in ["export", "inspect"] {
            let help = try run([command, "--help"])
            XCTAssertEqual(help.status, 0, "\(sibyl.path) has no `\(command)` command: \(help.output)")
        }
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    /// Runs sibyl in the temporary directory; returns the exit status and stdout + stderr.
    @discardableResult
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runProcess(sibyl, arguments, in: directory)
    }

    func path(_ relative: String) -> String { directory.appendingPathComponent(relative).path }

    /// Whether `sibyl test` takes --plan (TestCommand wires it to runPlanTest).
    func supportsPlanTest() throws -> Bool { try run(["test", "--help"]).output.contains("--plan") }

    /// Trains the tiny net for one epoch on synthetic data and exports it to Plans/tiny.
    func trainAndExport() throws {
        let train = try run(["train", "--model", "tiny", "--dataset", "synthetic", "--epochs", "1", "--out", path("run")])
        XCTAssertEqual(train.status, 0, train.output)
        let export = try run(["export", "--checkpoint", path("run/checkpoint.h5"), "--out", path("Plans/tiny"),
                              "--calibration-images", "64", "--accuracy-images", "200"])
        XCTAssertEqual(export.status, 0, export.output)
    }

    func testTrainExportInspectAndTestAgree() throws {
        try trainAndExport()
        let inspect = try run(["inspect", path("Plans/tiny"), "--json"])
        XCTAssertEqual(inspect.status, 0, inspect.output)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(inspect.output.utf8)) as? [String: Any], inspect.output)
        XCTAssertEqual(summary["relus"] as? Int, 8 * 32 * 32 + 16 * 8 * 8)
        XCTAssertEqual(summary["activation_slots"] as? Int, 2)
        XCTAssertEqual(summary["polynomial_slots"] as? Int, 0)
        XCTAssertEqual(summary["parameters"] as? Int, (8 * 27 + 8) + (16 * 72 + 16) + (10 * 16 + 10))
        let records = try XCTUnwrap(summary["accuracy"] as? [[String: Any]])
        let fixed = try XCTUnwrap(records.first { $0["arithmetic"] as? String == "fixed_point" })
        XCTAssertEqual(fixed["split"] as? String, "test")
        XCTAssertEqual(fixed["images"] as? Int, 200)
        XCTAssertNotNil(records.first { $0["arithmetic"] as? String == "float" })

        XCTAssertTrue(try supportsPlanTest(), "`sibyl test` has no --plan option")
        let test = try run(["test", "--plan", path("Plans/tiny"), "--split", "test", "--images", "200", "--json"])
        XCTAssertEqual(test.status, 0, test.output)
        let measured = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(test.output.utf8)) as? [String: Any], test.output)
        XCTAssertEqual(measured["images"] as? Int, 200)
        XCTAssertEqual(try XCTUnwrap(measured["accuracy"] as? Double), try XCTUnwrap(fixed["top1"] as? Double), accuracy: 1e-12)

        let text = try run(["inspect", path("Plans/tiny")])
        XCTAssertEqual(text.status, 0, text.output)
        XCTAssertTrue(text.output.contains("relus"), text.output)
    }

    func testPolynomialPlacementNeedsTrainedCoefficients() throws {
        try trainAndExport()
        let placement = directory.appendingPathComponent("placement.json")
        try Data(#"{"act2": {"polynomial": {"degree": 2}}}"#.utf8).write(to: placement)
        let result = try run(["export", "--checkpoint", path("run/checkpoint.h5"), "--placement", placement.path,
                              "--out", path("Plans/hybrid")])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("act2") && result.output.contains("coefficients"), result.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("Plans/hybrid")))
    }

    func testMissingCheckpoint() throws {
        let result = try run(["export", "--checkpoint", path("nowhere/checkpoint.h5"), "--out", path("Plans/x")])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains(path("nowhere/checkpoint.h5")), result.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("Plans/x")))
    }

    func testExistingPlanIsNotOverwritten() throws {
        try trainAndExport()
        let manifest = try Data(contentsOf: URL(fileURLWithPath: path("Plans/tiny/plan.json")))
        let again = try run(["export", "--checkpoint", path("run/checkpoint.h5"), "--out", path("Plans/tiny")])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.output.contains("already exists") && again.output.contains("--force"), again.output)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("Plans/tiny/plan.json"))), manifest)
    }

    func testCorruptManifestAndTruncatedWeights() throws {
        try trainAndExport()
        let manifestURL = URL(fileURLWithPath: path("Plans/tiny/plan.json"))
        let original = try Data(contentsOf: manifestURL)
        var commands = [["inspect", path("Plans/tiny")]]
        if try supportsPlanTest() { commands.append(["test", "--plan", path("Plans/tiny"), "--json"]) }
        try original.prefix(original.count / 3).write(to: manifestURL)
        for arguments in commands {
            let result = try run(arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.output.contains(manifestURL.path), result.output)
        }
        try original.write(to: manifestURL)

        let weightsURL = URL(fileURLWithPath: path("Plans/tiny/weights.h5"))
        let weights = try Data(contentsOf: weightsURL)
        try weights.prefix(weights.count / 2).write(to: weightsURL)
        for arguments in commands {
            let result = try run(arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.output.contains(weightsURL.path), result.output)
        }
        XCTAssertEqual(try Data(contentsOf: weightsURL), weights.prefix(weights.count / 2), "a failed read modified the file")
    }
}
