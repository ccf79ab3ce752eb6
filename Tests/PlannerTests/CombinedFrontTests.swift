import Foundation
import NetworkCost
import NetworkPlan
import Planner
import XCTest

final class CombinedFrontTests: XCTestCase {
    /// A replayed search over ResNet-32's slots whose members report (accuracy, polynomial slots) pairs.
    func state(target: SearchTarget, costModel: CostModel = testCostModel,
               members: [(accuracy: Double, polynomial: [Int])]) throws -> SearchState {
        let space = resnet32Space()
        let settings = SearchSettings(seed: 1, population: members.count, rounds: 1, epochsPerRound: 1, space: space,
                                      target: target, costModel: costModel)
        let hyper = HyperParameters(learningRate: 0.01, momentum: 0.9, clipNorm: 1, blendEpochs: 0.5)
        let configs = members.map { member -> MemberConfig in
            var placement = Placement.allReLU(slotCount: space.slots.count)
            for slot in member.polynomial { placement.choices[slot] = .polynomial(degree: 2) }
            return MemberConfig(placement: placement, hyperParameters: hyper)
        }
        var events = [SearchEvent(kind: .start, round: 0, settings: settings, configs: configs)]
        for (index, member) in members.enumerated() {
            let config = configs[index]
            events.append(SearchEvent(kind: .report, round: 1,
                                      result: MemberResult(member: index, round: 1, validationAccuracy: member.accuracy,
                                                           trainLoss: 1, diverged: false),
                                      relus: config.placement.reluCount(slots: space.slots),
                                      predictedOnlineSeconds: costModel.predictOnlineSeconds(
                                          placement: config.placement, slots: space.slots, network: target.network)))
        }
        return try SearchState(events: events)
    }

    func testFrontSpansTheRunsAndDropsDominatedPoints() throws {
        let cheap = try state(target: .maxReLUs(20_480), members: [(0.40, Array(1...29)), (0.45, Array(1...29))])
        let middle = try state(target: .maxReLUs(53_248), members: [(0.66, Array(1...27)), (0.30, Array(1...28))])
        // 0.60 with more ReLUs than the 0.66 point of `middle`: dominated across runs.
        let loose = try state(target: .maxReLUs(160_000), members: [(0.60, Array(1...20)), (0.69, Array(1...10))])
        let space = resnet32Space()
        let all = Placement.allReLU(slotCount: space.slots.count)
        let baseline = CombinedFront.Point(source: "baseline", member: nil, round: nil, validationAccuracy: 0.70,
                                           predictedOnlineSeconds: testCostModel.predictOnlineSeconds(
                                               placement: all, slots: space.slots, network: .lan),
                                           relus: space.totalActivations, placement: all.signature)
        let front = try CombinedFront.combine(runs: [("middle", middle), ("cheap", cheap), ("loose", loose)],
                                              extra: [baseline])
        XCTAssertEqual(front.points.map(\.validationAccuracy), [0.45, 0.66, 0.69, 0.70])
        XCTAssertEqual(front.points.map(\.source), ["cheap", "middle", "loose", "baseline"])
        XCTAssertEqual(front.points.map(\.relus), front.points.map(\.relus).sorted())
        XCTAssertEqual(front.points.first?.member, 1)
        XCTAssertEqual(front.points.last?.placement, String(repeating: "R", count: 31))
        XCTAssertEqual(front.points.first?.placement, "R" + String(repeating: "2", count: 29) + "R")
        XCTAssertEqual(front.network, "lan")
        // No kept point is dominated by any candidate.
        for (a, b) in zip(front.points, front.points.dropFirst()) {
            XCTAssertLessThan(a.relus, b.relus)
            XCTAssertLessThan(a.validationAccuracy, b.validationAccuracy, "more ReLUs must buy accuracy on a front")
        }
    }

