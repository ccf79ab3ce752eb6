// Finite-difference scheme used by every gradient test: the primitive's analytic Float32 gradient
// (its pullback, seeded with a random cotangent r) is compared with central differences of the
// scalar sum(r * f(x)) computed entirely in Float64 on the generic naive reference kernel
// (Reference.*<Double>), step 1e-5. Float32 rounding therefore never enters the difference quotient.
import SeededRandom
import XCTest
import Tensors

/// The project's SplitMix64, started one step past the seed (as these tests always have been).
struct SeededGenerator: RandomNumberGenerator {
    var inner: SplitMix64
    init(seed: UInt64) { inner = SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15) }
    mutating func next() -> UInt64 { inner.next() }
    mutating func floats(_ n: Int, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in Float.random(in: -scale...scale, using: &self) }
    }
}

/// Checks d/dinputs of sum(r * f(inputs)).
/// - fast: builds the primitive on a tape from Variables of the inputs (order as `inputs`).
/// - reference: the same function in Float64.
func checkGradients(_ name: String, seed: UInt64, inputs: [(shape: [Int], values: [Float])],
                    tolerance: Double = 2e-3,
                    fast: (Tape, [Variable]) -> Variable,
                    reference: ([[Double]]) -> [Double],
                    file: StaticString = #filePath, line: UInt = #line) {
    var rng = SeededGenerator(seed: seed &+ 77)
    let tape = Tape()
    let vars = inputs.map { tape.input(Tensor(shape: $0.shape, values: $0.values)) }
    let y = fast(tape, vars)
    let yRef = reference(inputs.map { $0.values.map(Double.init) })
    XCTAssertEqual(y.value.count, yRef.count, "\(name): output size (seed \(seed))", file: file, line: line)
    for (i, v) in y.value.array.enumerated() where abs(Double(v) - yRef[i]) > 1e-3 * max(1, abs(yRef[i])) {
        XCTFail("\(name): forward[\(i)] \(v) vs reference \(yRef[i]) (seed \(seed))", file: file, line: line)
        return
    }
    // Churn the buffer pool between forward and backward: a pullback reading memory it does not own
    // (a freed buffer) would see these garbage values.
    for size in 1...256 { _ = Tensor(shape: [size], repeating: 1e6) }
    for input in inputs { _ = Tensor(shape: input.shape, repeating: -1e6) }
    let r = rng.floats(y.value.count)
    tape.backward(from: y, seed: Tensor(shape: y.shape, values: r), keeping: vars)
    let vars2 = vars
    let rd = r.map(Double.init)
    func objective(_ xs: [[Double]]) -> Double {
        let out = reference(xs)
        var s = 0.0
        for i in 0..<out.count { s += rd[i] * out[i] }
        return s
    }
    let h = 1e-5
    for (which, input) in inputs.enumerated() {
        guard let g = vars2[which].grad?.array else {
            XCTFail("\(name): no gradient for input \(which) (seed \(seed))", file: file, line: line)
            continue
        }
        var xs = inputs.map { $0.values.map(Double.init) }
        var worst = 0.0
        for j in 0..<input.values.count {
            let saved = xs[which][j]
            xs[which][j] = saved + h
            let up = objective(xs)
            xs[which][j] = saved - h
            let down = objective(xs)
            xs[which][j] = saved
            let numeric = (up - down) / (2 * h)
            let err = abs(numeric - Double(g[j])) / max(1, abs(numeric))
            worst = max(worst, err)
            if err > tolerance {
                XCTFail("\(name): d/dinput\(which)[\(j)] analytic \(g[j]) vs numeric \(numeric) (seed \(seed))",
                        file: file, line: line)
                return
            }
        }
    }
}
