import Foundation
import NetworkPlan
import Planner
import XCTest

final class SchedulerTests: XCTestCase {
    func results(_ accuracies: [Double]) -> [MemberResult] {
        accuracies.enumerated().map {
            MemberResult(member: $0.offset, round: 1, validationAccuracy: $0.element, trainLoss: 1, diverged: false)
        }
    }

    func testQuantilesFollowRayTune() {
        let scheduler = PBTScheduler()
        // 8 members, quantile 0.25: two at each end.
        let (bottom, top) = scheduler.quantiles(of: results([0.5, 0.9, 0.1, 0.7, 0.3, 0.8, 0.2, 0.6]))
        XCTAssertEqual(Set(bottom), [2, 6])
        XCTAssertEqual(Set(top), [1, 5])
        // 10 members: ceil(2.5) = 3.
        let ten = scheduler.quantiles(of: results((0..<10).map { Double($0) / 10 }))
        XCTAssertEqual(Set(ten.bottom), [0, 1, 2])
        XCTAssertEqual(Set(ten.top), [7, 8, 9])
        // 2 members: never more than half in a quantile.
        let two = scheduler.quantiles(of: results([0.2, 0.4]))
        XCTAssertEqual(two.bottom, [0])
        XCTAssertEqual(two.top, [1])
        // 1 member: nothing to exploit.
        XCTAssertEqual(scheduler.quantiles(of: results([0.3])).bottom, [])
    }

    func testBottomMembersExploitTopMembersAndDivergedAlwaysDo() throws {
        let space = resnet32Space()
        let target = SearchTarget.maxReLUs(150_000)
        var generator = SeededGenerator(seed: 7)
        var configs: [Int: MemberConfig] = [:]
        for member in 0..<8 {
            let placement = try XCTUnwrap(PlacementSampler.feasiblePlacement(
                space: space, target: target, costModel: testCostModel, generator: &generator))
            configs[member] = MemberConfig(placement: placement, hyperParameters: PlacementSampler.hyperParameters(
                space: space.hyperParameters, generator: &generator))
        }
        var reported = results([0.5, 0.9, 0.1, 0.7, 0.3, 0.8, 0.2, 0.6])
        reported[4].diverged = true // mid-ranked by accuracy, but diverged
        let decisions = PBTScheduler().decide(results: reported, configs: configs, space: space, target: target,
                                              costModel: testCostModel, seed: 11)
        var exploiting: Set<Int> = []
        for decision in decisions {
            if case .exploit(let member, let source, let config) = decision {
                exploiting.insert(member)
                XCTAssertTrue([1, 5].contains(source), "member \(member) copied \(source), not a top member")
                XCTAssertTrue(target.isMet(by: config.placement, space: space, costModel: testCostModel))
            }
        }
        // Diverged member 4 ranks last, so the bottom two are 4 and 2, and member 6 continues.
        XCTAssertEqual(exploiting, [2, 4])
        XCTAssertEqual(decisions.map(\.member), Array(0..<8))
        // Same inputs, same decisions.
        XCTAssertEqual(decisions, PBTScheduler().decide(results: reported, configs: configs, space: space,
                                                        target: target, costModel: testCostModel, seed: 11))
    }
}

