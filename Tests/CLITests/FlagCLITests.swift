// Every bad flag refused where it is declared, before any work: non-finite and out-of-range numbers,
// `--resume` with a changed option or fewer epochs than finished, a search over degrees no plan can
// hold; `export --force` into anything but a plan; a plan run against a dataset of another class count.
import Foundation
import TestSupport
import XCTest

final class FlagCLITests: XCTestCase {
    var directory: URL!
    var sibyl: URL!

    override func setUpWithError() throws {
        sibyl = try ExportCLITests.requireBinary()
        directory = try makeTemporaryDirectory("flag-cli")
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    @discardableResult
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runProcess(sibyl, arguments, in: directory)
    }

    func path(_ relative: String) -> String { directory.appendingPathComponent(relative).path }

    func assertRefused(_ arguments: [String], _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run(arguments)
        XCTAssertNotEqual(result.status, 0, result.output, file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(result.output.contains(fragment), "'\(fragment)' not in: \(result.output)", file: file, line: line)
        }
    }

    func testNumbersAreFiniteAndInRange() throws {
        let train = ["train", "--model", "tiny", "--dataset", "synthetic", "--epochs", "1", "--out", path("run")]
        try assertRefused(train + ["--lr", "inf"], ["--lr", "not a finite number"])
        try assertRefused(train + ["--lr", "nan"], ["--lr", "not a finite number"])
        try assertRefused(train + ["--lr=-0.1"], ["--lr", "above 0"])
        try assertRefused(train + ["--momentum", "5"], ["--momentum", "[0, 1)"])
        try assertRefused(train + ["--weight-decay=-1"], ["--weight-decay", "at least 0"])
        try assertRefused(train + ["--label-smoothing", "1"], ["--label-smoothing", "[0, 1)"])
        try assertRefused(train + ["--clip-norm", "inf"], ["--clip-norm"])
        try assertRefused(train + ["--activation", "poly:9"], ["--activation", "poly:D", "1...6"])
        try assertRefused(train + ["--activation", "gelu"], ["--activation"])
        try assertRefused(train + ["--poly-range", "3"], ["--poly-range", "poly:D only"])
        try assertRefused(train + ["--activation", "poly:4", "--poly-range", "0"], ["--poly-range", "above 0"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("run")), "a refused run left a directory")
        let plan = ["plan", "--baseline", path("none.h5"), "--budget-epochs", "1", "--max-relus", "0", "--out", path("p")]
        try assertRefused(plan + ["--distill", "2"], ["--distill", "[0, 1]"])
        try assertRefused(["plan", "--baseline", path("none.h5"), "--budget-epochs", "inf", "--max-relus", "0", "--out", path("p")],
                          ["--budget-epochs"])
        try assertRefused(plan + ["--range-penalty", "nan"], ["--range-penalty"])
        try assertRefused(["serve", path("none"), "--timeout", "0"], ["--timeout", "above 0"])
        try assertRefused(["query", "--cifar-index", "0", "--timeout=-1"], ["--timeout"])
    }

    /// Named choices are enums parsed where the flag is declared: ArgumentParser names the flag and the
    /// allowed values; case does not matter.
    func testNamedChoicesAreEnums() throws {
        try assertRefused(["train", "--model", "vgg", "--out", path("run")], ["'vgg' is invalid for '--model", "resnet32"])
        try assertRefused(["train", "--dataset", "mnist", "--out", path("run")], ["'mnist' is invalid for '--dataset", "cifar100"])
        try assertRefused(["train", "--schedule", "linear", "--out", path("run")], ["--schedule", "onecycle"])
        try assertRefused(["plan", "--baseline", path("none.h5"), "--budget-epochs", "1", "--max-relus", "0", "--out", path("p"),
                           "--pinned", "middle"], ["--pinned", "first,last"])
        try assertRefused(["plan", "--baseline", path("none.h5"), "--budget-epochs", "1", "--max-relus", "0", "--out", path("p"),
                           "--polynomial-init", "random"], ["--polynomial-init", "fitted"])
        try assertRefused(["evaluate", path("none"), "--dataset", "imagenet"], ["--dataset", "synthetic"])
        try assertRefused(["bench", "train", "--model", "alexnet"], ["--model"])
        try assertRefused(["evaluate", path("none"), "--network", "moon"], ["'moon' is invalid for '--network", "loopback"])
        try assertRefused(["test", "--plan", path("none"), "--split", "train"], ["'train' is invalid for '--split", "validation"])
        try assertRefused(["export", "--checkpoint", path("none.h5"), "--out", path("e"), "--accuracy-split", "all"],
                          ["--accuracy-split", "validation"])
        try assertRefused(["plan", "--baseline", path("none.h5"), "--budget-epochs", "1", "--target-latency", "1", "--out", path("p"),
                           "--latency-phase", "offline"], ["--latency-phase", "total"])
        try assertRefused(["plan", "--baseline", path("none.h5"), "--budget-epochs", "1", "--target-latency", "1", "--out", path("p"),
                           "--relu", "silent"], ["--relu", "garbled"])
        try assertRefused(["plan", "--baseline", path("none.h5"), "--budget-epochs", "1", "--max-relus", "0", "--out", path("p"),
                           "--relu", "ot"], ["only apply to --target-latency"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("run")))
        // Case-insensitive: this run gets past parsing (and stops at the missing baseline).
        try assertRefused(["plan", "--baseline", path("none.h5"), "--budget-epochs", "1", "--max-relus", "0", "--out", path("p"),
                           "--dataset", "CIFAR100", "--pinned", "NONE"], ["--baseline"])
    }

