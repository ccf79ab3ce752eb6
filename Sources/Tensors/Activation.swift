// Activations: ReLU, polynomial with learnable coefficients (Delphi / SAFENet style
// p(x) = a0 + a1 x + ... + ad x^d, coefficients shared by a slot or one row per channel), and the
// blend alpha * ReLU(x) + (1 - alpha) * p(x) used to phase polynomials in (Delphi, Mishra et al. 2020).
// The blend runs on the C kernels of CKernels where the CPU has AVX-512 (NativeKernels), else on the loops here.
import CKernels

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
    ///
    /// `bounds` ([C], positive), when given, clamps the polynomial's input per channel to [-b, b] (the
    /// ReLU term sees x as is): used in training only, so a value beyond the range a slot's polynomial
    /// was fitted to cannot blow up the rest of the network while `rangePenalty` pulls it back in.
    public func blend(_ x: Variable, alpha: Float, coefficients: Variable, bounds: Tensor? = nil) -> Variable {
        blend(x, alphas: nil, alpha: alpha, coefficients: coefficients, bounds: bounds)
    }

    /// `blend` with one alpha per channel ([C]): channel c computes alpha_c ReLU(x) + (1 - alpha_c) p_c(x),
    /// so a slot can keep some channels ReLU (alpha 1), blend others in and hold the rest polynomial
    /// (SAFENet's per-channel replacement, Lou et al., ICLR 2021).
    public func blend(_ x: Variable, alphas: Tensor, coefficients: Variable, bounds: Tensor? = nil) -> Variable {
        blend(x, alphas: alphas, alpha: 0, coefficients: coefficients, bounds: bounds)
    }

    private func blend(_ x: Variable, alphas: Tensor?, alpha: Float, coefficients: Variable, bounds: Tensor?) -> Variable {
        let s = x.shape
        let cs = coefficients.shape
        let C = s.count >= 2 ? s[1] : 1
        let perChannel = cs.count == 2
        precondition(cs.count == 1 || (cs.count == 2 && cs[0] == C), "blend: coefficients \(cs) for input \(s)")
        precondition(bounds == nil || bounds!.count == C, "blend: \(bounds!.count) bounds for \(C) channels")
        precondition(alphas == nil || alphas!.count == C, "blend: \(alphas!.count) alphas for \(C) channels")
        let bp = bounds?.pointer, ap = alphas?.pointer
        let terms = cs.last!
        let N = s[0], inner = s.dropFirst(2).reduce(1, *)
        let xs = x.value.pointer, cp = coefficients.value.pointer
        let y = Tensor(uninitialized: s)
        let ys = y.pointer
        // The C kernels (AVX-512) where they run; the loops below are the portable path and their reference.
        let native = NativeKernels.active && terms <= Int(CPOLY_MAX_TERMS)
        Parallel.forEachChunk(N * C) { r in
            if native {
                cpoly_blend_forward(xs, ys, Int32(r.lowerBound), Int32(r.count), Int32(inner), Int32(C), cp,
                                    perChannel ? 1 : 0, Int32(terms), bp, ap, alpha)
                return
            }
            for nc in r {
                let a = cp + (perChannel ? (nc % C) * terms : 0)
                let p = xs + nc * inner, q = ys + nc * inner
                let b = bp.map { $0[nc % C] } ?? .infinity
                let alpha = ap.map { $0[nc % C] } ?? alpha, beta = 1 - alpha
                for i in 0..<inner {
                    let raw = p[i]
                    let v = min(max(raw, -b), b)
                    var acc = a[terms - 1]
                    var k = terms - 2
                    while k >= 0 { acc = acc * v + a[k]; k -= 1 }
                    q[i] = alpha * max(raw, 0) + beta * acc
                }
            }
        }
        return record(y, inputs: [x, coefficients]) { [unowned self] dy in
            // The closure keeps the bounds and alphas tensors alive (bp and ap point into them).
            withExtendedLifetime(bounds) {}
            withExtendedLifetime(alphas) {}
            let d = dy.pointer
            let dx: Tensor? = x.requiresGrad ? Tensor(uninitialized: s) : nil
            let dxs = dx?.pointer
            // Per-row coefficient gradients, summed after the parallel pass.
            let rows = N * C
            let partial = Storage(count: rows * terms)
            let pp = partial.pointer
            Parallel.forEachChunk(rows) { r in
                if native {
                    cpoly_blend_backward(xs, d, dxs, pp + r.lowerBound * terms, Int32(r.lowerBound), Int32(r.count),
                                         Int32(inner), Int32(C), cp, perChannel ? 1 : 0, Int32(terms), bp, ap, alpha)
                    return
                }
                for nc in r {
                    let a = cp + (perChannel ? (nc % C) * terms : 0)
                    let p = xs + nc * inner, g = d + nc * inner
                    let acc = pp + nc * terms
                    let b = bp.map { $0[nc % C] } ?? .infinity
                    let alpha = ap.map { $0[nc % C] } ?? alpha, beta = 1 - alpha
                    for k in 0..<terms { acc[k] = 0 }
                    defer { for k in 0..<terms { acc[k] *= beta } }
                    for i in 0..<inner {
                        let raw = p[i], gi = g[i]
                        let inside = abs(raw) <= b
                        let v = min(max(raw, -b), b)
                        var pw: Float = 1
                        for k in 0..<terms { acc[k] += gi * pw; pw *= v }
                        if let dxs {
                            // p'(v) by Horner on k * a_k.
                            var der: Float = 0
                            var k = terms - 1
                            while k >= 1 { der = der * v + Float(k) * a[k]; k -= 1 }
                            dxs[nc * inner + i] = gi * (alpha * (raw > 0 ? 1 : 0) + (inside ? beta * der : 0))
                        }
                    }
                }
            }
            let dc = Tensor(zeros: cs)
            for nc in 0..<rows {
                let dst = dc.pointer + (perChannel ? (nc % C) * terms : 0)
                for k in 0..<terms { dst[k] += pp[nc * terms + k] }
            }
            if let dx { self.accumulate(x, dx) }
            self.accumulate(coefficients, dc)
        }
    }
}