    func testRunsWithOtherCostModelsOrNetworksAreRefused() throws {
        let a = try state(target: .maxReLUs(53_248), members: [(0.6, Array(1...27))])
        var other = testCostModel
        other.relu.bytes *= 2
        let b = try state(target: .maxReLUs(53_248), costModel: other, members: [(0.6, Array(1...27))])
        XCTAssertThrowsError(try CombinedFront.combine(runs: [("a", a), ("b", b)])) { error in
            XCTAssertTrue("\(error)".contains("cost model"), "\(error)")
        }
        let wan = try state(target: .latency(seconds: 10, network: .wan), members: [(0.6, Array(1...27))])
        XCTAssertThrowsError(try CombinedFront.combine(runs: [("a", a), ("wan", wan)])) { error in
            XCTAssertTrue("\(error)".contains("wan"), "\(error)")
        }
        XCTAssertThrowsError(try CombinedFront.combine(runs: []))
        // The same figures described in other words (an old log's model) share a front.
        var reworded = testCostModel
        reworded.source = "the same model, described as an older version did"
        let c = try state(target: .maxReLUs(53_248), costModel: reworded, members: [(0.6, Array(1...27))])
        XCTAssertNoThrow(try CombinedFront.combine(runs: [("a", a), ("c", c)]))
    }

    /// Priced anew with one model and query, runs logged with different cost models share a front, every
    /// report of every run is a candidate (not only each run's own front), and each point's latency is the
    /// pricing's prediction for its placement: the front is exactly the non-dominated reports under the new
    /// prices.
    func testPricingAnewJoinsRunsOfOtherCostModels() throws {
        var other = testCostModel
        other.relu.bytes *= 2
        let membersA: [(accuracy: Double, polynomial: [Int])] = [(0.60, Array(1...27)), (0.55, Array(1...20)), (0.50, Array(1...29))]
        let membersB: [(accuracy: Double, polynomial: [Int])] = [(0.66, Array(1...10)), (0.62, Array(5...25))]
        let a = try state(target: .maxReLUs(53_248), members: membersA)
        let b = try state(target: .maxReLUs(160_000), costModel: other, members: membersB)
        XCTAssertEqual(a.reports.count, 3)
        XCTAssertThrowsError(try CombinedFront.combine(runs: [("a", a), ("b", b)]))
        // A model without offline figures cannot price total cost: said, not NaN latencies.
        XCTAssertThrowsError(try CombinedFront.combine(runs: [("a", a), ("b", b)], pricing: CombinedFront.Pricing(
            costModel: testCostModel, query: CostQuery(network: .wan, phase: .total, relu: .garbled)))) { error in
            XCTAssertTrue("\(error)".contains("offline figures"), "\(error)")
        }
        let query = CostQuery(network: .wan, phase: .online, relu: .garbled)
        let pricing = CombinedFront.Pricing(costModel: testCostModel, query: query)
        let front = try CombinedFront.combine(runs: [("a", a), ("b", b)], pricing: pricing)
        XCTAssertEqual(front.query, query)
        XCTAssertEqual(front.network, "wan")

        let space = resnet32Space()
        struct Candidate: ParetoCandidate { var validationAccuracy: Double; var predictedOnlineSeconds: Double; var relus: Int; var name: String }
        var candidates: [Candidate] = []
        for (run, members) in [("a", membersA), ("b", membersB)] {
            for (index, member) in members.enumerated() {
                var placement = Placement.allReLU(slotCount: space.slots.count)
                for slot in member.polynomial { placement.choices[slot] = .polynomial(degree: 2) }
                candidates.append(Candidate(validationAccuracy: member.accuracy,
                                            predictedOnlineSeconds: testCostModel.predictSeconds(placement: placement, slots: space.slots,
                                                                                                 query: query),
                                            relus: placement.reluCount(slots: space.slots), name: "\(run)\(index)"))
            }
        }
        let expected = candidates.filter { c in !candidates.contains { $0.dominates(c) } }
        XCTAssertEqual(Set(front.points.map { "\($0.source)\($0.member!)" }), Set(expected.map(\.name)))
        for point in front.points {
            let match = try XCTUnwrap(expected.first { $0.name == "\(point.source)\(point.member!)" })
            XCTAssertEqual(point.predictedOnlineSeconds, match.predictedOnlineSeconds, accuracy: 1e-12)
        }
    }
}
