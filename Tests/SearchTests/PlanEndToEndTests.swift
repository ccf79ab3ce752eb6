import Foundation
import NetworkPlan
import Planner
import Search
import Training
import XCTest

/// Stops a search after `limit` member reports, as a killed process would.
struct KillingExecutor: RoundExecutor {
    struct Killed: Error {}
    let inner: RoundExecutor
    let limit: Int
    final class Counter: @unchecked Sendable { var reports = 0 }
    let counter = Counter()

    func execute(_ tasks: [MemberTask], report: (MemberTask, MemberOutcome) throws -> Void) throws {
        try inner.execute(tasks) { task, outcome in
            guard counter.reports < limit else { throw Killed() }
            counter.reports += 1
            try report(task, outcome)
        }
    }
}

final class PlanEndToEndTests: XCTestCase {
    func request(out: URL, seed: UInt64 = 5) throws -> PlanRequest {
        let (baseline, _) = try SearchFixtures.baseline()
        var options = SearchFixtures.options(seed: seed)
        options.showsProgress = false
        // TinyNet: act1 8,192 and act2 1,024 ReLUs; at most 1,024 forces act1 polynomial.
        return PlanRequest(baseline: baseline.path, dataset: "synthetic", validationCount: 500, population: 4,
                           budgetEpochs: 4, target: .maxReLUs(1024), out: out.path, seed: seed, pinned: .none,
                           costModel: ProvisionalCostModel.standard, options: options)
    }

