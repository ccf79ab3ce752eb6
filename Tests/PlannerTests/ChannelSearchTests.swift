import Foundation
import NetworkPlan
import Planner
import XCTest

/// Per-channel (SAFENet-style) placements: importance decides which channels stay ReLU; the initial
/// allocation and every explore move meet the target and are deterministic for a seed.
final class ChannelSearchTests: XCTestCase {
    /// ResNet-32's slots with made-up importances: channel c of slot s scores (s + 1) * (c % 7 + 1).
    func space(degrees: [Int] = [2, 4]) -> SearchSpace {
        let slots = resnet32Slots()
        let importance = slots.indices.map { s in (0..<slots[s].channels).map { c in Double((s + 1) * (c % 7 + 1)) } }
        return SearchSpace(slots: slots, pinned: [], degrees: degrees, allowMixed: true, channelGroup: 4,
                           channelImportance: importance)
    }

    func testChoiceKeepsTheMostImportantChannelsReLU() {
        let space = space()
        XCTAssertEqual(space.choice(slot: 3, reluChannels: 16, degree: 2), .relu)
        XCTAssertEqual(space.choice(slot: 3, reluChannels: 0, degree: 2), .polynomial(degree: 2))
        guard case .mixed(let polynomial, 4) = space.choice(slot: 3, reluChannels: 2, degree: 4) else {
            return XCTFail("a mixed choice expected")
        }
        // c % 7 == 6 scores highest: channels 6 and 13 keep ReLU.
        XCTAssertEqual(Set(0..<16).subtracting(polynomial), [6, 13])
        XCTAssertEqual(polynomial, polynomial.sorted())
    }

    func testImportancePlacementMeetsTheTargetAndIsDeterministic() {
        let space = space()
        let target = SearchTarget.maxReLUs(20_480)
        var a = SeededGenerator(seed: 3), b = SeededGenerator(seed: 3)
        let first = PlacementSampler.importancePlacement(space: space, target: target, costModel: testCostModel, spread: 0.3, generator: &a)
        let second = PlacementSampler.importancePlacement(space: space, target: target, costModel: testCostModel, spread: 0.3, generator: &b)
        XCTAssertEqual(first, second, "seed 3")
        let placement = try! XCTUnwrap(first)
        let relus = placement.reluCount(slots: space.slots)
        XCTAssertLessThanOrEqual(relus, 20_480)
        XCTAssertGreaterThan(relus, 20_480 - 1024, "the budget is spent (a stage-1 channel costs 1,024 ReLUs)")
        XCTAssertTrue(placement.choices.contains { if case .mixed = $0 { true } else { false } }, "slots are split")
        // Without noise, importance per ReLU decides: slot 30 (64 channels at 8x8, score 31 x ...) keeps ReLUs
        // before slot 1 (16 channels at 32x32, score 2 x ...).
        var c = SeededGenerator(seed: 4)
        let plain = PlacementSampler.importancePlacement(space: space, target: target, costModel: testCostModel, spread: 0, generator: &c)!
        XCTAssertGreaterThan(plain.choices[30].reluChannels(of: space.slots[30]), plain.choices[1].reluChannels(of: space.slots[1]))
        // Infeasible: fewer ReLUs than none at all cannot be met.
        var d = SeededGenerator(seed: 5)
        XCTAssertNil(PlacementSampler.importancePlacement(space: SearchSpace(slots: space.slots, pinned: [0], degrees: [2],
                                                                             allowMixed: true, channelImportance: space.channelImportance),
                                                          target: .maxReLUs(100), costModel: testCostModel, spread: 0, generator: &d))
    }

    func testChannelMovesStayWithinTheTargetAndAreDeterministic() {
        let space = space()
        let target = SearchTarget.maxReLUs(20_480)
        var generator = SeededGenerator(seed: 11)
        var placement = PlacementSampler.importancePlacement(space: space, target: target, costModel: testCostModel, spread: 0.2,
                                                             generator: &generator)!
        let explorer = Explorer()
        var changed = 0
        var degrees: Set<Int> = []
        for step in 0..<200 {
            var a = SeededGenerator(seed: UInt64(step)), b = SeededGenerator(seed: UInt64(step))
            let next = explorer.mutate(placement, space: space, target: target, costModel: testCostModel, generator: &a)
            XCTAssertEqual(next, explorer.mutate(placement, space: space, target: target, costModel: testCostModel, generator: &b),
                           "step \(step): the same seed gives the same move")
            XCTAssertTrue(target.isMet(by: next, space: space, costModel: testCostModel), "step \(step)")
            for (slot, choice) in next.choices.enumerated() {
                // Every slot's ReLU channels are its most important ones.
                let kept = choice.reluChannels(of: space.slots[slot])
                XCTAssertEqual(choice, space.choice(slot: slot, reluChannels: kept, degree: choice.polynomialDegree ?? 2), "step \(step)")
                if let degree = choice.polynomialDegree { degrees.insert(degree) }
            }
            if next != placement { changed += 1 }
            placement = next
        }
        XCTAssertGreaterThan(changed, 150, "moves are found")
        XCTAssertEqual(degrees, [2, 4], "degrees change per slot")
    }

    /// The cost model prices each degree by its protocol and a split slot by both of its rounds.
    func testCostsByDegreeAndSplit() {
        let slots = [SlotDescriptor(name: "a", channels: 4, elements: 64)]
        func bytes(_ choice: SlotChoice) -> Double {
            testCostModel.predictOnlineBytes(placement: Placement(choices: [choice]), slots: slots) - testCostModel.linearBytes
        }
        XCTAssertEqual(bytes(.relu), 64 * 530)
        XCTAssertEqual(bytes(.polynomial(degree: 1)), 0)
        XCTAssertEqual(bytes(.polynomial(degree: 2)), 64 * 16)
        XCTAssertEqual(bytes(.polynomial(degree: 4)), 64 * (141 * 4 / 8 + 8), "d residues of 141 bits and 8 bytes per element")
        XCTAssertEqual(bytes(.mixed(polynomialChannels: [0, 1, 2], degree: 2)), 16 * 530 + 48 * 16)
        XCTAssertEqual(testCostModel.flights(of: .relu), 2)
        XCTAssertEqual(testCostModel.flights(of: .polynomial(degree: 1)), 0)
        XCTAssertEqual(testCostModel.flights(of: .mixed(polynomialChannels: [0], degree: 4)), 2)
    }
}