    /// `sibyl import` and `sibyl export --onnx`: flags that cannot go together, bad values, a file that is not ONNX.
    func testOnnxFlags() throws {
        try assertRefused(["import", path("m.onnx")], ["--out"])
        try assertRefused(["import", path("m.onnx"), "--out", path("o"), "--mean", "0.5,0.5,0.5"], ["--mean and --std together"])
        try assertRefused(["import", path("m.onnx"), "--out", path("o"), "--mean", "0.5,0.5", "--std", "1,1,1"], ["--mean"])
        try assertRefused(["import", path("m.onnx"), "--out", path("o"), "--mean", "0,0,0", "--std", "1,0,1"], ["--std", "above 0"])
        try assertRefused(["import", path("m.onnx"), "--out", path("o"), "--normalization", "imagenet"], ["--normalization", "dataset"])
        try assertRefused(["import", path("m.onnx"), "--out", path("o"), "--normalization", "dataset"], ["m.onnx", "cannot be read"])
        try Data("not a protobuf at all".utf8).write(to: directory.appendingPathComponent("bad.onnx"))
        try assertRefused(["import", path("bad.onnx"), "--out", path("o"), "--normalization", "dataset"],
                          ["bad.onnx", "not a readable ONNX model", "onnx.checker"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o")), "a refused import left a directory")
        try assertRefused(["export", "--onnx", path("x.onnx")], ["--checkpoint FILE or --plan DIR"])
        try assertRefused(["export", "--onnx", path("x.onnx"), "--checkpoint", path("c.h5"), "--out", path("p")], ["no --out"])
        try assertRefused(["export", "--plan", path("p"), "--checkpoint", path("c.h5"), "--out", path("q")], ["--plan DIR", "--onnx"])
        try assertRefused(["test", "--checkpoint", path("c.h5"), "--logits", path("l.npy")], ["--logits apply to --plan only"])
    }

    func testDivergedEpochIsNeverCheckpointed() throws {
        try assertRefused(["train", "--model", "tiny", "--dataset", "synthetic", "--epochs", "2", "--lr", "1e8", "--out", path("run")],
                          ["diverged in epoch 1", "nothing of that epoch was saved"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("run/checkpoint.h5")), "a diverged epoch was checkpointed")
    }

    func testQueryChecksItsImageBeforeConnecting() throws {
        // Nobody listens on the port: a connection attempt would say "refused"; the index is refused first.
        try assertRefused(["query", "--port", "1", "--cifar-index", "999999", "--dataset", "synthetic"],
                          ["--cifar-index 999999 is beyond the"])
        try assertRefused(["query", "--port", "1", "--image", path("missing.png")], ["--image", "cannot be read"])
    }

    func testSearchRefusesDegreesItCannotExport() throws {
        let (status, output) = try PlanCLI.runSibyl(["train", "--model", "tiny", "--dataset", "synthetic", "--epochs", "1",
                                                     "--out", path("base")])
        XCTAssertEqual(status, 0, output)
        try assertRefused(["plan", "--baseline", path("base/checkpoint.h5"), "--dataset", "synthetic", "--budget-epochs", "2",
                           "--max-relus", "0", "--degrees", "7", "--out", path("p")], ["--degrees", "7"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("p/search.jsonl")), "the search started")
    }

    func testResumeRefusesChangedOptionsAndShorterRuns() throws {
        let train = ["train", "--model", "tiny", "--dataset", "synthetic", "--batch-size", "64", "--out", path("run")]
        let first = try run(train + ["--epochs", "2"])
        XCTAssertEqual(first.status, 0, first.output)
        let checkpoint = try Data(contentsOf: URL(fileURLWithPath: path("run/checkpoint.h5")))
        try assertRefused(["train", "--model", "tiny", "--dataset", "synthetic", "--batch-size", "32", "--epochs", "3",
                           "--out", path("run"), "--resume"], ["--batch-size 64 (given: 32)", "only --epochs and --threads"])
        try assertRefused(train + ["--epochs", "3", "--lr", "0.05", "--resume"], ["--lr 0.1 (given: 0.05)"])
        try assertRefused(train + ["--epochs", "1", "--resume"], ["--epochs 1 is below the 2 epochs"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("run/checkpoint.h5"))), checkpoint, "a refused resume touched the run")
        let resumed = try run(train + ["--epochs", "3", "--threads", "1", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("after epoch 2 of 3"), resumed.output)
    }

    func testExportForceNeverRemovesWhatIsNotAPlan() throws {
        let train = try run(["train", "--model", "tiny", "--dataset", "synthetic", "--epochs", "1", "--out", path("run")])
        XCTAssertEqual(train.status, 0, train.output)
        let export = ["export", "--checkpoint", path("run/checkpoint.h5"), "--calibration-images", "32", "--accuracy-images", "50"]
        // A folder of the user's, the folder holding the plans, and the working directory itself.
        try FileManager.default.createDirectory(atPath: path("Plans/mine"), withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: URL(fileURLWithPath: path("Plans/mine/notes.txt")))
        let first = try run(export + ["--out", path("Plans/tiny")])
        XCTAssertEqual(first.status, 0, first.output)
        let before = try FileManager.default.subpathsOfDirectory(atPath: directory.path).sorted()
        for out in [path("Plans/mine"), path("Plans"), "."] {
            try assertRefused(export + ["--out", out, "--force"], ["only an existing Sibyl plan", "Nothing was removed"])
        }
        XCTAssertEqual(try FileManager.default.subpathsOfDirectory(atPath: directory.path).sorted(), before)
        // An existing plan is replaced, and nothing else appears beside it.
        let again = try run(export + ["--out", path("Plans/tiny"), "--force"])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("Plans")).sorted(), ["mine", "tiny"])
        let inspect = try run(["inspect", path("Plans/tiny")])
        XCTAssertTrue(inspect.output.contains("integrity         verified"), inspect.output)
        XCTAssertTrue(inspect.output.contains("recorded at export"), inspect.output)
        // Upgrading a plan in place keeps it readable.
        let upgrade = try run(["export", "--upgrade", path("Plans/tiny")])
        XCTAssertEqual(upgrade.status, 0, upgrade.output)
        try assertRefused(["export", "--upgrade", path("Plans/mine")], ["plan.json", "no such file"])
    }

