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

    /// q = p * a + b, optionally clamped at 0 (plain loops: LLVM vectorizes the select).
    @inline(__always) static func affine(_ p: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Float>, _ n: Int,
                                         _ a: Float, _ b: Float, relu: Bool) {
        if relu {
            for i in 0..<n { let t = p[i] * a + b; q[i] = t > 0 ? t : 0 }
        } else {
            for i in 0..<n { q[i] = p[i] * a + b }
        }
    }

    /// Returns (sum g, sum g * x).
    @inline(__always) static func gradientSums(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ n: Int) -> (Float, Float) {
        var s1 = F16(), s2 = F16(), i = 0
        while i + 16 <= n { let xv = load16(x, i), gv = load16(g, i); s1 += gv; s2 += gv * xv; i += 16 }
        var t1: Float = 0, t2: Float = 0
        while i < n { t1 += g[i]; t2 += g[i] * x[i]; i += 1 }
        return (s1.sum() + t1, s2.sum() + t2)
    }

    /// Returns (sum g, sum g * x) with g = d where x * a + b > 0, else 0 (g is not stored).
    @inline(__always) static func maskedGradientSums(_ x: UnsafePointer<Float>, _ d: UnsafePointer<Float>, _ n: Int,
                                                     _ a: Float, _ b: Float) -> (Float, Float) {
        var s1 = F16(), s2 = F16(), i = 0
        let av = F16(repeating: a), bv = F16(repeating: b), zero = F16()
        while i + 16 <= n {
            let xv = load16(x, i)
            let gv = zero.replacing(with: load16(d, i), where: xv * av + bv .> zero)
            s1 += gv; s2 += gv * xv; i += 16
        }
        var t1: Float = 0, t2: Float = 0
        while i < n { let gv = x[i] * a + b > 0 ? d[i] : 0; t1 += gv; t2 += gv * x[i]; i += 1 }
        return (s1.sum() + t1, s2.sum() + t2)
    }

    /// q = c1 * g + c2 * x + c3 with g = d where x * a + b > 0, else 0.
    @inline(__always) static func maskedGradientAffine(_ x: UnsafePointer<Float>, _ d: UnsafePointer<Float>,
                                                       _ q: UnsafeMutablePointer<Float>, _ n: Int, _ a: Float, _ b: Float,
                                                       _ c1: Float, _ c2: Float, _ c3: Float) {
        for i in 0..<n { let xv = x[i], dv = d[i]; let gv = xv * a + b > 0 ? dv : 0; q[i] = c1 * gv + c2 * xv + c3 }
    }

    /// q = c1 * g + c2 * x + c3.
    @inline(__always) static func gradientAffine(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                                                 _ q: UnsafeMutablePointer<Float>, _ n: Int, _ c1: Float, _ c2: Float, _ c3: Float) {
        for i in 0..<n { q[i] = c1 * g[i] + c2 * x[i] + c3 }
    }

    /// sum of (|p[i]| - b)^+ squared (NaN stays NaN: the masks only zero lanes that compare in range).
    @inline(__always) static func excessSquares(_ p: UnsafePointer<Float>, _ n: Int, bound b: Float) -> Float {
        var acc = F16(), i = 0
        let bv = F16(repeating: b), zero = F16()
        while i + 16 <= n {
            let v = load16(p, i)
            let e = v.replacing(with: -v, where: v .< zero) - bv
            let excess = e.replacing(with: zero, where: e .< zero)
            acc += excess * excess
            i += 16
        }
        var s = acc.sum()
        while i < n { let e = max(abs(p[i]) - b, 0); s += e * e; i += 1 }
        return s
    }

    /// q[i] = k * (p[i] - clamp(p[i], -b, b)): k * sign(x) (|x| - b)^+, the range penalty's slope.
    @inline(__always) static func excessSlope(_ p: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Float>, _ n: Int,
                                              bound b: Float, scale k: Float) {
        var i = 0
        let bv = F16(repeating: b), kv = F16(repeating: k)
        while i + 16 <= n {
            let v = load16(p, i)
            let clamped = v.replacing(with: bv, where: v .> bv).replacing(with: -bv, where: v .< -bv)
            store16(q, i, kv * (v - clamped))
            i += 16
        }
        while i < n { let v = p[i]; q[i] = k * (v - min(max(v, -b), b)); i += 1 }
    }
}
