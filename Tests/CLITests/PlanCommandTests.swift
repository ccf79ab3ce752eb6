import Foundation
import TestSupport
import XCTest

/// Helpers of the plan command tests (namespaced so other CLI test files can have their own).
enum PlanCLI {
    /// Runs the built `sibyl` binary (next to the test bundle) and returns (status, stdout + stderr).
    static func runSibyl(_ arguments: [String], in directory: URL? = nil) throws -> (Int32, String) {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sibyl")
        let (status, output) = try runProcess(binary, arguments, in: directory)
        return (status, output)
    }

    static func temporaryDirectory(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sibyl-cli-\(name)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

final class PlanCommandTests: XCTestCase {
    /// A TinyNet baseline on synthetic data, trained by `sibyl train` (1 epoch).
    func baseline(in directory: URL) throws -> URL {
        let (status, output) = try PlanCLI.runSibyl(["train", "--model", "tiny", "--dataset", "synthetic", "--epochs", "1",
                                             "--batch-size", "64", "--lr", "0.05", "--validation-count", "500",
                                             "--out", directory.appendingPathComponent("base").path])
        XCTAssertEqual(status, 0, output)
        return directory.appendingPathComponent("base/checkpoint.h5")
    }

    func testFlagsAreValidatedWithActionableMessages() throws {
        let directory = PlanCLI.temporaryDirectory("flags")
        let base = try baseline(in: directory)
        let common = ["plan", "--baseline", base.path, "--dataset", "synthetic", "--population", "4",
                      "--budget-epochs", "2", "--out", directory.appendingPathComponent("p").path]
        var (status, output) = try PlanCLI.runSibyl(common)
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("give a target"), output)
        (status, output) = try PlanCLI.runSibyl(common + ["--max-relus", "100", "--target-latency", "1"])
        XCTAssertTrue(status != 0 && output.contains("not both"), output)
        (status, output) = try PlanCLI.runSibyl(common + ["--target-latency", "1", "--network", "moon"])
        XCTAssertTrue(status != 0 && output.contains("The value 'moon' is invalid for '--network"), output)
        // TinyNet pins act1 and act2 by default (first, last): 9,216 ReLUs cannot be removed.
        (status, output) = try PlanCLI.runSibyl(common + ["--max-relus", "100"])
        XCTAssertTrue(status != 0 && output.contains("minimum achievable 9216 ReLUs"), output)
        (status, output) = try PlanCLI.runSibyl(common + ["--target-latency", "0.001", "--pinned", "none"])
        XCTAssertTrue(status != 0 && output.contains("minimum achievable"), output)
        (status, output) = try PlanCLI.runSibyl(["plan", "--baseline", "/nonexistent.h5", "--max-relus", "1", "--budget-epochs", "1",
                                         "--out", directory.path])
        XCTAssertTrue(status != 0 && output.contains("sibyl train"), output)
        (status, output) = try PlanCLI.runSibyl(["front", "/nonexistent-run", "--out", directory.path])
        XCTAssertTrue(status != 0 && output.contains("does not exist"), output)
        (status, output) = try PlanCLI.runSibyl(["front", directory.path, "--out", directory.path])
        XCTAssertTrue(status != 0 && output.contains("no search.jsonl"), output)
    }

    func testWorkersShareTheRunDirectory() throws {
        let directory = PlanCLI.temporaryDirectory("workers")
        let base = try baseline(in: directory)
        let out = directory.appendingPathComponent("plan")
        let (status, output) = try PlanCLI.runSibyl(["plan", "--baseline", base.path, "--dataset", "synthetic", "--population", "4",
                                             "--budget-epochs", "2", "--max-relus", "1024", "--pinned", "none",
                                             "--batch-size", "64", "--validation-count", "500", "--workers", "2",
                                             "--out", out.path])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("chosen: member"), output)
        XCTAssertEqual(output.components(separatedBy: "\n").filter { $0.hasPrefix("round ") }.count, 8, output)
        for round in 1...2 {
            for member in 0..<4 {
                let result = out.appendingPathComponent("tasks/round-\(round)/member-\(member).result.json")
                XCTAssertTrue(FileManager.default.fileExists(atPath: result.path), result.path)
            }
        }
        for name in ["search.jsonl", "pareto.json", "pareto.svg", "best.h5", "placement.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }
        // The chosen checkpoint is a training checkpoint that `sibyl test` reads.
        let (testStatus, testOutput) = try PlanCLI.runSibyl(["test", "--checkpoint", out.appendingPathComponent("best.h5").path,
                                                     "--split", "validation"])
        XCTAssertEqual(testStatus, 0, testOutput)
        // The run and the baseline on one front, with test accuracies.
        let front = directory.appendingPathComponent("front")
        let (frontStatus, frontOutput) = try PlanCLI.runSibyl(["front", out.path, "--out", front.path, "--measure-test"])
        XCTAssertEqual(frontStatus, 0, frontOutput)
        XCTAssertTrue(frontOutput.contains("baseline (all ReLU): validation accuracy"), frontOutput)
        XCTAssertTrue(frontOutput.contains("| ReLUs |"), frontOutput)
        for name in ["front.json", "front.svg", "front.md"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: front.appendingPathComponent(name).path), name)
        }
    }

    func testCalibrateWritesProvisionalAndFittedModels() throws {
        let directory = PlanCLI.temporaryDirectory("calibrate")
        let provisional = directory.appendingPathComponent("provisional.json")
        var (status, output) = try PlanCLI.runSibyl(["calibrate", "--out", provisional.path], in: directory)
        XCTAssertEqual(status, 0, output)
        let model = try JSONSerialization.jsonObject(with: Data(contentsOf: provisional)) as? [String: Any]
        let relu = model?["relu"] as? [String: Double]
        XCTAssertEqual(relu?["bytes"], 16 * 32 + 8)
        let stats = directory.appendingPathComponent("evaluate.json")
        try Data("""
        {"layers": [{"kind": "relu", "elements": 1000, "online_seconds": 0.002, "online_bytes": 400000, "rounds": 1},
                    {"kind": "polynomial", "elements": 500, "online_seconds": 0.0001, "online_bytes": 8000, "rounds": 1},
                    {"kind": "linear", "elements": 0, "online_seconds": 0.03, "online_bytes": 0, "rounds": 0}]}
        """.utf8).write(to: stats)
        let fitted = directory.appendingPathComponent("fitted.json")
        (status, output) = try PlanCLI.runSibyl(["calibrate", "--plan-stats", stats.path, "--out", fitted.path], in: directory)
        XCTAssertEqual(status, 0, output)
        let fit = try JSONSerialization.jsonObject(with: Data(contentsOf: fitted)) as? [String: Any]
        XCTAssertEqual((fit?["relu"] as? [String: Double])?["bytes"], 400)
        XCTAssertEqual((fit?["polynomial"] as? [String: Double])?["bytes"], 16)
        XCTAssertEqual(fit?["linearSeconds"] as? Double, 0.03)
        (status, output) = try PlanCLI.runSibyl(["calibrate", "--from", "/nonexistent.json", "--out", fitted.path])
        XCTAssertTrue(status != 0 && output.contains("does not exist"), output)
    }
}
