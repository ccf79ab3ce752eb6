// The fast backward paths against each other and against naive references: stride-1 "same"
// convolutions take dW from im2col(dy) when dx is wanted and from im2col(x) when it is not; batch norm
// with fused ReLU recomputes its mask in both backward passes (SIMD body and scalar tail).
import XCTest
import Tensors

final class BackwardPathTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    func testConvWeightGradientWithAndWithoutInputGradientMatchesReference() {
        let seed: UInt64 = 9101
        var rng = SeededGenerator(seed: seed)
        for trial in 0..<12 {
            let n = Int.random(in: 1...7, using: &rng), c = Int.random(in: 1...6, using: &rng)
            let o = Int.random(in: 1...7, using: &rng), k = [1, 3, 5].randomElement(using: &rng)!
            let same = trial % 3 != 2
            let s = same ? 1 : Int.random(in: 1...2, using: &rng)
            let p = same ? k / 2 : Int.random(in: 0...(k / 2), using: &rng)
            let h = Int.random(in: k...11, using: &rng), w = Int.random(in: k...11, using: &rng)
            let xShape = [n, c, h, w], wShape = [o, c, k, k]
            let x = rng.floats(n * c * h * w), wt = rng.floats(o * c * k * k)
            let ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1
            let dy = rng.floats(n * o * ho * wo)
            let ref = referenceWeightGradient(x, xShape, dy, o: o, k: k, stride: s, padding: p)
            let label = "trial \(trial): n\(n) c\(c) h\(h) w\(w) o\(o) k\(k) s\(s) p\(p) (seed \(seed))"
            for wantInput in [true, false] {
                let tape = Tape()
                let xv = wantInput ? tape.input(Tensor(shape: xShape, values: x)) : tape.constant(Tensor(shape: xShape, values: x))
                let wv = tape.input(Tensor(shape: wShape, values: wt))
                let y = tape.conv2d(xv, wv, stride: s, padding: p)
                tape.backward(from: y, seed: Tensor(shape: y.shape, values: dy), keeping: [xv, wv])
                guard let dw = wv.grad?.array else { XCTFail("no weight gradient, \(label)"); continue }
                let worst = zip(dw, ref).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? 0
                XCTAssertLessThan(worst, 1e-4, "dW wantInput=\(wantInput), \(label)")
                XCTAssertEqual(xv.grad != nil, wantInput, label)
            }
        }
    }

    func testBatchNormReLUGradientsOnPlanesWithSIMDBodyAndTail() {
        for (index, shape) in [[2, 3, 40], [3, 2, 16], [2, 2, 5, 7]].enumerated() {
            let seed = UInt64(9200 + index)
            var rng = SeededGenerator(seed: seed)
            let count = shape.reduce(1, *), channels = shape[1]
            let stats = BatchNormStatistics(channels: channels)
            checkGradients("batchNorm relu \(shape)", seed: seed,
                           inputs: [(shape, rng.floats(count, scale: 2)), ([channels], rng.floats(channels)),
                                    ([channels], rng.floats(channels, scale: 0.5))],
                           fast: { tape, v in tape.batchNorm(v[0], gamma: v[1], beta: v[2], statistics: stats, training: true, relu: true) },
                           reference: { a in
                               Reference.relu(Reference.batchNormTraining(a[0], shape, gamma: a[1], beta: a[2], epsilon: 1e-5))
                           })
        }
    }
}
