// The direct 3x3 kernels (CKernels, AVX-512) against the naive references: forward, input gradient and
// weight gradient on every plane shape they accept (rows of 64, 32, 16, 8 and 4 pixels, several rows per
// vector when W < 16), odd channel counts, batch 1, and shapes where only one of the two gradients fits
// (the other then takes the GEMM path). On CPUs without AVX-512 the GEMM path runs and is checked the same.
import XCTest
import Tensors

final class DirectConvolutionTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }
    override func tearDown() { NativeKernels.enabled = true }

    private func worst(_ a: [Float], _ b: [Double]) -> Double {
        zip(a, b).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? 0
    }

    func testDirectKernelsMatchReferences() {
        let seed: UInt64 = 9201
        var rng = SeededGenerator(seed: seed)
        // (n, c, o, h, w): CIFAR's three planes, short and long rows, C not a multiple of 4 (dx then via GEMM),
        // the stem's 3 -> 16, rows of 64 and 8.
        let cases = [(2, 16, 16, 32, 32), (1, 32, 32, 16, 16), (3, 8, 12, 8, 8), (2, 5, 4, 4, 16), (1, 4, 8, 2, 32),
                     (2, 6, 8, 16, 4), (1, 3, 16, 32, 32), (2, 12, 4, 8, 8), (2, 4, 8, 2, 64), (2, 5, 8, 16, 8),
                     // input channels in the weight gradient's lanes (C a multiple of 32): 64 and 32 per group, short
                     // last output-channel blocks
                     (2, 32, 8, 8, 8), (1, 64, 12, 8, 8), (1, 96, 20, 16, 16), (2, 64, 4, 4, 16)]
        for allowDirect in [true, false] {
            NativeKernels.enabled = allowDirect
            for (n, c, o, h, w) in cases {
                let label = "n\(n) c\(c) o\(o) \(h)x\(w) direct=\(allowDirect) (seed \(seed), \(NativeKernels.convolutionName))"
                let xShape = [n, c, h, w], wShape = [o, c, 3, 3]
                let x = rng.floats(n * c * h * w), wt = rng.floats(o * c * 9), dy = rng.floats(n * o * h * w)
                let tape = Tape()
                let xv = tape.input(Tensor(shape: xShape, values: x)), wv = tape.input(Tensor(shape: wShape, values: wt))
                let y = tape.conv2d(xv, wv, stride: 1, padding: 1)
                let ref = Reference.conv2d(x.map(Double.init), xShape, wt.map(Double.init), wShape, stride: 1, padding: 1)
                XCTAssertLessThan(worst(y.value.array, ref), 1e-4, "forward, \(label)")
                tape.backward(from: y, seed: Tensor(shape: y.shape, values: dy), keeping: [xv, wv])
                let (dxRef, dwRef) = referenceGradients(x, xShape, wt, dy, o: o, k: 3, stride: 1, padding: 1)
                XCTAssertLessThan(worst(xv.grad?.array ?? [], dxRef), 1e-4, "dx, \(label)")
                XCTAssertLessThan(worst(wv.grad?.array ?? [], dwRef), 1e-4, "dW, \(label)")
                XCTAssertEqual(xv.grad?.count, x.count, label)
                XCTAssertEqual(wv.grad?.count, wt.count, label)
            }
        }
    }

    /// A residual input: x feeds a convolution and a ReLU whose sum is the output. The ReLU's pullback runs first
    /// and leaves x a gradient only x holds, so the convolution's direct dx kernel adds into it in place
    /// (`Tape.exclusiveGradient`): dx = dy * [x > 0] + the reference. With the identity instead of the ReLU
    /// (out = conv(x) + x), x's first gradient is dy itself, still held by the convolution's output while its
    /// pullback runs: it must not be written, and the separate sum gives dy + the reference.
    func testInputGradientAddedInPlaceEqualsTheSum() {
        var rng = SeededGenerator(seed: 9202)
        for (n, c, h, w) in [(2, 16, 32, 32), (3, 8, 8, 8), (1, 4, 16, 16)] {
            for identity in [false, true] {
                let xShape = [n, c, h, w], wShape = [c, c, 3, 3]
                let x = rng.floats(n * c * h * w), wt = rng.floats(c * c * 9), dy = rng.floats(n * c * h * w)
                let tape = Tape()
                let xv = tape.input(Tensor(shape: xShape, values: x)), wv = tape.input(Tensor(shape: wShape, values: wt))
                let conv = tape.conv2d(xv, wv, stride: 1, padding: 1)
                let out = tape.add(conv, identity ? xv : tape.relu(xv))
                let seed = Tensor(shape: out.shape, values: dy)
                tape.backward(from: out, seed: seed, keeping: [xv])
                let (dxConv, _) = referenceGradients(x, xShape, wt, dy, o: c, k: 3, stride: 1, padding: 1)
                let expected = (0..<x.count).map { dxConv[$0] + (identity || x[$0] > 0 ? Double(dy[$0]) : 0) }
                let label = "n\(n) c\(c) \(h)x\(w) identity=\(identity) (\(NativeKernels.convolutionName))"
                XCTAssertLessThan(worst(xv.grad?.array ?? [], expected), 1e-4, label)
                XCTAssertEqual(seed.array, dy, "the seed is never written, \(label)")
            }
        }
    }

    func testDirectKernelsAreChosenWhereTheyFit() throws {
        try XCTSkipUnless(NativeKernels.available, "this CPU has no AVX-512: the GEMM path runs everywhere")
        XCTAssertEqual(NativeKernels.convolutionName, "avx512-direct")
        NativeKernels.enabled = false
        XCTAssertEqual(NativeKernels.convolutionName, "im2col+openblas")
    }
}
