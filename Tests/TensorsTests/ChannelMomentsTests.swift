// Batch-norm statistics gathered by the convolution (ChannelMoments, CKernels' moments.c): the AVX-512 sums
// against the plain loop and a Float64 reference, and a training conv -> batch norm (+ ReLU) whose forward,
// running statistics and gradients equal those of the same batch norm computing its own statistics.
import XCTest
import CKernels
import Tensors

final class ChannelMomentsTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    func testMomentsMatchReference() {
        var rng = SeededGenerator(seed: 9301)
        for (c, hw) in [(3, 1024), (5, 64), (2, 37), (4, 16), (1, 1)] {
            // An offset mean, as a convolution's output can have.
            let y = rng.floats(c * hw, scale: 2).map { $0 + 3 }
            var s = [Double](repeating: 0, count: c), q = s, sp = s, qp = s
            cchannel_moments(y, Int32(c), Int32(hw), &s, &q)
            cchannel_moments_plain(y, Int32(c), Int32(hw), &sp, &qp)
            for ch in 0..<c {
                let plane = y[(ch * hw)..<((ch + 1) * hw)].map(Double.init)
                let rs = plane.reduce(0, +), rq = plane.reduce(0) { $0 + $1 * $1 }
                XCTAssertEqual(s[ch], rs, accuracy: 1e-5 * max(1, abs(rs)), "sum c\(c) hw\(hw)")
                XCTAssertEqual(q[ch], rq, accuracy: 1e-5 * max(1, rq), "squares c\(c) hw\(hw)")
                XCTAssertEqual(sp[ch], rs, accuracy: 1e-9 * max(1, abs(rs)), "plain sum c\(c) hw\(hw)")
                XCTAssertEqual(qp[ch], rq, accuracy: 1e-9 * max(1, rq), "plain squares c\(c) hw\(hw)")
            }
        }
    }

    private func worst(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0 }

    /// conv -> batch norm (training, with and without the fused ReLU), on the direct kernels' shapes and on a
    /// stride-2 convolution (the GEMM path): the batch norm of the convolution's output (moments gathered by the
    /// convolution) against the same batch norm of an input holding the same values (its own statistics pass).
    func testBatchNormOfConvolutionUsesItsMomentsExactly() {
        var rng = SeededGenerator(seed: 9302)
        for (n, c, o, h, stride) in [(3, 8, 16, 32, 1), (2, 16, 8, 8, 1), (2, 4, 8, 16, 2)] {
            for relu in [false, true] {
                let x = rng.floats(n * c * h * h), w = rng.floats(o * c * 9, scale: 0.5)
                let gamma = rng.floats(o), beta = rng.floats(o), dy = rng.floats(n * o * (h / stride) * (h / stride))
                func run(viaConvolution: Bool) -> (y: [Float], mean: [Float], variance: [Float], dz: [Float], dgamma: [Float]) {
                    let tape = Tape()
                    let xv = tape.input(Tensor(shape: [n, c, h, h], values: x))
                    let wv = tape.input(Tensor(shape: [o, c, 3, 3], values: w))
                    let z = tape.conv2d(xv, wv, stride: stride, padding: 1)
                    XCTAssertNotNil(z.channelMoments)
                    let input = viaConvolution ? z : tape.input(z.value.copy())
                    XCTAssertEqual(input.channelMoments == nil, !viaConvolution)
                    let g = tape.input(Tensor(shape: [o], values: gamma)), b = tape.input(Tensor(shape: [o], values: beta))
                    let stats = BatchNormStatistics(channels: o)
                    let y = tape.batchNorm(input, gamma: g, beta: b, statistics: stats, training: true, relu: relu)
                    tape.backward(from: y, seed: Tensor(shape: y.shape, values: dy), keeping: [input, g])
                    return (y.value.array, stats.mean.array, stats.variance.array, input.grad?.array ?? [], g.grad?.array ?? [])
                }
                let fused = run(viaConvolution: true), own = run(viaConvolution: false)
                let label = "n\(n) c\(c) o\(o) \(h)x\(h) stride \(stride) relu \(relu)"
                XCTAssertLessThan(worst(fused.y, own.y), 1e-4, "y, \(label)")
                XCTAssertLessThan(worst(fused.mean, own.mean), 1e-5, "running mean, \(label)")
                XCTAssertLessThan(worst(fused.variance, own.variance), 1e-4, "running variance, \(label)")
                XCTAssertLessThan(worst(fused.dz, own.dz), 1e-3, "dx, \(label)")
                XCTAssertLessThan(worst(fused.dgamma, own.dgamma), 1e-3, "dgamma, \(label)")
            }
        }
    }

    func testEvaluationTapesGatherNoMoments() {
        let tape = Tape(recording: false)
        var rng = SeededGenerator(seed: 9303)
        let z = tape.conv2d(tape.constant(Tensor(shape: [1, 4, 8, 8], values: rng.floats(256))),
                            tape.constant(Tensor(shape: [4, 4, 3, 3], values: rng.floats(144))), stride: 1, padding: 1)
        XCTAssertNil(z.channelMoments)
    }
}

