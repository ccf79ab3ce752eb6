// A short fuzz run in every `make test`: each decoder over the committed corpus
// (Experiments/reliability/corpus, seeded from Experiments/reliability/fuzz-plan), mutated with a fixed
// seed. A crash fails the whole test process and a hang the bounded run time; the decoders' frame limits
// themselves are tested against a hostile peer (ServeAdmissionTests, ChannelFaultTests). The long run is
// `make bench` (Experiments/reliability/README.md).
import Foundation
import PlanStore
import SecureInference
import Transport
import XCTest

final class DecoderFuzzTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Experiments/reliability")

    func testDecodersSurviveMutatedInputs() throws {
        let plan = try PlanFiles.read(from: Self.root.appendingPathComponent("fuzz-plan"))
        let program = try FixedPointCompiler.compile(graph: plan.manifest.graph, weights: plan.weights,
                                                     activations: plan.manifest.activations, coefficients: plan.coefficients,
                                                     fixedPoint: plan.manifest.fixedPoint)
        let corpus = Self.root.appendingPathComponent("corpus")
        var total = 0
        for target in try DecoderFuzzer.targets(program: program) {
            let inputs = try FuzzCorpus.load(target: target.name, from: corpus)
            XCTAssertFalse(inputs.isEmpty, "no committed corpus for \(target.name) in \(corpus.path)")
            let report = DecoderFuzzer.run(target, corpus: inputs, executions: 3000, seconds: 20, seed: 17)
            XCTAssertGreaterThan(report.executions, 0)
            XCTAssertGreaterThan(report.rejected, report.executions / 10, "\(target.name): mutations should mostly be rejected")
            total += report.executions
        }
        XCTAssertGreaterThan(total, 0)
    }

    func testMutatedSeedsReachNewOutcomes() throws {
        // The feedback works: a valid frame stream mutated reaches several distinct errors.
        let stream = FrameHeader(type: 0x5180, length: 0).encoded() + FrameHeader(type: 0x5181, length: 3).encoded() + [1, 2, 3]
        let target = DecoderFuzzer.Target(name: "header") { bytes in
            _ = try Array(bytes.prefix(Framing.headerSize)).withUnsafeBytes { try FrameHeader.decode($0, maxLength: 1 << 20) }
        }
        let report = DecoderFuzzer.run(target, corpus: [stream], executions: 2000, seed: 3)
        XCTAssertGreaterThanOrEqual(report.distinctOutcomes, 3, "\(report)")
    }

    func testServerLogIsRateLimited() {
        let lines = LockedLines()
        let log = RateLimitedLog(burst: 5, perSecond: 1) { lines.append($0) }
        for i in 0..<1000 { log("line \(i)") }
        XCTAssertEqual(lines.all.count, 5, "\(lines.all)")
        usleep(1_200_000)
        log("later")
        XCTAssertEqual(lines.all.count, 6)
        XCTAssertTrue(lines.all.last!.contains("(995 log lines suppressed) later"), lines.all.last!)
    }
}

final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}
