// Activations: ReLU, polynomial with learnable coefficients (Delphi / SAFENet style
// p(x) = a0 + a1 x + ... + ad x^d, coefficients shared by a slot or one row per channel), and the
// blend alpha * ReLU(x) + (1 - alpha) * p(x) used to phase polynomials in (Delphi, Mishra et al. 2020).

extension Tape {
    /// max(x, 0).
    public func relu(_ x: Variable) -> Variable {
        let n = x.value.count
        let y = Tensor(uninitialized: x.shape)
        let xs = x.value.pointer, ys = y.pointer
        Parallel.forEachChunk(n, minimumPerChunk: Elementwise.parallelThreshold) { r in
            for i in r { ys[i] = max(xs[i], 0) }
        }
        return record(y, inputs: [x]) { [unowned self] dy in
            let dx = Tensor(uninitialized: x.shape)
            let d = dy.pointer, q = dx.pointer
            Parallel.forEachChunk(n, minimumPerChunk: Elementwise.parallelThreshold) { r in
                for i in r { let dv = d[i]; q[i] = ys[i] > 0 ? dv : 0 }
            }
            self.accumulate(x, dx)
        }
    }

    /// alpha * ReLU(x) + (1 - alpha) * p(x). `coefficients` is [d+1] (shared) or [C, d+1] (per channel
    /// of x's dimension 1), lowest degree first. alpha = 0 gives the pure polynomial.
    public func blend(_ x: Variable, alpha: Float, coefficients: Variable) -> Variable {
        let s = x.shape
        let cs = coefficients.shape
        let C = s.count >= 2 ? s[1] : 1
        let perChannel = cs.count == 2
        precondition(cs.count == 1 || (cs.count == 2 && cs[0] == C), "blend: coefficients \(cs) for input \(s)")
        let terms = cs.last!
        let N = s[0], inner = s.dropFirst(2).reduce(1, *)
        let xs = x.value.pointer, cp = coefficients.value.pointer
        let y = Tensor(uninitialized: s)
        let ys = y.pointer
        let beta = 1 - alpha
        Parallel.forEachChunk(N * C) { r in
            for nc in r {
                let a = cp + (perChannel ? (nc % C) * terms : 0)
                let p = xs + nc * inner, q = ys + nc * inner
                for i in 0..<inner {
                    let v = p[i]
                    var acc = a[terms - 1]
                    var k = terms - 2
                    while k >= 0 { acc = acc * v + a[k]; k -= 1 }
                    q[i] = alpha * max(v, 0) + beta * acc
                }
            }
        }
        return record(y, inputs: [x, coefficients]) { [unowned self] dy in
            let d = dy.pointer
            let dx: Tensor? = x.requiresGrad ? Tensor(uninitialized: s) : nil
            let dxs = dx?.pointer
            // Per-row coefficient gradients, summed after the parallel pass.
            let rows = N * C
            let partial = Storage(count: rows * terms)
            let pp = partial.pointer
            Parallel.forEachChunk(rows) { r in
                for nc in r {
                    let a = cp + (perChannel ? (nc % C) * terms : 0)
                    let p = xs + nc * inner, g = d + nc * inner
                    let acc = pp + nc * terms
                    for k in 0..<terms { acc[k] = 0 }
                    for i in 0..<inner {
                        let v = p[i], gi = g[i]
                        var pw: Float = 1
                        for k in 0..<terms { acc[k] += gi * pw; pw *= v }
                        if let dxs {
                            // p'(v) by Horner on k * a_k.
                            var der: Float = 0
                            var k = terms - 1
                            while k >= 1 { der = der * v + Float(k) * a[k]; k -= 1 }
                            dxs[nc * inner + i] = gi * (alpha * (v > 0 ? 1 : 0) + beta * der)
                        }
                    }
                }
            }
            let dc = Tensor(zeros: cs)
            for nc in 0..<rows {
                let dst = dc.pointer + (perChannel ? (nc % C) * terms : 0)
                for k in 0..<terms { dst[k] += beta * pp[nc * terms + k] }
            }
            if let dx { self.accumulate(x, dx) }
            self.accumulate(coefficients, dc)
        }
    }
}

extension Reference {
    public static func relu<T: BinaryFloatingPoint>(_ x: [T]) -> [T] { x.map { max($0, 0) } }

    /// alpha * ReLU + (1 - alpha) * polynomial; coefficients [d+1] or [C, d+1] (row-major).
    public static func blend<T: BinaryFloatingPoint>(_ x: [T], _ shape: [Int], alpha: T, coefficients: [T],
                                                     perChannel: Bool) -> [T] {
        let C = shape[1], inner = shape.dropFirst(2).reduce(1, *)
        let terms = perChannel ? coefficients.count / C : coefficients.count
        var y = x
        for j in 0..<x.count {
            let c = (j / inner) % C
            let base = perChannel ? c * terms : 0
            var p: T = 0, pw: T = 1
            for k in 0..<terms { p += coefficients[base + k] * pw; pw *= x[j] }
            y[j] = alpha * max(x[j], 0) + (1 - alpha) * p
        }
        return y
    }
}
