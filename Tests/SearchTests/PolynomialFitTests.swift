import Foundation
import NetworkPlan
import Search
import Training
import XCTest

final class PolynomialFitTests: XCTestCase {
    private func moments(_ values: [Float], degree: Int, shape: [Int]) -> ReLUFitMoments {
        var m = ReLUFitMoments(degree: degree, channels: shape[1])
        values.withUnsafeBufferPointer { m.add($0, shape: shape) }
        return m
    }

    /// Inputs uniform on [-R, R]: the least-squares quadratic is 3R/32 + x/2 + 15x^2/(32R) (Legendre
    /// expansion of |x|/2 + x/2), so the x^2 coefficient shrinks as the range grows.
    func testUniformRangeMatchesTheClosedForm() {
        for range: Float in [1, 8, 0.25] {
            let n = 20_001
            let values = (0..<n).map { Float($0) / Float(n - 1) * 2 * range - range }
            let c = moments(values, degree: 2, shape: [1, 1, n]).coefficients(channel: 0)
            XCTAssertEqual(c[0], 3 * range / 32, accuracy: 2e-3 * range, "R = \(range)")
            XCTAssertEqual(c[1], 0.5, accuracy: 2e-3, "R = \(range)")
            XCTAssertEqual(c[2], 15 / (32 * range), accuracy: 2e-3 / range, "R = \(range)")
        }
    }

    /// The fit's residual is orthogonal to every power up to the degree (the normal equations), for
    /// skewed Gaussian inputs and degrees 2 to 4.
    func testResidualIsOrthogonalToThePowers() {
        var rng = RandomGenerator(seed: 11)
        let values = (0..<50_000).map { _ in 0.7 + 2.5 * rng.normal() }
        for degree in 2...4 {
            let c = moments(values, degree: degree, shape: [values.count, 1]).coefficients(channel: 0).map(Double.init)
            XCTAssertEqual(c.count, degree + 1)
            for k in 0...degree {
                var dot = 0.0, scale = 0.0
                for v in values {
                    let x = Double(v)
                    var p = 0.0, power = 1.0
                    for a in c { p += a * power; power *= x }
                    dot += (p - max(x, 0)) * pow(x, Double(k))
                    scale += abs(max(x, 0) * pow(x, Double(k)))
                }
                XCTAssertLessThan(abs(dot) / scale, 1e-4, "degree \(degree), power \(k): seed 11")
            }
        }
    }

    /// Channels of an NCHW tensor are fitted separately: a channel whose values are c times larger gets
    /// an x^2 coefficient c times smaller, a constant term c times larger; the pooled fit mixes them.
    func testChannelsOfAnNCHWTensorAreFittedApart() {
        var rng = RandomGenerator(seed: 5)
        let shape = [6, 3, 4, 4]
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        for i in values.indices { values[i] = Float((i / 16) % 3 + 1) * rng.normal() }
        let m = moments(values, degree: 2, shape: shape)
        XCTAssertEqual(m.count(channel: 1), 96)
        for c in 0..<3 {
            let channelValues = values.indices.filter { ($0 / 16) % 3 == c }.map { abs(values[$0]) }
            XCTAssertEqual(m.largest[c], channelValues.max()!, "largest magnitude of channel \(c)")
        }
        let base = m.coefficients(channel: 0)
        let pooled = m.coefficients(channel: nil)
        for c in 1..<3 {
            let fit = m.coefficients(channel: c)
            XCTAssertGreaterThan(fit[0], base[0] * 1.2, "channel \(c)")
            XCTAssertLessThan(fit[2], base[2] / 1.2, "channel \(c)")
        }
        XCTAssertLessThan(pooled[2], base[2])
        XCTAssertGreaterThan(pooled[2], m.coefficients(channel: 2)[2])
    }

    /// With a clip, values enter the sums clamped (the same fit as clamping them by hand), while
    /// `largest` still reports the raw extreme; the root mean square is that of the clamped values.
    func testClipClampsValuesBeforeTheSums() {
        var rng = RandomGenerator(seed: 21)
        var values = (0..<4_000).map { _ in rng.normal() }
        values[7] = 90; values[11] = -60
        var clipped = ReLUFitMoments(degree: 4, channels: 1, clip: [3])
        values.withUnsafeBufferPointer { clipped.add($0, shape: [1, 1, values.count]) }
        let byHand = moments(values.map { min(max($0, -3), 3) }, degree: 4, shape: [1, 1, values.count])
        XCTAssertEqual(clipped.coefficients(channel: 0), byHand.coefficients(channel: 0))
        XCTAssertEqual(clipped.largest[0], 90)
        XCTAssertEqual(clipped.rootMeanSquare(channel: 0), byHand.rootMeanSquare(channel: 0))
        XCTAssertLessThan(clipped.rootMeanSquare(channel: 0), 1.2, "seed 21")
    }