extension Tape {
    /// weight / N * sum over x's elements of ((|x| - b_c)^+ / b_c)^2 (N = x's dimension 0, images),
    /// b = `bounds` [C] per channel of x's dimension 1 (positive): zero while every value stays within
    /// its channel's range, and a pull back towards it otherwise (a range loss in the spirit of Diaa et
    /// al., USENIX Security 2024). Per image rather than per element, so a few outlying values are not
    /// averaged away. Returns a [1] tensor.
    public func rangePenalty(_ x: Variable, bounds: Tensor, weight: Float) -> Variable {
        let s = x.shape
        let C = s.count >= 2 ? s[1] : 1
        precondition(bounds.count == C, "rangePenalty: \(bounds.count) bounds for \(C) channels")
        let inner = s.dropFirst(2).reduce(1, *), rows = x.value.count / max(inner, 1)
        let xs = x.value.pointer, bp = bounds.pointer
        let scale = weight / Float(max(s.first ?? 1, 1))
        let partial = Storage(count: rows)
        let pp = partial.pointer
        Parallel.forEachChunk(rows) { r in
            for nc in r {
                let b = bp[nc % C]
                pp[nc] = VectorKernels.excessSquares(xs + nc * inner, inner, bound: b) / (b * b)
            }
        }
        var total: Double = 0
        for nc in 0..<rows { total += Double(pp[nc]) }
        let y = Tensor(shape: [1], values: [Float(total) * scale])
        return record(y, inputs: [x]) { [unowned self] dy in
            withExtendedLifetime(bounds) {}
            let g = dy[flat: 0] * scale
            let dx = Tensor(uninitialized: s)
            let q = dx.pointer
            Parallel.forEachChunk(rows) { r in
                for nc in r {
                    let b = bp[nc % C]
                    VectorKernels.excessSlope(xs + nc * inner, q + nc * inner, inner, bound: b, scale: g * 2 / (b * b))
                }
            }
            self.accumulate(x, dx)
        }
    }
}

extension Tape {
    /// x rounded to a multiple of 2^-bits in the forward pass, with the gradient passed through unchanged
    /// (the straight-through estimator, Bengio et al. 2013): trains values that stay on a fixed-point grid.
    public func roundStraightThrough(_ x: Variable, fractionalBits bits: Int) -> Variable {
        let scale = Float(sign: .plus, exponent: bits, significand: 1)
        let y = Tensor(shape: x.shape, values: x.value.array.map { ($0 * scale).rounded() / scale })
        return record(y, inputs: [x]) { [unowned self] dy in self.accumulate(x, dy) }
    }
}

extension Reference {
    public static func relu<T: BinaryFloatingPoint>(_ x: [T]) -> [T] { x.map { max($0, 0) } }

    /// alpha * ReLU + (1 - alpha) * polynomial; coefficients [d+1] or [C, d+1] (row-major).
    /// With `bounds` [C], the polynomial reads x clamped to [-b_c, b_c]; with `alphas` [C], channel c uses alphas[c].
    public static func blend<T: BinaryFloatingPoint>(_ x: [T], _ shape: [Int], alpha: T, coefficients: [T],
                                                     perChannel: Bool, bounds: [T]? = nil, alphas: [T]? = nil) -> [T] {
        let C = shape[1], inner = shape.dropFirst(2).reduce(1, *)
        let terms = perChannel ? coefficients.count / C : coefficients.count
        var y = x
        for j in 0..<x.count {
            let c = (j / inner) % C
            let base = perChannel ? c * terms : 0
            let v = bounds.map { min(max(x[j], -$0[c]), $0[c]) } ?? x[j]
            var p: T = 0, pw: T = 1
            for k in 0..<terms { p += coefficients[base + k] * pw; pw *= v }
            let a = alphas?[c] ?? alpha
            y[j] = a * max(x[j], 0) + (1 - a) * p
        }
        return y
    }

    /// weight / N * sum of ((|x| - b_c)^+ / b_c)^2 over x [N, C, ...].
    public static func rangePenalty<T: BinaryFloatingPoint>(_ x: [T], _ shape: [Int], bounds: [T], weight: T) -> T {
        let C = shape[1], inner = shape.dropFirst(2).reduce(1, *)
        var sum: T = 0
        for j in 0..<x.count {
            let b = bounds[(j / inner) % C]
            let e = max(abs(x[j]) - b, 0) / b
            sum += e * e
        }
        return weight * sum / T(shape[0])
    }
}
