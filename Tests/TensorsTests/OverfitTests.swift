// A small CNN built from the primitives overfits a few fixed batches: the whole engine (forward,
// pullbacks, tape bookkeeping) must be consistent for the loss to fall this far.
import XCTest
import Tensors

final class OverfitTests: XCTestCase {
    func testSmallCNNOverfitsTwoBatches() {
        Parallel.configure(threads: 2)
        let seed: UInt64 = 4242
        var rng = SeededGenerator(seed: seed)
        let w1 = Parameter(Tensor(shape: [8, 3, 3, 3], values: rng.floats(216, scale: 0.4)))
        let g1 = Parameter(Tensor(shape: [8], repeating: 1)), b1 = Parameter(Tensor(zeros: [8]))
        let w2 = Parameter(Tensor(shape: [16, 8, 3, 3], values: rng.floats(1152, scale: 0.2)))
        let g2 = Parameter(Tensor(shape: [16], repeating: 1)), b2 = Parameter(Tensor(zeros: [16]))
        let coeff = Parameter(Tensor(shape: [16, 3], values: Array(repeating: [0.2, 0.5, 0.2], count: 16).flatMap { $0 }))
        let fw = Parameter(Tensor(shape: [5, 16], values: rng.floats(80, scale: 0.3))), fb = Parameter(Tensor(zeros: [5]))
        let params = [w1, g1, b1, w2, g2, b2, coeff, fw, fb]
        let s1 = BatchNormStatistics(channels: 8), s2 = BatchNormStatistics(channels: 16)
        let batches = (0..<2).map { _ in
            (Tensor(shape: [8, 3, 8, 8], values: rng.floats(8 * 192)), (0..<8).map { _ in Int32.random(in: 0..<5, using: &rng) })
        }
        func loss(_ b: (Tensor, [Int32]), update: Bool) -> Float {
            let tape = Tape()
            var x = tape.conv2d(tape.constant(b.0), tape.parameter(w1), stride: 1, padding: 1)
            x = tape.batchNorm(x, gamma: tape.parameter(g1), beta: tape.parameter(b1), statistics: s1, training: true, relu: true)
            x = tape.averagePool(x, kernel: 2, stride: 2)
            x = tape.conv2d(x, tape.parameter(w2), stride: 2, padding: 1)
            x = tape.batchNorm(x, gamma: tape.parameter(g2), beta: tape.parameter(b2), statistics: s2, training: true)
            x = tape.blend(x, alpha: 0.5, coefficients: tape.parameter(coeff))
            x = tape.globalAveragePool(x)
            let logits = tape.dense(x, weight: tape.parameter(fw), bias: tape.parameter(fb))
            let l = tape.softmaxCrossEntropy(logits, labels: b.1)
            if update {
                tape.backward(from: l)
                for p in params {
                    for i in 0..<p.value.count { p.value.pointer[i] -= 0.05 * p.grad.pointer[i] }
                    p.zeroGrad()
                }
            }
            return l.value[flat: 0]
        }
        let initial = batches.map { loss($0, update: false) }.reduce(0, +) / 2
        for _ in 0..<300 { for b in batches { _ = loss(b, update: true) } }
        let final = batches.map { loss($0, update: false) }.reduce(0, +) / 2
        XCTAssertGreaterThan(initial, 1.0, "seed \(seed)")
        XCTAssertLessThan(final, 0.1, "loss \(initial) -> \(final) (seed \(seed))")
    }
}