    /// Uniform weight 1 ignores the data: the quadratic is the closed-form uniform fit over [-b, b] with b
    /// the clip (3R/32 + x/2 + 15x^2/(32R)); weight 0 is the data-only fit.
    func testUniformWeightBlendsInTheRangeFit() {
        var rng = RandomGenerator(seed: 4)
        let values = (0..<5_000).map { _ in 0.3 * rng.normal() + 0.2 }
        for range: Float in [2, 5] {
            var m = ReLUFitMoments(degree: 2, channels: 1, clip: [range])
            values.withUnsafeBufferPointer { m.add($0, shape: [1, 1, values.count]) }
            let uniform = m.coefficients(channel: 0, uniformWeight: 1)
            XCTAssertEqual(uniform[0], 3 * range / 32, accuracy: 1e-4 * range)
            XCTAssertEqual(uniform[1], 0.5, accuracy: 1e-4)
            XCTAssertEqual(uniform[2], 15 / (32 * range), accuracy: 1e-4 / range)
            XCTAssertEqual(m.coefficients(channel: 0, uniformWeight: 0), m.coefficients(channel: 0))
            let mixed = m.coefficients(channel: 0, uniformWeight: 0.5)
            XCTAssertGreaterThan(mixed[0], min(uniform[0], m.coefficients(channel: 0)[0]) - 1e-6)
            XCTAssertLessThan(mixed[0], max(uniform[0], m.coefficients(channel: 0)[0]) + 1e-6)
        }
    }

    /// Too few samples (or none) fall back to Delphi's coefficients instead of a singular system.
    func testTooFewSamplesFallBackToDelphi() {
        XCTAssertEqual(moments([1, 1, 1], degree: 2, shape: [1, 1, 3]).coefficients(channel: 0), [0.2, 0.5, 0.2])
        XCTAssertEqual(ReLUFitMoments(degree: 3, channels: 2).coefficients(channel: nil), [0.2, 0.5, 0.2, 0])
        // Many equal values: singular without the ridge; still finite.
        let constant = moments([Float](repeating: 2, count: 100), degree: 2, shape: [1, 1, 100]).coefficients(channel: 0)
        XCTAssertTrue(constant.allSatisfy(\.isFinite))
    }

    /// In the engine, a newly polynomial slot starts from per-channel fits of its measured inputs
    /// (deterministic), and the all-polynomial network then agrees with the ReLU baseline more than
    /// with Delphi's fixed coefficients.
    func testEngineFitsNewSlotsToTheirInputs() throws {
        let (baseline, splits) = try SearchFixtures.baseline()
        let config = SearchFixtures.config([.polynomial(degree: 2), .polynomial(degree: 2)])
        var agreement: [PolynomialInitialization.Kind: Float] = [:]
        let (reference, _) = try TrainingCheckpoint.loadNetwork(from: baseline)
        let referenceResult = Evaluation.run(reference, images: splits.validation, normalization: splits.normalization)
        for kind in PolynomialInitialization.Kind.allCases {
            var options = SearchFixtures.options()
            options.polynomialInitialization = kind
            let trainable = try EngineTrainable(baseline: baseline, splits: splits, options: options)
            try trainable.restore(member: 0, config: config, from: baseline)
            let slot = trainable.network.slots[0]
            XCTAssertEqual(slot.coefficients?.shape, [8, 3])
            let first = slot.coefficients!.value.array
            if kind == .fitted {
                XCTAssertNotEqual(Array(first.prefix(3)), [0.2, 0.5, 0.2])
                XCTAssertNotEqual(Array(first.prefix(3)), Array(first[3..<6]), "one fit per channel")
                try trainable.restore(member: 0, config: config, from: baseline)
                XCTAssertEqual(trainable.network.slots[0].coefficients!.value.array, first, "deterministic")
            } else {
                XCTAssertEqual(Array(first.prefix(3)), [0.2, 0.5, 0.2])
            }
            for s in trainable.network.slots { s.restore(mode: .polynomial, coefficients: s.coefficients!.value) }
            let result = Evaluation.run(trainable.network, images: splits.validation, normalization: splits.normalization)
            agreement[kind] = abs(result.accuracy - referenceResult.accuracy)
        }
        XCTAssertLessThanOrEqual(agreement[.fitted]!, agreement[.delphi]!,
                                 "accuracy gap to the ReLU baseline: fitted \(agreement[.fitted]!), delphi \(agreement[.delphi]!)")
    }
}