    /// A plan made for one dataset, evaluated against another: refused with both class counts named.
    /// Needs CIFAR-100 (the repository's Datasets/ or ../shared's archive); CI has it.
    func testPlanOfAnotherDatasetIsRefused() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = root.appendingPathComponent("Datasets")
        let shared = root.deletingLastPathComponent().appendingPathComponent("shared/datasets/cifar-100-binary.tar.gz")
        guard FileManager.default.fileExists(atPath: data.appendingPathComponent("cifar-100-binary/test.bin").path)
                || FileManager.default.fileExists(atPath: shared.path) else {
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("CIFAR-100 is not available under CI") }
            throw XCTSkip("CIFAR-100 not available")
        }
        let train = try run(["train", "--model", "tiny", "--dataset", "synthetic", "--epochs", "1", "--out", path("run")])
        XCTAssertEqual(train.status, 0, train.output)
        let export = try run(["export", "--checkpoint", path("run/checkpoint.h5"), "--out", path("Plans/tiny"),
                              "--calibration-images", "32", "--accuracy-images", "50"])
        XCTAssertEqual(export.status, 0, export.output)
        for command in [["evaluate", path("Plans/tiny"), "--images", "1"], ["test", "--plan", path("Plans/tiny"), "--images", "10"]] {
            try assertRefused(command + ["--dataset", "cifar100", "--data-dir", data.path],
                              ["classifies 10 classes but --dataset cifar100 has 100"])
        }
        // The client refuses it right after the server's hello, before the server sets up a session.
        let server = try ServerProcess(sibyl: sibyl, plan: path("Plans/tiny"), arguments: ["--connections", "1"], directory: directory)
        defer { server.stop() }
        try assertRefused(["query", "--port", "\(server.port)", "--cifar-index", "0", "--dataset", "cifar100", "--data-dir", data.path],
                          ["classifies 10 classes but --dataset cifar100 has 100"])
        XCTAssertTrue(ServerProcess.waitFor(seconds: 20) { !server.process.isRunning }, server.log)
        XCTAssertTrue(server.log.contains("dropped in the handshake"), server.log)
        XCTAssertFalse(server.log.contains("session dropped") || server.log.contains("served"), server.log)
    }
}
