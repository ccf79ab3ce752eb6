import XCTest
import Tensors
import Training

final class OptimizerTests: XCTestCase {
    func testSGDMatchesHandComputation() {
        for nesterov in [false, true] {
            let w = Parameter(Tensor(shape: [2], values: [1, -2]))
            let b = Parameter(Tensor(shape: [1], values: [0.5]))
            let params = [NamedParameter(name: "w", parameter: w, decays: true), NamedParameter(name: "b", parameter: b, decays: false)]
            let sgd = SGD(settings: SGDSettings(momentum: 0.9, nesterov: nesterov, weightDecay: 0.1))
            var ew: [Double] = [1, -2], eb = 0.5, vw: [Double] = [0, 0], vb = 0.0
            for step in 0..<3 {
                let gw: [Double] = [0.3, -0.1 * Double(step)], gb = 0.2
                w.grad.assign(Tensor(shape: [2], values: gw.map(Float.init)))
                b.grad.assign(Tensor(shape: [1], values: [Float(gb)]))
                sgd.step(params, learningRate: 0.5)
                for i in 0..<2 {
                    let g = gw[i] + 0.1 * ew[i]
                    vw[i] = 0.9 * vw[i] + g
                    ew[i] -= 0.5 * (nesterov ? g + 0.9 * vw[i] : vw[i])
                }
                vb = 0.9 * vb + gb
                eb -= 0.5 * (nesterov ? gb + 0.9 * vb : vb)
            }
            XCTAssertEqual(Double(w.value[flat: 0]), ew[0], accuracy: 1e-5)
            XCTAssertEqual(Double(w.value[flat: 1]), ew[1], accuracy: 1e-5)
            XCTAssertEqual(Double(b.value[flat: 0]), eb, accuracy: 1e-5)
            XCTAssertEqual(w.grad.array, [0, 0], "gradients are zeroed")
        }
    }

    /// A restored momentum buffer of another shape (a slot's polynomial changed degree since the member's
    /// checkpoint: [C, 3] coefficients became [C, 5]) is replaced by zeros, never read past its end.
    func testMomentumOfAnotherShapeStartsAgain() {
        let c = Parameter(Tensor(shape: [2, 5], values: [Float](repeating: 1, count: 10)))
        let sgd = SGD(settings: SGDSettings(momentum: 0.9, nesterov: false, weightDecay: 0))
        sgd.setVelocity(Tensor(shape: [2, 3], values: [Float](repeating: 7, count: 6)), for: "slot.coefficients")
        c.grad.assign(Tensor(shape: [2, 5], values: [Float](repeating: 0.5, count: 10)))
        sgd.step([NamedParameter(name: "slot.coefficients", parameter: c, decays: false)], learningRate: 0.1)
        XCTAssertEqual(c.value.array, [Float](repeating: 0.95, count: 10), "the stale buffer must not contribute")
        XCTAssertEqual(sgd.velocity["slot.coefficients"]?.shape, [2, 5])
    }

