import Foundation
import NetworkCost
import NetworkPlan
import Planner
import Search
import Training
import XCTest

final class FrontReportTests: XCTestCase {
    /// A short search on the synthetic data from the shared TinyNet baseline.
    func search(maxReLUs: Int, in parent: URL, name: String) throws -> URL {
        let (baseline, _) = try SearchFixtures.baseline()
        var options = SearchFixtures.options(seed: 4)
        options.showsProgress = false
        let out = parent.appendingPathComponent(name)
        let request = PlanRequest(baseline: baseline.path, dataset: "synthetic", validationCount: 500, population: 2,
                                  budgetEpochs: 2, target: .maxReLUs(maxReLUs), out: out.path, seed: 4, pinned: .none,
                                  costModel: ProvisionalCostModel.standard, options: options)
        _ = try PlanRun.run(request, resume: false)
        return out
    }

    func testFrontOfTwoSearchesAndTheBaseline() throws {
        let parent = SearchFixtures.temporaryDirectory("front")
        // TinyNet: act1 8,192 and act2 1,024 ReLUs. 0: all polynomial; 1,024: act1 polynomial.
        let runs = [try search(maxReLUs: 0, in: parent, name: "none"),
                    try search(maxReLUs: 1024, in: parent, name: "some")]
        var lines: [String] = []
        let result = try FrontReport.build(runs: runs, measureBaseline: true, measureTest: true) { lines.append($0) }
        let front = result.front
        let (baselineURL, splits) = try SearchFixtures.baseline()
        let (baseline, _) = try TrainingCheckpoint.loadNetwork(from: baselineURL)
        let baselineValidation = Evaluation.run(baseline, images: splits.validation, normalization: splits.normalization)
        let baselineTest = Evaluation.run(baseline, images: splits.test, normalization: splits.normalization)

        // Every point of either run's own front that is not beaten by another run's point is on it.
        for run in runs {
            let own = try SearchState.load(url: run.appendingPathComponent("search.jsonl")).front.points
            for point in own {
                let beaten = front.points.contains {
                    $0.validationAccuracy >= point.validationAccuracy && $0.relus <= point.relus
                        && $0.predictedOnlineSeconds <= point.predictedOnlineSeconds
                }
                XCTAssertTrue(beaten, "\(run.lastPathComponent) member \(point.member) is neither on nor beaten")
            }
        }
        // The baseline is measured on the searches' validation split; it stays on the front unless a search
        // beat it (on this tiny network further training often does).
        let reported = try XCTUnwrap(result.reports.last)
        XCTAssertEqual(reported.relus, 8192 + 1024)
        XCTAssertEqual(reported.validationAccuracy, Double(baselineValidation.accuracy), accuracy: 1e-9)
        if let base = front.points.first(where: { $0.source == "baseline" }) {
            XCTAssertEqual(base.placement, "RR")
            XCTAssertEqual(base.validationAccuracy, Double(baselineValidation.accuracy), accuracy: 1e-9)
            XCTAssertEqual(try XCTUnwrap(base.testAccuracy), Double(baselineTest.accuracy), accuracy: 1e-9)
        } else {
            XCTAssertTrue(front.points.contains { $0.validationAccuracy >= reported.validationAccuracy })
        }
        // A searched point's test accuracy is its own checkpoint's.
        for point in front.points where point.source != "baseline" {
            let run = runs.first { $0.lastPathComponent == point.source }!
            let checkpoint = PopulationRunner.frontCheckpointURL(in: run, member: point.member!, round: point.round!)
            let (network, _) = try TrainingCheckpoint.loadNetwork(from: checkpoint)
            let test = Evaluation.run(network, images: splits.test, normalization: splits.normalization)
            XCTAssertEqual(try XCTUnwrap(point.testAccuracy), Double(test.accuracy), accuracy: 1e-9)
            XCTAssertEqual(network.slots.map { $0.isReLU ? "R" : "2" }.joined(), point.placement)
        }
        let perRun = try runs.map { try ReportedPoint.all(in: $0.appendingPathComponent("search.jsonl")).count }
        XCTAssertEqual(result.reports.count, perRun.reduce(0, +) + 1, "every search's reports and the baseline")
        XCTAssertEqual(lines.first { $0.hasPrefix("baseline") }.map { _ in true }, true)

        let out = parent.appendingPathComponent("front")
        try FrontReport.write(result, to: out, title: "test")
        let decoded = try JSONDecoder().decode(CombinedFront.self,
                                               from: Data(contentsOf: out.appendingPathComponent("front.json")))
        XCTAssertEqual(decoded, front)
        let svg = try String(contentsOf: out.appendingPathComponent("front.svg"), encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<?xml") && svg.contains("</svg>"))
        let table = try String(contentsOf: out.appendingPathComponent("front.md"), encoding: .utf8)
        XCTAssertEqual(table.split(separator: "\n").count, 2 + front.points.count)
    }

    func testRunsOnAnotherSplitAreRefusedAndOtherStartsCompare() throws {
        let parent = SearchFixtures.temporaryDirectory("front-mismatch")
        let run = try search(maxReLUs: 1024, in: parent, name: "a")
        let copy = parent.appendingPathComponent("b")
        try FileManager.default.copyItem(at: run, to: copy)
        var request = try PlanRun.readRequest(in: copy)
        request.validationCount = 400
        try JSONEncoder().encode(request).write(to: copy.appendingPathComponent("plan-request.json"))
        XCTAssertThrowsError(try FrontReport.build(runs: [run, copy], measureBaseline: false, measureTest: false)) {
            XCTAssertTrue("\($0)".contains("split"), "\($0)")
        }
        // Another starting network, same split: the points compare (said in the log); the all-ReLU baseline
        // is the first run's, found before the other path is ever read.
        request.validationCount = 500
        request.baseline = "/elsewhere/model.h5"
        try JSONEncoder().encode(request).write(to: copy.appendingPathComponent("plan-request.json"))
        var lines: [String] = []
        let result = try FrontReport.build(runs: [run, copy], measureBaseline: true, measureTest: false) { lines.append($0) }
        XCTAssertTrue(lines.contains { $0.contains("/elsewhere/model.h5") && $0.contains("same validation split") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("baseline (all ReLU)") }, "\(lines)")
        XCTAssertFalse(result.front.points.isEmpty)
        // Priced anew: the query is the one asked for, the baseline priced with it.
        let query = CostQuery(network: .wan, phase: .online, relu: .garbled)
        let priced = try FrontReport.build(runs: [run, copy], measureBaseline: true, measureTest: false,
                                           pricing: CombinedFront.Pricing(costModel: ProvisionalCostModel.standard, query: query))
        XCTAssertEqual(priced.front.query, query)
        let baseline = try XCTUnwrap(priced.reports.last)
        XCTAssertEqual(baseline.predictedOnlineSeconds,
                       ProvisionalCostModel.standard.predictSeconds(placement: Placement.allReLU(slotCount: 2),
                                                                    slots: priced.front.slots, query: query), accuracy: 1e-12)
        XCTAssertThrowsError(try FrontReport.build(runs: [parent], measureBaseline: false, measureTest: false)) {
            XCTAssertTrue("\($0)".contains("search.jsonl"), "\($0)")
        }
    }
}
