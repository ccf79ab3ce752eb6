import Foundation
import NetworkPlan
import Planner
import Search
import Tensors
import Training
import XCTest

final class ChannelImportanceTests: XCTestCase {
    /// A known answer: channel 0's inputs are all positive and its polynomial is p(x) = x, so it loses
    /// nothing (score 0) however large its gradient; channel 1's inputs are negative with p(x) = x, so
    /// p - ReLU = x and the score is the sum of (g x)^2; channel 2 has zero gradient (score 0).
    func testKnownAnswer() {
        let x = Tensor(shape: [2, 3, 1, 2], values: [1, 2, -1, -2, 5, -5,   3, 4, -3, -0.5, 1, 1])
        let g = Tensor(shape: [2, 3, 1, 2], values: [9, 9, 0.5, 1, 0, 0,   -9, 9, 2, 4, 0, 0])
        var sums = [Double](repeating: 0, count: 3)
        let identity: [[Float]] = [[0, 1], [0, 1], [0.3, 0.2]]
        ChannelImportance.accumulate(into: &sums, input: x, gradient: g, coefficients: identity)
        XCTAssertEqual(sums[0], 0)
        XCTAssertEqual(sums[1], 0.25 + 4 + 36 + 4, accuracy: 1e-12)   // (0.5 * -1)^2 + (1 * -2)^2 + (2 * -3)^2 + (4 * -0.5)^2
        XCTAssertEqual(sums[2], 0)
    }

    /// On the tiny baseline: one score per channel of each slot, finite, not all equal, deterministic.
    func testMeasuredOnTheBaselineIsDeterministic() throws {
        let (baseline, splits) = try SearchFixtures.baseline()
        let first = try ChannelImportance.measure(baseline: baseline, splits: splits, options: SearchFixtures.options(),
                                                  degree: 2, images: 64)
        let second = try ChannelImportance.measure(baseline: baseline, splits: splits, options: SearchFixtures.options(),
                                                   degree: 2, images: 64)
        XCTAssertEqual(first, second)
        let slots = try PlanRun.slots(ofBaseline: baseline)
        XCTAssertEqual(first.map(\.count), slots.map(\.channels))
        XCTAssertTrue(first.joined().allSatisfy { $0.isFinite && $0 >= 0 })
        XCTAssertGreaterThan(Set(first[0]).count, 1)
    }

    /// An image whose score overflows (a polynomial far outside its range) is left out, the others kept.
    func testNonFiniteImagesAreLeftOut() {
        let x = Tensor(shape: [2, 1, 1, 2], values: [-1, -2,   -1, -2])
        let g = Tensor(shape: [2, 1, 1, 2], values: [1, 1,   .nan, 1])
        var sums = [0.0]
        XCTAssertEqual(ChannelImportance.accumulate(into: &sums, input: x, gradient: g, coefficients: [[0, 1]]), 1)
        XCTAssertEqual(sums[0], 1 + 4, accuracy: 1e-12)
    }

    /// From a polynomial baseline (the start of a search that gives ReLU channels back): the network as
    /// trained, each channel's own coefficients; finite, non-negative, one score per channel.
    func testMeasuredOnAPolynomialBaseline() throws {
        let (baseline, splits) = try SearchFixtures.baseline()
        let trainable = try EngineTrainable(baseline: baseline, splits: splits, options: SearchFixtures.options())
        try trainable.restore(member: 0, config: SearchFixtures.config([.polynomial(degree: 2), .polynomial(degree: 2)],
                                                                       blendEpochs: 0.25), from: baseline)
        _ = try trainable.train(epochs: 1, round: 1)
        let polynomial = SearchFixtures.temporaryDirectory("polynomial-baseline").appendingPathComponent("p.h5")
        try trainable.save(to: polynomial)
        let scores = try ChannelImportance.measure(baseline: polynomial, splits: splits, options: SearchFixtures.options(),
                                                   degree: 2, images: 64)
        XCTAssertEqual(scores.map(\.count), try PlanRun.slots(ofBaseline: baseline).map(\.channels))
        XCTAssertTrue(scores.joined().allSatisfy { $0.isFinite && $0 >= 0 }, "\(scores)")
        XCTAssertTrue(scores.joined().contains { $0 > 0 })
    }
}
