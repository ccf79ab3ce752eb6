// Explicit SIMD reductions and fused elementwise passes (the compiler does not reassociate float sums,
// so reductions are written with 16-lane accumulators). Each has a scalar tail.

typealias F16 = SIMD16<Float>

@inline(__always) func load16(_ p: UnsafePointer<Float>, _ i: Int) -> F16 {
    UnsafeRawPointer(p + i).loadUnaligned(as: F16.self)
}

@inline(__always) func store16(_ p: UnsafeMutablePointer<Float>, _ i: Int, _ v: F16) {
    UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: F16.self)
}

enum VectorKernels {
    /// sum of p[0..<n].
    @inline(__always) static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = F16(), i = 0
        while i + 16 <= n { acc += load16(p, i); i += 16 }
        var s = acc.sum()
        while i < n { s += p[i]; i += 1 }
        return s
    }

    /// sum of (p[i] - mu)^2.
    @inline(__always) static func centeredSquares(_ p: UnsafePointer<Float>, _ n: Int, _ mu: Float) -> Float {
        var acc = F16(), i = 0
        let m = F16(repeating: mu)
        while i + 16 <= n { let d = load16(p, i) - m; acc += d * d; i += 16 }
        var s = acc.sum()
        while i < n { let d = p[i] - mu; s += d * d; i += 1 }
        return s
    }

    /// q = p * a + b, optionally clamped at 0.
    @inline(__always) static func affine(_ p: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Float>, _ n: Int,
                                         _ a: Float, _ b: Float, relu: Bool) {
        let va = F16(repeating: a), vb = F16(repeating: b), zero = F16()
        var i = 0
        if relu {
            while i + 16 <= n { store16(q, i, pointwiseMax(load16(p, i) * va + vb, zero)); i += 16 }
            while i < n { q[i] = max(p[i] * a + b, 0); i += 1 }
        } else {
            while i + 16 <= n { store16(q, i, load16(p, i) * va + vb); i += 16 }
            while i < n { q[i] = p[i] * a + b; i += 1 }
        }
    }

    /// Returns (sum g, sum g * x) where g = d, masked to where x * a + b > 0 when `relu`.
    @inline(__always) static func gradientSums(_ x: UnsafePointer<Float>, _ d: UnsafePointer<Float>, _ n: Int,
                                               _ a: Float, _ b: Float, relu: Bool) -> (Float, Float) {
        var s1 = F16(), s2 = F16(), i = 0
        let va = F16(repeating: a), vb = F16(repeating: b), zero = F16()
        var t1: Float = 0, t2: Float = 0
        if relu {
            while i + 16 <= n {
                let xv = load16(x, i)
                let mask = xv * va + vb .> zero
                let gv = F16(repeating: 0).replacing(with: load16(d, i), where: mask)
                s1 += gv; s2 += gv * xv; i += 16
            }
            while i < n { let g = (x[i] * a + b) > 0 ? d[i] : 0; t1 += g; t2 += g * x[i]; i += 1 }
        } else {
            while i + 16 <= n { let xv = load16(x, i), gv = load16(d, i); s1 += gv; s2 += gv * xv; i += 16 }
            while i < n { t1 += d[i]; t2 += d[i] * x[i]; i += 1 }
        }
        return (s1.sum() + t1, s2.sum() + t2)
    }

    /// q = c1 * g + c2 * x + c3 with g = d (masked by x * a + b > 0 when `relu`).
    @inline(__always) static func gradientAffine(_ x: UnsafePointer<Float>, _ d: UnsafePointer<Float>,
                                                 _ q: UnsafeMutablePointer<Float>, _ n: Int, _ a: Float, _ b: Float,
                                                 relu: Bool, _ c1: Float, _ c2: Float, _ c3: Float) {
        let va = F16(repeating: a), vb = F16(repeating: b), zero = F16()
        let v1 = F16(repeating: c1), v2 = F16(repeating: c2), v3 = F16(repeating: c3)
        var i = 0
        if relu {
            while i + 16 <= n {
                let xv = load16(x, i)
                let gv = zero.replacing(with: load16(d, i), where: xv * va + vb .> zero)
                store16(q, i, gv * v1 + xv * v2 + v3); i += 16
            }
            while i < n { let g = (x[i] * a + b) > 0 ? d[i] : 0; q[i] = c1 * g + c2 * x[i] + c3; i += 1 }
        } else {
            while i + 16 <= n { store16(q, i, load16(d, i) * v1 + load16(x, i) * v2 + v3); i += 16 }
            while i < n { q[i] = c1 * d[i] + c2 * x[i] + c3; i += 1 }
        }
    }
}