    func testTinySearchOnSyntheticData() throws {
        let out = SearchFixtures.temporaryDirectory("e2e").appendingPathComponent("plan")
        let started = Date()
        var lines: [String] = []
        let summary = try PlanRun.run(try request(out: out), resume: false) { lines.append($0) }
        let seconds = Date().timeIntervalSince(started)
        print(String(format: "tiny search: %.1f s, %d reports, front %@", seconds, summary.reports.count,
                     summary.front.points.map { String(format: "%.3f@%d", $0.validationAccuracy, $0.relus) }.joined(separator: " ")))
        XCTAssertEqual(summary.settings.rounds, 4)
        XCTAssertEqual(summary.reports.count, 16)
        XCTAssertEqual(lines.filter { $0.hasPrefix("round ") }.count, 16)
        let chosen = try XCTUnwrap(summary.chosen)
        XCTAssertLessThanOrEqual(chosen.relus, 1024)
        XCTAssertGreaterThan(chosen.validationAccuracy, 0.3, "10 classes: well above chance")
        for name in ["search.jsonl", "pareto.json", "pareto.svg", "best.h5", "placement.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }
        // The log replays to the final population and front.
        let replayed = try SearchState.load(url: out.appendingPathComponent("search.jsonl"))
        XCTAssertTrue(replayed.finished)
        XCTAssertEqual(replayed.front, summary.front)
        // best.h5 is the chosen network: its placement and its validation accuracy as reported.
        let slots = try PlanRun.slots(ofBaseline: URL(fileURLWithPath: try request(out: out).baseline))
        let placement = try PlacementFile.read(from: out.appendingPathComponent("placement.json"), slots: slots)
        XCTAssertEqual(placement, chosen.config.placement)
        let (network, _) = try TrainingCheckpoint.loadNetwork(from: out.appendingPathComponent("best.h5"))
        XCTAssertEqual(network.slots.map(\.isReLU), placement.choices.map(\.isReLU))
        XCTAssertTrue(network.slots.allSatisfy { $0.mode == .relu || $0.mode == .polynomial }, "blending finished")
        let (_, splits) = try SearchFixtures.baseline()
        let validation = Evaluation.run(network, images: splits.validation, normalization: splits.normalization)
        XCTAssertEqual(Double(validation.accuracy), chosen.validationAccuracy, accuracy: 1e-9)
        let svg = try String(contentsOf: out.appendingPathComponent("pareto.svg"), encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<?xml") && svg.contains("</svg>"))
    }

    /// `--channels`: the importance is measured once and logged, members split slots by it, the chosen
    /// placement meets the target, best.h5 computes it (split slots included), and a killed run resumes
    /// to the same result without measuring again.
    func testChannelSearchSplitsSlotsAndResumes() throws {
        func channelRequest(_ out: URL) throws -> PlanRequest {
            var r = try request(out: out, seed: 13)
            r.channels = true
            r.channelGroup = 2
            r.target = .maxReLUs(3000)
            return r
        }
        let reference = SearchFixtures.temporaryDirectory("channels").appendingPathComponent("plan")
        var lines: [String] = []
        let full = try PlanRun.run(try channelRequest(reference), resume: false) { lines.append($0) }
        XCTAssertEqual(lines.filter { $0.hasPrefix("channel importance measured") }.count, 1)
        XCTAssertNotNil(full.settings.space.channelImportance)
        let chosen = try XCTUnwrap(full.chosen)
        XCTAssertLessThanOrEqual(chosen.relus, 3000)
        let start = try SearchState.load(url: reference.appendingPathComponent("search.jsonl"))
        XCTAssertTrue((start.front.points.map(\.config) + [chosen.config]).contains { config in
            config.placement.choices.contains { if case .mixed = $0 { true } else { false } }
        }, "some member splits a slot")
        let (network, _) = try TrainingCheckpoint.loadNetwork(from: reference.appendingPathComponent("best.h5"))
        XCTAssertEqual(try NetworkExport.slotChoices(of: network).sorted { $0.key < $1.key }.map(\.value),
                       chosen.config.placement.choices)

        let out = SearchFixtures.temporaryDirectory("channels-killed").appendingPathComponent("plan")
        XCTAssertThrowsError(try PlanRun.run(try channelRequest(out), resume: false, wrap: { KillingExecutor(inner: $0, limit: 6) }))
        lines = []
        let resumed = try PlanRun.run(try channelRequest(out), resume: true) { lines.append($0) }
        XCTAssertEqual(lines.filter { $0.hasPrefix("channel importance measured") }.count, 0, "read back from the log")
        XCTAssertEqual(resumed.front, full.front)
    }

    func testKilledSearchResumesToTheSameResult() throws {
        let reference = SearchFixtures.temporaryDirectory("ref").appendingPathComponent("plan")
        let full = try PlanRun.run(try request(out: reference, seed: 9), resume: false)
        let out = SearchFixtures.temporaryDirectory("killed").appendingPathComponent("plan")
        // Killed after 6 reports: round 1 done, 2 of round 2's members reported.
        XCTAssertThrowsError(try PlanRun.run(try request(out: out, seed: 9), resume: false,
                                             wrap: { KillingExecutor(inner: $0, limit: 6) }))
        XCTAssertThrowsError(try PlanRun.run(try request(out: out, seed: 9), resume: false), "needs --resume")
        // Resuming with other member-training options is refused (they are not in the search settings).
        var changed = try request(out: out, seed: 9)
        changed.options.rangePenaltyWeight += 1
        XCTAssertThrowsError(try PlanRun.run(changed, resume: true)) { error in
            XCTAssertTrue("\(error)".contains("--range-penalty"), "\(error)")
        }
        var trained = 0
        let resumed = try PlanRun.run(try request(out: out, seed: 9), resume: true) { line in
            if line.hasPrefix("round ") { trained += 1 }
        }
        XCTAssertEqual(trained, 10, "only the 10 unfinished member rounds run again")
        XCTAssertEqual(resumed.front, full.front)
        XCTAssertEqual(resumed.chosen, full.chosen)
        let a = try SearchState.load(url: reference.appendingPathComponent("search.jsonl"))
        let b = try SearchState.load(url: out.appendingPathComponent("search.jsonl"))
        XCTAssertEqual(a.configs, b.configs)
    }

    func testAnnealEndsTheSearchAndResumesFromItsLastEpoch() throws {
        XCTAssertEqual(Anneal.learningRate(initial: 0.01, step: 0, total: 10), 0.01, accuracy: 1e-12)
        XCTAssertEqual(Anneal.learningRate(initial: 0.01, step: 5, total: 10), 0.005, accuracy: 1e-12)
        XCTAssertEqual(Anneal.learningRate(initial: 0.01, step: 10, total: 10), 0, accuracy: 1e-12)

        let parent = SearchFixtures.temporaryDirectory("anneal")
        let full = parent.appendingPathComponent("full")
        var request = try request(out: full, seed: 6)
        request.annealEpochs = 2
        let snapshot = parent.appendingPathComponent("after-epoch-1")
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        var lines: [String] = []
        let summary = try PlanRun.run(request, resume: false) { line in
            lines.append(line)
            if line.hasPrefix("anneal epoch 1/2") {
                // What a search killed during the second anneal epoch leaves behind.
                for name in [Anneal.logName, Anneal.checkpointName] {
                    try? FileManager.default.copyItem(at: full.appendingPathComponent(name),
                                                      to: snapshot.appendingPathComponent(name))
                }
            }
        }
        let chosen = try XCTUnwrap(summary.chosen)
        let annealed = try XCTUnwrap(summary.annealed)
        XCTAssertEqual(annealed.epoch, 2)
        XCTAssertEqual(annealed.member, chosen.member)
        XCTAssertEqual(annealed.initialLearningRate, chosen.config.hyperParameters.learningRate)
        XCTAssertEqual(lines.filter { $0.hasPrefix("anneal epoch") }.count, 2)
        let records = try Anneal.readRecords(full.appendingPathComponent(Anneal.logName))
        XCTAssertEqual(records.map(\.epoch), [1, 2])
        // best.h5 is the annealed network, with the chosen placement.
        let (_, splits) = try SearchFixtures.baseline()
        let (network, _) = try TrainingCheckpoint.loadNetwork(from: full.appendingPathComponent("best.h5"))
        XCTAssertEqual(network.slots.map(\.isReLU), chosen.config.placement.choices.map(\.isReLU))
        let validation = Evaluation.run(network, images: splits.validation, normalization: splits.normalization)
        XCTAssertEqual(Double(validation.accuracy), annealed.validationAccuracy, accuracy: 1e-9)

        // Resuming a finished run trains nothing and keeps the annealed best.h5.
        let before = try Data(contentsOf: full.appendingPathComponent("best.h5"))
        var again: [String] = []
        let resumed = try PlanRun.run(request, resume: true) { again.append($0) }
        XCTAssertFalse(again.contains { $0.hasPrefix("round ") || $0.hasPrefix("anneal epoch") }, "\(again)")
        XCTAssertEqual(resumed.annealed, annealed)
        XCTAssertEqual(try Data(contentsOf: full.appendingPathComponent("best.h5")), before)

        // Killed after the first anneal epoch: the resumed run trains only the second, to the same network.
        let killed = parent.appendingPathComponent("killed")
        try FileManager.default.copyItem(at: full, to: killed)
        for name in [Anneal.logName, Anneal.checkpointName, "best.h5"] {
            try FileManager.default.removeItem(at: killed.appendingPathComponent(name))
        }
        for name in [Anneal.logName, Anneal.checkpointName] {
            try FileManager.default.copyItem(at: snapshot.appendingPathComponent(name),
                                             to: killed.appendingPathComponent(name))
        }
        var continued: [String] = []
        var killedRequest = request
        killedRequest.out = killed.path
        let finished = try PlanRun.run(killedRequest, resume: true) { continued.append($0) }
        XCTAssertEqual(continued.filter { $0.hasPrefix("anneal epoch") }.count, 1, "\(continued)")
        XCTAssertEqual(finished.annealed?.validationAccuracy, annealed.validationAccuracy)
        XCTAssertEqual(finished.annealed?.trainLoss, annealed.trainLoss)
    }
}
