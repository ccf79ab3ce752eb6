// Every primitive: forward against the naive reference, gradients against Float64 finite differences
// (scheme in GradientCheck.swift).
import XCTest
import Tensors

final class PrimitiveGradientTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    func testConv2dGradients() {
        let cases: [(n: Int, c: Int, h: Int, w: Int, o: Int, k: Int, s: Int, p: Int)] = [
            (2, 3, 6, 6, 4, 3, 1, 1), (2, 2, 7, 5, 3, 3, 2, 1), (2, 4, 5, 5, 3, 1, 1, 0),
            (1, 3, 6, 6, 2, 1, 2, 0), (2, 2, 5, 6, 2, 3, 1, 0), (2, 2, 6, 5, 3, 5, 1, 2), (2, 3, 3, 4, 2, 3, 1, 1),
            (2, 4, 8, 8, 4, 3, 1, 1), // fits the direct kernels (8x8 planes, channels a multiple of 4)
        ]
        for (index, t) in cases.enumerated() {
            let seed = UInt64(100 + index)
            var rng = SeededGenerator(seed: seed)
            let xShape = [t.n, t.c, t.h, t.w], wShape = [t.o, t.c, t.k, t.k]
            checkGradients("conv2d \(t)", seed: seed,
                           inputs: [(xShape, rng.floats(xShape.reduce(1, *))), (wShape, rng.floats(wShape.reduce(1, *)))],
                           fast: { tape, v in tape.conv2d(v[0], v[1], stride: t.s, padding: t.p) },
                           reference: { a in Reference.conv2d(a[0], xShape, a[1], wShape, stride: t.s, padding: t.p) })
        }
    }

    func testBatchNormTrainingGradients() {
        for (index, relu) in [false, true].enumerated() {
            let seed = UInt64(200 + index)
            var rng = SeededGenerator(seed: seed)
            let shape = [3, 2, 5, 4]
            let stats = BatchNormStatistics(channels: 2)
            checkGradients("batchNorm train relu=\(relu)", seed: seed,
                           inputs: [(shape, rng.floats(120, scale: 2)), ([2], [1.2, 0.7]), ([2], [0.1, -0.2])],
                           fast: { tape, v in tape.batchNorm(v[0], gamma: v[1], beta: v[2], statistics: stats, training: true, relu: relu) },
                           reference: { a in
                               let y = Reference.batchNormTraining(a[0], shape, gamma: a[1], beta: a[2], epsilon: 1e-5)
                               return relu ? Reference.relu(y) : y
                           })
        }
    }

    func testBatchNormEvalGradientsAndRunningStatistics() {
        var rng = SeededGenerator(seed: 210)
        let shape = [4, 3, 4, 5]
        let x = rng.floats(240, scale: 3)
        let stats = BatchNormStatistics(channels: 3, momentum: 0.1)
        let tape = Tape(recording: false)
        _ = tape.batchNorm(tape.constant(Tensor(shape: shape, values: x)), gamma: tape.constant(Tensor(shape: [3], repeating: 1)),
                           beta: tape.constant(Tensor(zeros: [3])), statistics: stats, training: true)
        for c in 0..<3 {
            var vals: [Double] = []
            for n in 0..<4 { for i in 0..<20 { vals.append(Double(x[(n * 3 + c) * 20 + i])) } }
            let mu = vals.reduce(0, +) / 80
            let unbiased = vals.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / 79
            XCTAssertEqual(Double(stats.mean.array[c]), 0.1 * mu, accuracy: 1e-5)
            XCTAssertEqual(Double(stats.variance.array[c]), 0.9 + 0.1 * unbiased, accuracy: 1e-4)
        }
        let mean = stats.mean.array.map(Double.init), variance = stats.variance.array.map(Double.init)
        checkGradients("batchNorm eval", seed: 211,
                       inputs: [(shape, x), ([3], [1.1, 0.9, -0.5]), ([3], [0.3, 0, 0.2])],
                       fast: { tape, v in tape.batchNorm(v[0], gamma: v[1], beta: v[2], statistics: stats, training: false) },
                       reference: { a in Reference.batchNormEval(a[0], shape, gamma: a[1], beta: a[2], mean: mean,
                                                                 variance: variance, epsilon: 1e-5) })
    }

    func testReLUGradient() {
        var rng = SeededGenerator(seed: 300)
        let values = rng.floats(60).map { abs($0) < 1e-3 ? 0.5 : $0 }
        checkGradients("relu", seed: 300, inputs: [([3, 4, 5], values)],
                       fast: { tape, v in tape.relu(v[0]) }, reference: { a in Reference.relu(a[0]) })
    }

    func testPolynomialAndBlendGradients() {
        let configurations: [(alpha: Float, perChannel: Bool, degree: Int)] = [
            (0, false, 2), (0, true, 2), (0.3, false, 3), (0.7, true, 2), (1, false, 2),
            (0, true, 1), (0, true, 4), (0.5, true, 5), (0, true, 6),
        ]
        for (index, cfg) in configurations.enumerated() {
            let seed = UInt64(400 + index)
            var rng = SeededGenerator(seed: seed)
            let shape = [2, 3, 2, 3]
            let cShape = cfg.perChannel ? [3, cfg.degree + 1] : [cfg.degree + 1]
            let x = rng.floats(36, scale: 2).map { abs($0) < 1e-3 ? 0.5 : $0 }
            checkGradients("blend \(cfg)", seed: seed,
                           inputs: [(shape, x), (cShape, rng.floats(cShape.reduce(1, *)))],
                           fast: { tape, v in tape.blend(v[0], alpha: cfg.alpha, coefficients: v[1]) },
                           reference: { a in Reference.blend(a[0], shape, alpha: Double(cfg.alpha), coefficients: a[1],
                                                             perChannel: cfg.perChannel) })
        }
    }

    /// One alpha per channel (ReLU channels at 1, blending ones between, polynomial ones at 0), with the
    /// training clamp, against the reference.
    func testPerChannelAlphaBlendGradients() {
        let shape = [2, 3, 2, 3]
        let alphas: [Float] = [1, 0.35, 0]
        for (index, bounds) in [nil, [Float(0.8), 1.5, 3]].enumerated() {
            let seed = UInt64(470 + index)
            var rng = SeededGenerator(seed: seed)
            let x = rng.floats(36, scale: 2).enumerated().map { j, v -> Float in
                let b = bounds?[(j / 6) % 3] ?? 100
                return abs(v) < 1e-2 || abs(abs(v) - b) < 5e-2 ? v + 0.2 : v
            }
            checkGradients("per-channel alphas \(index)", seed: seed,
                           inputs: [(shape, x), ([3, 4], rng.floats(12))],
                           fast: { tape, v in tape.blend(v[0], alphas: Tensor(shape: [3], values: alphas), coefficients: v[1],
                                                         bounds: bounds.map { Tensor(shape: [3], values: $0) }) },
                           reference: { a in Reference.blend(a[0], shape, alpha: 0, coefficients: a[1], perChannel: true,
                                                             bounds: bounds?.map(Double.init), alphas: alphas.map(Double.init)) })
        }
    }

    /// Straight-through rounding: values on the grid forward, the gradient passed through unchanged.
    func testStraightThroughRounding() {
        let tape = Tape()
        let x = tape.input(Tensor(shape: [4], values: [0.3, -0.7, 1.126, 0.5]))
        let y = tape.roundStraightThrough(x, fractionalBits: 2)
        XCTAssertEqual(y.value.array, [0.25, -0.75, 1.25, 0.5])
        let seed = Tensor(shape: [4], values: [1, -2, 3, 0.5])
        tape.backward(from: y, seed: seed, keeping: [x])
        XCTAssertEqual(x.grad?.array, seed.array)
    }

    /// The training-only clamp of the polynomial's input and the range penalty that goes with it.
    func testClampedBlendAndRangePenaltyGradients() {
        let shape = [2, 3, 2, 3]
        let bounds: [Float] = [0.8, 1.5, 3]
        for (index, alpha) in [Float(0), 0.4].enumerated() {
            let seed = UInt64(450 + index)
            var rng = SeededGenerator(seed: seed)
            // Away from the kinks at 0 and at +-b, where finite differences straddle two pieces.
            let x = rng.floats(36, scale: 3).enumerated().map { j, v -> Float in
                let b = bounds[(j / 6) % 3]
                return abs(v) < 1e-2 || abs(abs(v) - b) < 5e-2 ? v + 0.2 : v
            }
            XCTAssertTrue(x.enumerated().contains { abs($0.element) > bounds[($0.offset / 6) % 3] }, "some values clamp")
            checkGradients("clamped blend alpha \(alpha)", seed: seed,
                           inputs: [(shape, x), ([3, 3], rng.floats(9))],
                           fast: { tape, v in tape.blend(v[0], alpha: alpha, coefficients: v[1],
                                                         bounds: Tensor(shape: [3], values: bounds)) },
                           reference: { a in Reference.blend(a[0], shape, alpha: Double(alpha), coefficients: a[1],
                                                             perChannel: true, bounds: bounds.map(Double.init)) })
            checkGradients("range penalty \(index)", seed: seed, inputs: [(shape, x)],
                           fast: { tape, v in tape.rangePenalty(v[0], bounds: Tensor(shape: [3], values: bounds), weight: 1.7) },
                           reference: { a in [Reference.rangePenalty(a[0], shape, bounds: bounds.map(Double.init), weight: 1.7)] })
        }
        // Planes of 35 values: the range penalty's 16-lane body and its scalar tail.
        let wide = [2, 3, 5, 7]
        var rng = SeededGenerator(seed: 455)
        let xw = rng.floats(210, scale: 3).enumerated().map { j, v -> Float in
            let b = bounds[(j / 35) % 3]
            return abs(abs(v) - b) < 5e-2 ? v + 0.2 : v
        }
        checkGradients("range penalty, SIMD body and tail", seed: 455, inputs: [(wide, xw)],
                       fast: { tape, v in tape.rangePenalty(v[0], bounds: Tensor(shape: [3], values: bounds), weight: 0.9) },
                       reference: { a in [Reference.rangePenalty(a[0], wide, bounds: bounds.map(Double.init), weight: 0.9)] })
        // Within the bounds the penalty is exactly zero and the blend equals the unclamped one.
        let tape = Tape(recording: false)
        let inside = tape.constant(Tensor(shape: [1, 3, 1, 2], values: [0.5, -0.7, 1.4, -1.2, 2.9, 0.1]))
        let b = Tensor(shape: [3], values: bounds)
        XCTAssertEqual(tape.rangePenalty(inside, bounds: b, weight: 1).value[flat: 0], 0)
        let c = tape.constant(Tensor(shape: [3], values: [0.2, 0.5, 0.2]))
        XCTAssertEqual(tape.blend(inside, alpha: 0, coefficients: c, bounds: b).value.array,
                       tape.blend(inside, alpha: 0, coefficients: c).value.array)
    }

    func testPoolingGradients() {
        var rng = SeededGenerator(seed: 500)
        let shape = [2, 3, 4, 6]
        let x = rng.floats(144)
        checkGradients("averagePool", seed: 500, inputs: [(shape, x)],
                       fast: { tape, v in tape.averagePool(v[0], kernel: 2, stride: 2) },
                       reference: { a in Reference.averagePool(a[0], shape, kernel: 2, stride: 2) })
        checkGradients("globalAveragePool", seed: 501, inputs: [(shape, x)],
                       fast: { tape, v in tape.globalAveragePool(v[0]) },
                       reference: { a in Reference.globalAveragePool(a[0], shape) })
    }

    func testDenseGradients() {
        var rng = SeededGenerator(seed: 600)
        checkGradients("dense", seed: 600,
                       inputs: [([3, 5], rng.floats(15)), ([4, 5], rng.floats(20)), ([4], rng.floats(4))],
                       fast: { tape, v in tape.dense(v[0], weight: v[1], bias: v[2]) },
                       reference: { a in Reference.dense(a[0], n: 3, inputs: 5, weight: a[1], bias: a[2]) })
    }

    func testAddAndReshapeGradients() {
        var rng = SeededGenerator(seed: 700)
        checkGradients("add", seed: 700, inputs: [([2, 3, 2, 2], rng.floats(24)), ([2, 3, 2, 2], rng.floats(24))],
                       fast: { tape, v in tape.add(tape.reshape(v[0], [2, 12]), tape.reshape(v[1], [2, 12])) },
                       reference: { a in zip(a[0], a[1]).map { $0 + $1 } })
        checkGradients("addReLU", seed: 702, inputs: [([2, 3, 4, 4], rng.floats(96)), ([2, 3, 4, 4], rng.floats(96))],
                       fast: { tape, v in tape.addReLU(v[0], v[1]) },
                       reference: { a in Reference.relu(zip(a[0], a[1]).map { $0 + $1 }) })
        // The same input used twice accumulates both gradients.
        checkGradients("add self", seed: 701, inputs: [([2, 5], rng.floats(10))],
                       fast: { tape, v in tape.add(v[0], v[0]) }, reference: { a in a[0].map { 2 * $0 } })
    }

    func testCrossEntropyGradients() {
        for (index, eps) in [Float(0), 0.1].enumerated() {
            let seed = UInt64(800 + index)
            var rng = SeededGenerator(seed: seed)
            let labels: [Int32] = [0, 4, 2]
            checkGradients("cross-entropy eps=\(eps)", seed: seed, inputs: [([3, 5], rng.floats(15, scale: 3))],
                           fast: { tape, v in tape.softmaxCrossEntropy(v[0], labels: labels, labelSmoothing: eps) },
                           reference: { a in [Reference.softmaxCrossEntropy(a[0], n: 3, classes: 5, labels: labels,
                                                                            labelSmoothing: Double(eps))] })
        }
    }
}