final class ExploreTests: XCTestCase {
    func testExploreStaysWithinTargetAndRangesAndIsDeterministic() throws {
        let space = resnet32Space()
        for (index, target) in [SearchTarget.maxReLUs(53_248), .maxReLUs(200_000),
                                .latency(seconds: 0.4, network: .lan)].enumerated() {
            let seed = UInt64(100 + index)
            var generator = SeededGenerator(seed: seed)
            let placement = try XCTUnwrap(PlacementSampler.feasiblePlacement(
                space: space, target: target, costModel: testCostModel, generator: &generator))
            var config = MemberConfig(placement: placement, hyperParameters: PlacementSampler.hyperParameters(
                space: space.hyperParameters, generator: &generator))
            var placements: Set<Placement> = []
            for step in 0..<200 {
                var a = SeededGenerator.derived(seed: seed, member: 3, step: step)
                var b = SeededGenerator.derived(seed: seed, member: 3, step: step)
                let next = Explorer().explore(config, space: space, target: target, costModel: testCostModel,
                                              generator: &a)
                XCTAssertEqual(next, Explorer().explore(config, space: space, target: target,
                                                        costModel: testCostModel, generator: &b),
                               "explore is not deterministic (seed \(seed), step \(step))")
                XCTAssertTrue(target.isMet(by: next.placement, space: space, costModel: testCostModel),
                              "explore left the target (seed \(seed), step \(step))")
                XCTAssertTrue(next.placement.choices[0].isReLU && next.placement.choices[30].isReLU,
                              "a pinned slot changed")
                let h = next.hyperParameters, r = space.hyperParameters
                XCTAssertTrue(r.learningRate.contains(h.learningRate) && r.momentum.contains(h.momentum)
                              && r.clipNorm.contains(h.clipNorm) && r.blendEpochs.contains(h.blendEpochs))
                placements.insert(next.placement)
                config = next
            }
            XCTAssertGreaterThan(placements.count, 10, "explore barely moves placements (seed \(seed))")
        }
    }

    func testPerturbationUsesFactorsOrResamples() {
        let space = resnet32Space()
        let config = MemberConfig(placement: .allReLU(slotCount: 31),
                                  hyperParameters: HyperParameters(learningRate: 0.01, momentum: 0.9,
                                                                   clipNorm: 1, blendEpochs: 1))
        var factors = 0, resampled = 0
        for step in 0..<400 {
            var generator = SeededGenerator.derived(seed: 5, member: 0, step: step)
            let lr = Explorer().explore(config, space: space, target: .maxReLUs(303_104), costModel: testCostModel,
                                        generator: &generator).hyperParameters.learningRate
            if abs(lr - 0.008) < 1e-12 || abs(lr - 0.012) < 1e-12 { factors += 1 } else { resampled += 1 }
        }
        // Ray Tune's default: resample with probability 0.25.
        XCTAssertEqual(Double(resampled) / 400, 0.25, accuracy: 0.07)
        XCTAssertGreaterThan(factors, 0)
    }

    func testInfeasibleTargetIsReported() {
        var generator = SeededGenerator(seed: 1)
        // The pinned first and last slots alone hold 16,384 + 4,096 ReLUs.
        XCTAssertNil(PlacementSampler.feasiblePlacement(space: resnet32Space(), target: .maxReLUs(10_000),
                                                        costModel: testCostModel, generator: &generator))
        XCTAssertEqual(resnet32Space().minimumReLUs, 20_480)
        XCTAssertEqual(Placement.allReLU(slotCount: 31).reluCount(slots: resnet32Slots()), 303_104)
    }
}

final class ParetoFrontTests: XCTestCase {
    func point(_ accuracy: Double, _ seconds: Double, _ relus: Int) -> ParetoPoint {
        ParetoPoint(member: 0, round: 1, validationAccuracy: accuracy, predictedOnlineSeconds: seconds, relus: relus,
                    config: MemberConfig(placement: .allReLU(slotCount: 1),
                                         hyperParameters: .init(learningRate: 0.1, momentum: 0.9, clipNorm: 1,
                                                                blendEpochs: 1)))
    }

    func testFrontKeepsOnlyNonDominatedPoints() {
        var front = ParetoFront()
        XCTAssertTrue(front.insert(point(0.6, 1.0, 300)))
        XCTAssertTrue(front.insert(point(0.5, 0.5, 100)))
        XCTAssertFalse(front.insert(point(0.4, 0.6, 120)))   // dominated by (0.5, 0.5, 100)
        XCTAssertTrue(front.insert(point(0.65, 0.9, 250)))   // dominates (0.6, 1.0, 300)
        XCTAssertEqual(front.points.map(\.relus), [100, 250])
        XCTAssertFalse(front.insert(point(.nan, 0.1, 1)))
        XCTAssertEqual(front.best { $0.relus <= 200 }?.validationAccuracy, 0.5)
    }
}
