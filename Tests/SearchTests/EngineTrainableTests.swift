import Foundation
import NetworkPlan
import Planner
import PlanStore
import Search
import Training
import XCTest

final class EngineTrainableTests: XCTestCase {
    func testSaveRestoreRoundTripAndDeterminism() throws {
        let (baseline, splits) = try SearchFixtures.baseline()
        let config = SearchFixtures.config([.polynomial(degree: 2), .relu])
        let first = try EngineTrainable(baseline: baseline, splits: splits, options: SearchFixtures.options())
        try first.restore(member: 1, config: config, from: baseline)
        let a = try first.train(epochs: 0.25, round: 1)
        let url = SearchFixtures.temporaryDirectory("roundtrip").appendingPathComponent("member.h5")
        try first.save(to: url)

        let second = try EngineTrainable(baseline: baseline, splits: splits, options: SearchFixtures.options())
        try second.restore(member: 1, config: config, from: url)
        var expected = first.checkpointContents(), actual = second.checkpointContents()
        XCTAssertEqual(actual, expected, "a restored member holds what was saved")
        XCTAssertTrue(expected.arrays.keys.contains { $0.hasPrefix("optimizer/velocity/") })
        XCTAssertEqual(expected.words["search/channel_blend_steps/act1"],
                       [UInt64](repeating: UInt64(first.lastRound!.steps), count: first.network.slots[0].channels))

        // Same seed, same member and round: the same result, bit for bit.
        let third = try EngineTrainable(baseline: baseline, splits: splits, options: SearchFixtures.options())
        try third.restore(member: 1, config: config, from: baseline)
        let b = try third.train(epochs: 0.25, round: 1)
        XCTAssertEqual(a.validationAccuracy, b.validationAccuracy)
        XCTAssertEqual(a.trainLoss, b.trainLoss)
        expected = first.checkpointContents(); actual = third.checkpointContents()
        XCTAssertEqual(actual, expected)

        // The member checkpoint is a training checkpoint: `sibyl test` can load it.
        let (network, trainingConfig) = try TrainingCheckpoint.loadNetwork(from: url)
        XCTAssertEqual(trainingConfig.model, .tiny)
        XCTAssertFalse(network.slots[0].isReLU)
        XCTAssertTrue(network.slots[1].isReLU)
    }

    func testValidationSplitOnlyAndReLUReturn() throws {
        let (baseline, splits) = try SearchFixtures.baseline()
        let trainable = try EngineTrainable(baseline: baseline, splits: splits, options: SearchFixtures.options())
        try trainable.restore(member: 0, config: SearchFixtures.config([.relu, .relu]), from: baseline)
        let outcome = try trainable.train(epochs: 0.05, round: 1)
        let validation = Evaluation.run(trainable.network, images: splits.validation, normalization: splits.normalization)
        XCTAssertEqual(outcome.validationAccuracy, Double(validation.accuracy))
        // A polynomial slot that returns to ReLU is a ReLU again.
        let url = SearchFixtures.temporaryDirectory("relu").appendingPathComponent("m.h5")
        try trainable.restore(member: 0, config: SearchFixtures.config([.polynomial(degree: 2), .polynomial(degree: 2)]), from: baseline)
        try trainable.save(to: url)
        try trainable.restore(member: 0, config: SearchFixtures.config([.relu, .polynomial(degree: 2)]), from: url)
        XCTAssertTrue(trainable.network.slots[0].isReLU)
        XCTAssertNil(trainable.network.slots[0].coefficients)
        XCTAssertFalse(trainable.network.slots[1].isReLU)
        XCTAssertThrowsError(try trainable.restore(member: 0, config: SearchFixtures.config([.relu]), from: baseline))
        XCTAssertThrowsError(try trainable.restore(
            member: 0, config: SearchFixtures.config([.mixed(polynomialChannels: [0, 99], degree: 2), .relu]), from: baseline))
    }