/// `Tape.convBatchNormInference` against conv2d + batchNorm (evaluation) + add / addReLU on a recording tape, on
/// direct-kernel shapes and on the GEMM path (stride 2, 1x1), with and without residual and ReLU.
final class ConvBatchNormInferenceTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    func testFusedEqualsSeparateOps() {
        var rng = SeededGenerator(seed: 9304)
        for (n, c, o, h, k, stride) in [(3, 8, 16, 32, 3, 1), (2, 16, 8, 8, 3, 1), (2, 4, 8, 16, 3, 2), (2, 8, 16, 16, 1, 2),
                                         (1, 4, 4, 64, 3, 1)] {
            let ho = h / stride, pad = k / 2
            let x = rng.floats(n * c * h * h), w = rng.floats(o * c * k * k, scale: 0.5)
            let gamma = rng.floats(o), beta = rng.floats(o), r = rng.floats(n * o * ho * ho)
            let stats = BatchNormStatistics(channels: o)
            for i in 0..<o { stats.mean.pointer[i] = rng.floats(1)[0]; stats.variance.pointer[i] = 0.5 + abs(rng.floats(1)[0]) }
            for (residual, relu) in [(false, false), (false, true), (true, false), (true, true)] {
                let label = "n\(n) c\(c) o\(o) \(h)x\(h) k\(k) stride \(stride) residual \(residual) relu \(relu)"
                let fusedTape = Tape(recording: false)
                let fused = fusedTape.convBatchNormInference(
                    fusedTape.constant(Tensor(shape: [n, c, h, h], values: x)), weight: Tensor(shape: [o, c, k, k], values: w),
                    stride: stride, padding: pad, gamma: Tensor(shape: [o], values: gamma), beta: Tensor(shape: [o], values: beta),
                    statistics: stats, residual: residual ? fusedTape.constant(Tensor(shape: [n, o, ho, ho], values: r)) : nil,
                    relu: relu)
                let tape = Tape()
                let z = tape.conv2d(tape.input(Tensor(shape: [n, c, h, h], values: x)), tape.input(Tensor(shape: [o, c, k, k], values: w)),
                                    stride: stride, padding: pad)
                var y = tape.batchNorm(z, gamma: tape.input(Tensor(shape: [o], values: gamma)),
                                       beta: tape.input(Tensor(shape: [o], values: beta)), statistics: stats, training: false,
                                       relu: relu && !residual)
                if residual {
                    let rv = tape.input(Tensor(shape: [n, o, ho, ho], values: r))
                    y = relu ? tape.addReLU(y, rv) : tape.add(y, rv)
                }
                XCTAssertEqual(fused.shape, y.shape, label)
                let worst = zip(fused.value.array, y.value.array).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 1
                XCTAssertLessThan(worst, 1e-5, label)
            }
        }
    }
}
