// The symbolic evaluation that turns Mul/Add/Pow/Relu chains into activation slots, against evaluating the
// same chain at points; and the rule that pairs an imported network with its own input normalisation.
import OnnxInterop
import SeededRandom
import Training
import XCTest

final class ChannelFunctionTests: XCTestCase {
    func value(_ f: ChannelFunction, channel c: Int, at x: Double) -> Double {
        f.poly[c].enumerated().reduce(0) { $0 + $1.element * pow(x, Double($1.offset)) } + f.relu[c] * max(x, 0)
    }

    func testChainsEvaluateLikeTheArithmeticTheyStandFor() {
        var random = SplitMix64(seed: 3)
        func uniform() -> Double { Double.random(in: -1...1, using: &random) }
        let x = ChannelFunction.identity(base: 7, channels: 3)
        let a = (0..<3).map { _ in uniform() }, b = (0..<3).map { _ in uniform() }, c = (0..<3).map { _ in uniform() }
        // Horner: (a x + b) x + c; a sum of powers: c + b x + a x^2; and x * x * a + (x * b + c).
        let horner = x.scaled(a).adding(.constant(b, base: 7)).multiplied(by: x)!.adding(.constant(c, base: 7))
        let powers = ChannelFunction.constant(c, base: 7).adding(x.scaled(b)).adding(x.multiplied(by: x)!.scaled(a))
        XCTAssertEqual(horner.degree, 2)
        for channel in 0..<3 {
            for point in [-2.5, -0.3, 0, 0.7, 3.1] {
                let expected = a[channel] * point * point + b[channel] * point + c[channel]
                XCTAssertEqual(value(horner, channel: channel, at: point), expected, accuracy: 1e-12)
                XCTAssertEqual(value(powers, channel: channel, at: point), expected, accuracy: 1e-12)
            }
        }
        // ReLU times a per-channel 0/1 mask plus a polynomial zero on the masked channels: a split slot.
        let relu = ChannelFunction(base: 7, poly: [[0], [0], [0]], relu: [1, 1, 1])
        let split = relu.scaled([1, 0, 1]).adding(x.multiplied(by: x)!.scaled([0, 2, 0]))
        XCTAssertEqual(split.relu, [1, 0, 1])
        XCTAssertEqual(value(split, channel: 1, at: -3), 18, accuracy: 1e-12)
        XCTAssertEqual(value(split, channel: 0, at: -3), 0, accuracy: 1e-12)
        // A ReLU times a function of x is no activation.
        XCTAssertNil(relu.multiplied(by: x))
        XCTAssertTrue(x.isIdentity)
        XCTAssertFalse(x.scaled([1, 1, 2]).isIdentity)
    }

    func testSplitsUseTheNormalisationAndClassNamesACheckpointWasImportedWith() {
        let images = ImageSet(count: 0, pixels: [], labels: [], classCount: 2)
        let splits = DataSplits(train: images, validation: images, test: images, classNames: ["a", "b"], normalization: .unit)
        var config = TrainingConfig(model: .tiny, dataset: "synthetic", epochs: 0)
        XCTAssertEqual(splits.using(config).normalization, .unit)
        XCTAssertEqual(splits.using(config).classNames, ["a", "b"])
        config.normalization = Normalization(mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.2])
        config.classNames = ["cat", "dog"]
        XCTAssertEqual(splits.using(config).normalization, config.normalization)
        XCTAssertEqual(splits.using(config).classNames, ["cat", "dog"])
    }
}
