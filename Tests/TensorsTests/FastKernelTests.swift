// Fast kernels against naive references on random shapes, strides and paddings (Float32 both sides).
import XCTest
import Tensors

final class FastKernelTests: XCTestCase {
    func testConvolutionMatchesReferenceOnRandomShapes() {
        Parallel.configure(threads: 2)
        let seed: UInt64 = 9001
        var rng = SeededGenerator(seed: seed)
        for trial in 0..<25 {
            let n = Int.random(in: 1...5, using: &rng), c = Int.random(in: 1...9, using: &rng)
            let o = Int.random(in: 1...12, using: &rng), k = [1, 3, 5].randomElement(using: &rng)!
            let s = Int.random(in: 1...3, using: &rng), p = Int.random(in: 0...(k / 2 + 1), using: &rng)
            let h = Int.random(in: k...17, using: &rng), w = Int.random(in: k...17, using: &rng)
            let x = rng.floats(n * c * h * w), wt = rng.floats(o * c * k * k)
            let tape = Tape(recording: false)
            let y = tape.conv2d(tape.constant(Tensor(shape: [n, c, h, w], values: x)),
                                tape.constant(Tensor(shape: [o, c, k, k], values: wt)), stride: s, padding: p)
            let ref = Reference.conv2d(x, [n, c, h, w], wt, [o, c, k, k], stride: s, padding: p)
            XCTAssertEqual(y.value.count, ref.count, "trial \(trial) seed \(seed)")
            let worst = zip(y.value.array, ref).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-3, "trial \(trial): n\(n) c\(c) h\(h) w\(w) o\(o) k\(k) s\(s) p\(p) (seed \(seed))")
        }
    }

    func testBatchNormReLUMatchesReferenceOnLargePlanes() {
        let seed: UInt64 = 9002
        var rng = SeededGenerator(seed: seed)
        for (n, c, hw) in [(4, 3, 1024), (3, 5, 64), (2, 7, 37)] {
            let x = rng.floats(n * c * hw, scale: 3)
            let gamma = rng.floats(c), beta = rng.floats(c)
            let tape = Tape(recording: false)
            let y = tape.batchNorm(tape.constant(Tensor(shape: [n, c, hw], values: x)), gamma: tape.constant(Tensor(shape: [c], values: gamma)),
                                   beta: tape.constant(Tensor(shape: [c], values: beta)), statistics: BatchNormStatistics(channels: c),
                                   training: true, relu: true)
            let ref = Reference.relu(Reference.batchNormTraining(x, [n, c, hw], gamma: gamma, beta: beta, epsilon: 1e-5))
            let worst = zip(y.value.array, ref).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-4, "n\(n) c\(c) hw\(hw) (seed \(seed))")
        }
    }
}
