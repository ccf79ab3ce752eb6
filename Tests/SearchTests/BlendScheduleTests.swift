import Foundation
import NetworkPlan
import Search
import Training
import XCTest

final class BlendScheduleTests: XCTestCase {
    func testAlphaFallsLinearlyFromOneToZero() {
        let schedule = BlendSchedule(totalSteps: 8)
        XCTAssertEqual(schedule.alpha(afterSteps: 0), 1)
        for k in 0...8 { XCTAssertEqual(schedule.alpha(afterSteps: k), Float(8 - k) / 8, accuracy: 1e-6, "step \(k)") }
        XCTAssertEqual(schedule.alpha(afterSteps: 100), 0)
        XCTAssertFalse(schedule.isFinished(afterSteps: 7))
        XCTAssertTrue(schedule.isFinished(afterSteps: 8))
        XCTAssertEqual(BlendSchedule(epochs: 0.5, stepsPerEpoch: 31).totalSteps, 16)
        XCTAssertEqual(BlendSchedule(epochs: 0, stepsPerEpoch: 31).totalSteps, 1)
    }

    /// A newly polynomial slot blends in the engine as the schedule says, then becomes a polynomial;
    /// a slot that was polynomial keeps its learned coefficients when the member continues.
    func testEngineBlendsNewPolynomialSlots() throws {
        let (baseline, splits) = try SearchFixtures.baseline()
        var options = SearchFixtures.options()
        options.polynomialInitialization = .delphi
        let trainable = try EngineTrainable(baseline: baseline, splits: splits, options: options)
        let steps = trainable.stepsPerEpoch // 2000 / 64 = 31
        let config = SearchFixtures.config([.polynomial(degree: 2), .relu], blendEpochs: 0.5)
        try trainable.restore(member: 0, config: config, from: baseline)
        let act1 = trainable.network.slots[0]
        XCTAssertEqual(act1.mode, .blended(alpha: 1))
        XCTAssertEqual(act1.coefficients?.shape, [8, 3])
        XCTAssertEqual(Array(act1.coefficients!.value.array.prefix(3)), [0.2, 0.5, 0.2])
        XCTAssertTrue(trainable.network.slots[1].isReLU)
        let schedule = trainable.blendSchedule
        XCTAssertEqual(schedule.totalSteps, 16)
        // 5 steps: the last step ran at alpha(4) and the slot now shows alpha(5).
        _ = try trainable.train(epochs: 5.0 / Double(steps), round: 1)
        XCTAssertEqual(act1.mode, .blended(alpha: schedule.alpha(afterSteps: 5)))
        let checkpoint = SearchFixtures.temporaryDirectory("blend").appendingPathComponent("m.h5")
        try trainable.save(to: checkpoint)
        // Continuing from the member checkpoint continues the blend where it stopped.
        try trainable.restore(member: 0, config: config, from: checkpoint)
        XCTAssertEqual(act1.mode, .blended(alpha: schedule.alpha(afterSteps: 5)))
        _ = try trainable.train(epochs: 11.0 / Double(steps), round: 2)
        XCTAssertEqual(act1.mode, .polynomial)
        XCTAssertNotEqual(Array(act1.coefficients!.value.array.prefix(3)), [0.2, 0.5, 0.2], "coefficients are learned")
        XCTAssertEqual(trainable.lastRound?.blendingSlots, [])
    }
}
