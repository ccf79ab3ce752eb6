// The polynomial activation's C kernels (CKernels, AVX-512) against the portable Swift loops, which the
// gradient checks in PrimitiveGradientTests hold to the Float64 reference and finite differences: forward,
// input gradient and coefficient gradient on rows with and without a 16-lane tail, every number of terms the
// kernels take (and one more, which stays on the loops), shared and per-channel coefficients, clamp bounds and
// per-channel alphas; and NaN inputs stay NaN (a diverged step must still show as non-finite).
import XCTest
import Tensors

final class PolynomialKernelTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }
    override func tearDown() { NativeKernels.enabled = true }

    private struct Outputs { var y: [Float]; var dx: [Float]; var dc: [Float] }

    private func run(_ x: [Float], _ shape: [Int], _ coefficients: [Float], _ cShape: [Int], dy: [Float],
                     alpha: Float, alphas: [Float]?, bounds: [Float]?, native: Bool) -> Outputs {
        NativeKernels.enabled = native
        defer { NativeKernels.enabled = true }
        let tape = Tape()
        let xv = tape.input(Tensor(shape: shape, values: x)), cv = tape.input(Tensor(shape: cShape, values: coefficients))
        let b = bounds.map { Tensor(shape: [$0.count], values: $0) }
        let y = alphas.map { tape.blend(xv, alphas: Tensor(shape: [$0.count], values: $0), coefficients: cv, bounds: b) }
            ?? tape.blend(xv, alpha: alpha, coefficients: cv, bounds: b)
        tape.backward(from: y, seed: Tensor(shape: shape, values: dy), keeping: [xv, cv])
        return Outputs(y: y.value.array, dx: xv.grad?.array ?? [], dc: cv.grad?.array ?? [])
    }

    private func worst(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
    }

    func testNativeBlendMatchesPortableLoops() {
        let seed: UInt64 = 9301
        var rng = SeededGenerator(seed: seed)
        let shapes = [[3, 5, 37], [2, 4, 8, 8], [1, 3, 1], [2, 2, 16]]
        var checked = 0
        for shape in shapes {
            let C = shape[1], count = shape.reduce(1, *)
            for terms in [1, 2, 3, 5, 8, 9] {
                for perChannel in [false, true] {
                    for variant in 0..<3 {
                        let x = rng.floats(count, scale: 3)
                        let cShape = perChannel ? [C, terms] : [terms]
                        let coefficients = rng.floats(cShape.reduce(1, *), scale: 0.5)
                        let dy = rng.floats(count)
                        let bounds: [Float]? = variant >= 1 ? (0..<C).map { _ in Float.random(in: 0.5...2.5, using: &rng) } : nil
                        let alphas: [Float]? = variant == 2 ? (0..<C).map { _ in Float.random(in: 0...1, using: &rng) } : nil
                        let alpha: Float = variant == 0 ? 0.3 : 0
                        let label = "shape \(shape) terms \(terms) perChannel \(perChannel) variant \(variant) (seed \(seed))"
                        let fast = run(x, shape, coefficients, cShape, dy: dy, alpha: alpha, alphas: alphas, bounds: bounds, native: true)
                        let slow = run(x, shape, coefficients, cShape, dy: dy, alpha: alpha, alphas: alphas, bounds: bounds, native: false)
                        XCTAssertLessThan(worst(fast.y, slow.y), 1e-5, "forward, \(label)")
                        XCTAssertLessThan(worst(fast.dx, slow.dx), 1e-5, "dx, \(label)")
                        XCTAssertLessThan(worst(fast.dc, slow.dc), 1e-4, "coefficients, \(label)")
                        checked += 1
                    }
                }
            }
        }
        XCTAssertEqual(checked, 4 * 6 * 2 * 3)
    }

    func testNaNInputsStayNaN() {
        let shape = [1, 2, 20]
        var x = (0..<40).map { Float($0) / 10 - 2 }
        x[3] = .nan; x[25] = .nan
        for native in [true, false] {
            let out = run(x, shape, [0.1, 0.5, 0.2], [3], dy: [Float](repeating: 1, count: 40), alpha: 0.2, alphas: nil,
                          bounds: [1.5, 1.5], native: native)
            XCTAssertTrue(out.y[3].isNaN && out.y[25].isNaN, "native \(native): \(out.y[3]), \(out.y[25])")
            XCTAssertTrue(out.y.enumerated().allSatisfy { $0.offset == 3 || $0.offset == 25 || $0.element.isFinite }, "native \(native)")
            XCTAssertTrue(out.dc.contains { $0.isNaN }, "native \(native): the coefficient gradient carries the NaN")
        }
    }
}