    func testClipping() {
        let p = Parameter(Tensor(shape: [3], values: [1, 2, 3]))
        p.grad.assign(Tensor(shape: [3], values: [3, -4, 0.5]))
        let params = [NamedParameter(name: "p", parameter: p, decays: true)]
        GradientClipping.clipByValue(params, limit: 2)
        XCTAssertEqual(p.grad.array, [2, -2, 0.5])
        p.grad.assign(Tensor(shape: [3], values: [3, -4, 0]))
        XCTAssertEqual(GradientClipping.clipByGlobalNorm(params, maxNorm: 1), 5, accuracy: 1e-6)
        XCTAssertEqual(p.grad.array[0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(p.grad.array[1], -0.8, accuracy: 1e-6)
        GradientClipping.clipByGlobalNorm(params, maxNorm: 10)
        XCTAssertEqual(p.grad.array[0], 0.6, accuracy: 1e-6, "no scaling below the limit")
    }

    func testSchedules() {
        let one = LearningRateSchedule(kind: .onecycle, peak: 0.2, totalSteps: 1000)
        XCTAssertEqual(one.learningRate(step: 0), 0.2 / 25, accuracy: 1e-6)
        XCTAssertEqual(one.learningRate(step: 149), 0.2, accuracy: 1e-4)
        XCTAssertLessThan(one.learningRate(step: 999), 1e-5)
        XCTAssertGreaterThan(one.learningRate(step: 100), one.learningRate(step: 50))
        XCTAssertGreaterThan(one.learningRate(step: 500), one.learningRate(step: 800))
        let cosine = LearningRateSchedule(kind: .cosine, peak: 0.1, totalSteps: 100)
        XCTAssertEqual(cosine.learningRate(step: 0), 0.1, accuracy: 1e-6)
        XCTAssertEqual(cosine.learningRate(step: 50), 0.05, accuracy: 1e-6)
        let step = LearningRateSchedule(kind: .step, peak: 0.1, totalSteps: 100)
        XCTAssertEqual(step.learningRate(step: 10), 0.1, accuracy: 1e-7)
        XCTAssertEqual(step.learningRate(step: 60), 0.01, accuracy: 1e-7)
        XCTAssertEqual(step.learningRate(step: 90), 0.001, accuracy: 1e-7)
        XCTAssertThrowsError(try ScheduleKind.parse("linear"))
    }

    /// Scaling a polynomial slot's coefficient gradient by s^-k before clipping and again before the SGD
    /// step trains a_k exactly as SGD (momentum, global-norm clipping) would train the normalised
    /// coefficients c_k = a_k s^k of sum c_k (x/s)^k.
    func testScaledCoefficientGradientsEqualSGDOnNormalisedCoefficients() {
        let bounds: [Float] = [4, 0.5]
        let slot = ActivationSlot(name: "s", channels: 2, elementsPerImage: 2)
        slot.setPolynomial(coefficients: [0.1, 0.5, 0.2, -0.01, 0.003], perChannel: true)
        slot.setInputBounds(bounds)
        let raw = slot.coefficients!
        let normalised = Parameter(Tensor(shape: raw.shape, values: (0..<10).map { i in
            raw.value.array[i] * pow(bounds[i / 5], Float(i % 5)) }))
        let sgdRaw = SGD(settings: SGDSettings(momentum: 0.9, nesterov: false, weightDecay: 0))
        let sgdNormalised = SGD(settings: SGDSettings(momentum: 0.9, nesterov: false, weightDecay: 0))
        var rng = RandomGenerator(seed: 3)
        for _ in 0..<4 {
            // A gradient with respect to a_k, and the same one with respect to c_k (dL/dc_k = dL/da_k / s^k).
            let g = (0..<10).map { _ in 50 * rng.normal() }
            for i in 0..<10 { raw.grad.pointer[i] = g[i]; normalised.grad.pointer[i] = g[i] / pow(bounds[i / 5], Float(i % 5)) }
            let rawParameters = [NamedParameter(name: "a", parameter: raw, decays: false)]
            let normalisedParameters = [NamedParameter(name: "c", parameter: normalised, decays: false)]
            slot.scaleCoefficientGradient()
            GradientClipping.clipByGlobalNorm(rawParameters, maxNorm: 1)
            slot.scaleCoefficientGradient()
            sgdRaw.step(rawParameters, learningRate: 0.1)
            GradientClipping.clipByGlobalNorm(normalisedParameters, maxNorm: 1)
            sgdNormalised.step(normalisedParameters, learningRate: 0.1)
            for i in 0..<10 {
                let expected = normalised.value.array[i] / pow(bounds[i / 5], Float(i % 5))
                XCTAssertEqual(raw.value.array[i], expected, accuracy: 1e-5 * max(1, abs(expected)), "coefficient \(i), seed 3")
            }
        }
    }
}