    /// A slot split by channel: the listed channels blend in (their own alphas), the rest stay ReLU; when a
    /// later placement adds channels, those blend in on their own while the others stay polynomial; the
    /// split survives the member checkpoint, which also reads the whole-slot format of before.
    func testMixedSlotsBlendPerChannelAndRoundTrip() throws {
        let (baseline, splits) = try SearchFixtures.baseline()
        let trainable = try EngineTrainable(baseline: baseline, splits: splits, options: SearchFixtures.options())
        let first = SearchFixtures.config([.mixed(polynomialChannels: [1, 3], degree: 2), .relu])
        try trainable.restore(member: 0, config: first, from: baseline)
        let slot = trainable.network.slots[0]
        XCTAssertEqual(slot.polynomialChannelIndices, [1, 3])
        XCTAssertEqual(trainable.currentPlacement, first.placement)
        _ = try trainable.train(epochs: 2, round: 1)   // longer than the blend: channels 1 and 3 finished
        XCTAssertEqual(trainable.blendingSlots, [])
        XCTAssertEqual(try NetworkExport.slotChoices(of: trainable.network)["act1"], .mixed(polynomialChannels: [1, 3], degree: 2))
        let url = SearchFixtures.temporaryDirectory("mixed").appendingPathComponent("m.h5")
        try trainable.save(to: url)
        let trained = slot.coefficients!.value.array

        // Channel 5 joins: it blends (alpha 1 at first), 1 and 3 keep their trained coefficients at alpha 0.
        let second = SearchFixtures.config([.mixed(polynomialChannels: [1, 3, 5], degree: 2), .relu])
        try trainable.restore(member: 0, config: second, from: url)
        XCTAssertEqual(slot.polynomialChannelIndices, [1, 3, 5])
        XCTAssertEqual(slot.channelAlphas?[5], 1)
        XCTAssertEqual(slot.channelAlphas?[1], 0)
        XCTAssertEqual(Array(slot.coefficients!.value.array[3..<6]), Array(trained[3..<6]), "channel 1 keeps its coefficients")
        XCTAssertEqual(trainable.blendingSlots, ["act1"])

        // The whole-slot format of before (one integer per slot) still reads.
        var contents = try CheckpointIO.read(from: url)
        contents.words["search/channel_blend_steps/act1"] = nil
        contents.integers["search/blend_steps/act1"] = 0
        contents.arrays["slot_channels/act1"] = nil
        let old = SearchFixtures.temporaryDirectory("old").appendingPathComponent("m.h5")
        try CheckpointIO.write(contents, to: old)
        try trainable.restore(member: 0, config: SearchFixtures.config([.polynomial(degree: 2), .relu]), from: old)
        XCTAssertEqual(trainable.blendingSlots, ["act1"], "whole slot, all channels at step 0")
        XCTAssertNil(slot.polynomialChannels)
    }

