import Foundation
import NetworkPlan
import Planner
import XCTest

final class PopulationRunnerTests: XCTestCase {
    func settings(seed: UInt64 = 42, population: Int = 6, rounds: Int = 4) -> SearchSettings {
        SearchSettings(seed: seed, population: population, rounds: rounds, epochsPerRound: 1,
                       space: resnet32Space(), target: .maxReLUs(53_248), costModel: testCostModel)
    }

    func makeRun(_ name: String) throws -> (directory: URL, baseline: URL) {
        let directory = temporaryDirectory(name)
        let baseline = directory.appendingPathComponent("baseline.json")
        try MockTrainable.writeBaseline(to: baseline)
        return (directory.appendingPathComponent("search"), baseline)
    }

    func testSearchMeetsTargetAndReplayReproducesFinalPopulation() throws {
        let (directory, baseline) = try makeRun("replay")
        let runner = try PopulationRunner(directory: directory, settings: settings(), baseline: baseline, resume: false)
        let front = try runner.run(trainable: MockTrainable(slots: resnet32Slots()))
        XCTAssertFalse(front.points.isEmpty)
        for config in runner.state.configs {
            XCTAssertLessThanOrEqual(config.placement.reluCount(slots: resnet32Slots()), 53_248)
        }
        let replayed = try SearchState.load(url: runner.logURL)
        XCTAssertEqual(replayed.configs, runner.state.configs)
        XCTAssertEqual(replayed.front, runner.state.front)
        XCTAssertEqual(replayed.completedRounds, 4)
        XCTAssertTrue(replayed.finished)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("pareto.json").path))
    }

    func testExploitCopiesTheSourceCheckpoint() throws {
        let (directory, baseline) = try makeRun("exploit")
        let runner = try PopulationRunner(directory: directory, settings: settings(rounds: 1), baseline: baseline,
                                          resume: false)
        try runner.run(trainable: MockTrainable(slots: resnet32Slots()))
        let events = try String(contentsOf: runner.logURL, encoding: .utf8).split(separator: "\n")
        let decisions = try JSONDecoder().decode(SearchEvent.self, from: Data(events[events.count - 2].utf8))
        var exploits = 0
        for case .exploit(let member, let source, _) in decisions.decisions ?? [] {
            exploits += 1
            let copy = try Data(contentsOf: directory.appendingPathComponent("members/\(member)/round-1.ckpt"))
            let original = try Data(contentsOf: directory.appendingPathComponent("members/\(source)/round-1.ckpt"))
            XCTAssertEqual(copy, original)
        }
        XCTAssertEqual(exploits, 2) // ceil(6 x 0.25)
    }

    func testResumeAfterKilledSearchEqualsUninterruptedSearch() throws {
        let (referenceDirectory, baseline) = try makeRun("reference")
        let reference = try PopulationRunner(directory: referenceDirectory, settings: settings(), baseline: baseline,
                                             resume: false)
        try reference.run(trainable: MockTrainable(slots: resnet32Slots()))

        let (directory, baseline2) = try makeRun("killed")
        let killed = MockTrainable(slots: resnet32Slots())
        killed.failAt = (member: 3, round: 3)
        let first = try PopulationRunner(directory: directory, settings: settings(), baseline: baseline2, resume: false)
        XCTAssertThrowsError(try first.run(trainable: killed))
        // A torn last line, as if the process died mid-write.
        let handle = try FileHandle(forWritingTo: first.logURL)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"kind\":\"rep".utf8))
        try handle.close()

        XCTAssertThrowsError(try PopulationRunner(directory: directory, settings: settings(), baseline: baseline2,
                                                  resume: false), "must refuse to overwrite without --resume")
        XCTAssertThrowsError(try PopulationRunner(directory: directory, settings: settings(seed: 9),
                                                  baseline: baseline2, resume: true)) { error in
            XCTAssertEqual(error as? PlannerError, .settingsMismatch(path: first.logURL.path))
        }
        let resumedTrainable = MockTrainable(slots: resnet32Slots())
        let resumed = try PopulationRunner(directory: directory, settings: settings(), baseline: baseline2, resume: true)
        try resumed.run(trainable: resumedTrainable)
        // Only unfinished work was redone: members 0-2 of round 3 had reported before the kill.
        XCTAssertEqual(resumedTrainable.trained.filter { $0.round == 3 }.map(\.member), [3, 4, 5])
        XCTAssertEqual(resumed.state.configs, reference.state.configs)
        XCTAssertEqual(resumed.state.front, reference.state.front)
    }

    func testDivergedMemberIsReseededFromATopMember() throws {
        let (directory, baseline) = try makeRun("diverge")
        let trainable = MockTrainable(slots: resnet32Slots())
        trainable.divergeAt = (member: 0, round: 1)
        let runner = try PopulationRunner(directory: directory, settings: settings(rounds: 1), baseline: baseline,
                                          resume: false)
        try runner.run(trainable: trainable)
        let state = try SearchState.load(url: runner.logURL)
        XCTAssertFalse(state.front.points.contains { $0.member == 0 && $0.round == 1 && !$0.validationAccuracy.isFinite })
        let events = try String(contentsOf: runner.logURL, encoding: .utf8).split(separator: "\n")
        let decisions = try JSONDecoder().decode(SearchEvent.self, from: Data(events[events.count - 2].utf8))
        XCTAssertTrue(decisions.decisions?.contains { if case .exploit(0, _, _) = $0 { true } else { false } } ?? false)
    }
}
