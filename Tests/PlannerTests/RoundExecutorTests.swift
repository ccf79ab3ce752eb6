import Foundation
import NetworkPlan
import Planner
import XCTest

/// Reports in reverse order, as workers finishing out of order would.
struct ReversedExecutor: RoundExecutor {
    let trainable: Trainable
    func execute(_ tasks: [MemberTask], report: (MemberTask, MemberOutcome) throws -> Void) throws {
        let outcomes = try tasks.map { ($0, try InProcessExecutor.perform($0, with: trainable)) }
        for (task, outcome) in outcomes.reversed() { try report(task, outcome) }
    }
}

final class RoundExecutorTests: XCTestCase {
    func settings() -> SearchSettings {
        SearchSettings(seed: 42, population: 6, rounds: 5, epochsPerRound: 1, space: resnet32Space(),
                       target: .maxReLUs(53_248), costModel: testCostModel)
    }

    func run(_ name: String, executor: (MockTrainable) -> RoundExecutor) throws -> PopulationRunner {
        let directory = temporaryDirectory(name)
        let baseline = directory.appendingPathComponent("baseline.json")
        try MockTrainable.writeBaseline(to: baseline)
        let runner = try PopulationRunner(directory: directory.appendingPathComponent("search"), settings: settings(),
                                          baseline: baseline, resume: false)
        try runner.run(executor: executor(MockTrainable(slots: resnet32Slots())))
        return runner
    }

    func testReportOrderDoesNotChangeTheSearch() throws {
        let inOrder = try run("ordered") { InProcessExecutor(trainable: $0) }
        let reversed = try run("reversed") { ReversedExecutor(trainable: $0) }
        XCTAssertEqual(inOrder.state.configs, reversed.state.configs)
        XCTAssertEqual(inOrder.state.front, reversed.state.front)
    }

    func testFrontCheckpointsOutliveOldRounds() throws {
        let runner = try run("front") { InProcessExecutor(trainable: $0) }
        let folder = runner.directory.appendingPathComponent("front")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        let expected = Set(runner.state.front.points.map {
            runner.frontCheckpointURL(member: $0.member, round: $0.round).lastPathComponent
        })
        XCTAssertEqual(files, expected, "one copy per front point, none for dropped points")
        // Member checkpoints of rounds 1-3 are gone; the front copies of those rounds remain readable.
        for point in runner.state.front.points {
            let copy = runner.frontCheckpointURL(member: point.member, round: point.round)
            let state = try JSONDecoder().decode(MockTrainable.State.self, from: Data(contentsOf: copy))
            XCTAssertEqual(state.history.last, "r\(point.round)", "the copy is the member's state after that round")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: runner.checkpointURL(member: 0, round: 1).path))
    }

    func testOutcomeJSONHasNoNaN() throws {
        let data = try JSONEncoder().encode(MemberOutcome(validationAccuracy: .nan, trainLoss: .infinity, diverged: false))
        let back = try JSONDecoder().decode(MemberOutcome.self, from: data)
        XCTAssertTrue(back.diverged)
        XCTAssertEqual(back.validationAccuracy, 0)
    }
}