    /// With reverse blending, a polynomial channel the placement turns back into ReLU blends back: alpha 0
    /// at first, rising over the blend schedule, ReLU once it is over; a whole slot turned ReLU keeps its
    /// polynomial until then and is a ReLU slot after; the progress survives the member checkpoint.
    func testReverseBlendingTakesChannelsBackGradually() throws {
        let (baseline, splits) = try SearchFixtures.baseline()
        var options = SearchFixtures.options()
        options.reverseBlending = true
        let trainable = try EngineTrainable(baseline: baseline, splits: splits, options: options)
        try trainable.restore(member: 0, config: SearchFixtures.config([.mixed(polynomialChannels: [1, 3], degree: 2), .relu],
                                                                      blendEpochs: 0.5), from: baseline)
        _ = try trainable.train(epochs: 1, round: 1)   // past the blend: channels 1 and 3 polynomial
        let slot = trainable.network.slots[0]
        XCTAssertEqual(trainable.blendingSlots, [])
        let polynomial = SearchFixtures.temporaryDirectory("reverse").appendingPathComponent("p.h5")
        try trainable.save(to: polynomial)

        // Channel 3 goes back: still evaluated, alpha 0, then rising.
        let back = SearchFixtures.config([.mixed(polynomialChannels: [1], degree: 2), .relu], blendEpochs: 0.5)
        try trainable.restore(member: 0, config: back, from: polynomial)
        XCTAssertEqual(slot.polynomialChannelIndices, [1, 3])
        XCTAssertEqual(slot.channelAlphas?[3] ?? 0, 0, "alpha 0: all polynomial for now")
        XCTAssertEqual(trainable.blendingSlots, ["act1"])
        _ = try trainable.train(epochs: 0.25, round: 2)
        let midway = try XCTUnwrap(slot.channelAlphas?[3])
        XCTAssertTrue(midway > 0.2 && midway < 0.8, "half the schedule: alpha \(midway)")
        XCTAssertEqual(slot.channelAlphas?[1], 0, "channel 1 stays polynomial")
        let half = SearchFixtures.temporaryDirectory("reverse").appendingPathComponent("h.h5")
        try trainable.save(to: half)
        let copy = try EngineTrainable(baseline: baseline, splits: splits, options: options)
        try copy.restore(member: 0, config: back, from: half)
        XCTAssertEqual(copy.network.slots[0].channelAlphas?[3], midway, "the checkpoint keeps the way back")
        _ = try trainable.train(epochs: 0.5, round: 3)
        XCTAssertEqual(slot.polynomialChannelIndices, [1], "channel 3 is a ReLU again")
        XCTAssertEqual(trainable.blendingSlots, [])
        XCTAssertEqual(trainable.currentPlacement, back.placement)

        // The whole slot goes back: polynomial until every channel is back, then a ReLU slot.
        let relu = SearchFixtures.config([.relu, .relu], blendEpochs: 0.5)
        try trainable.restore(member: 0, config: relu, from: polynomial)
        XCTAssertFalse(slot.isReLU)
        XCTAssertEqual(trainable.blendingSlots, ["act1"])
        _ = try trainable.train(epochs: 0.75, round: 4)
        XCTAssertTrue(slot.isReLU)
        XCTAssertNil(slot.coefficients)
        XCTAssertEqual(trainable.currentPlacement, relu.placement)

        // Without the option the switch is at once (as before).
        let abrupt = try EngineTrainable(baseline: baseline, splits: splits, options: SearchFixtures.options())
        try abrupt.restore(member: 0, config: back, from: polynomial)
        XCTAssertEqual(abrupt.network.slots[0].polynomialChannelIndices, [1])
    }

    func testDivergenceIsReportedAndTheStartStateKept() throws {
        let (baseline, splits) = try SearchFixtures.baseline()
        let trainable = try EngineTrainable(baseline: baseline, splits: splits, options: SearchFixtures.options())
        // An absurd learning rate with no effective clipping explodes the quadratic slots.
        let config = MemberConfig(placement: Placement(choices: [.polynomial(degree: 2), .polynomial(degree: 2)]),
                                  hyperParameters: HyperParameters(learningRate: 1e4, momentum: 0.99, clipNorm: 1e9,
                                                                   blendEpochs: 0.01))
        try trainable.restore(member: 2, config: config, from: baseline)
        let before = trainable.checkpointContents()
        let outcome = try trainable.train(epochs: 1, round: 1)
        XCTAssertTrue(outcome.diverged)
        XCTAssertEqual(trainable.checkpointContents(), before, "a diverged round leaves the state it started from")
    }

    /// Distillation starts at zero soft loss (the blended student equals the teacher) and must not read as
    /// divergence when the polynomial takes over; the reported loss is the label cross-entropy.
    func testDistillationTrainsWithoutFalseDivergence() throws {
        let (baseline, splits) = try SearchFixtures.baseline()
        var options = SearchFixtures.options()
        options.distillationWeight = 0.5
        let trainable = try EngineTrainable(baseline: baseline, splits: splits, options: options)
        try trainable.restore(member: 0, config: SearchFixtures.config([.polynomial(degree: 2), .polynomial(degree: 2)],
                                                                      blendEpochs: 0.25), from: baseline)
        let outcome = try trainable.train(epochs: 0.5, round: 1)
        XCTAssertFalse(outcome.diverged)
        XCTAssertTrue(outcome.trainLoss.isFinite && outcome.trainLoss > 0)
        XCTAssertGreaterThan(outcome.validationAccuracy, 0.2, "10 classes: above chance")
    }
}
