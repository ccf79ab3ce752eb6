// Negacyclic number-theoretic transform over Z_q[X]/(X^N + 1).
// Cooley-Tukey forward / Gentleman-Sande inverse with merged psi twisting: P. Longa and M. Naehrig,
// "Speeding up the Number Theoretic Transform for Faster Ideal Lattice-Based Cryptography", CANS 2016.
// Lazy butterflies with Shoup precomputation (values kept below 4q): D. Harvey, "Faster arithmetic for
// number-theoretic transforms", J. Symbolic Computation 60, 2014.

import CKernels
import ModularMath

/// Precomputed twiddle factors for the negacyclic NTT of size `degree` modulo one prime q = 1 mod 2N.
public final class NTTTables: Sendable {
    public let modulus: Modulus
    public let degree: Int
    /// psi^bitrev(k) and its Shoup companion, for the forward transform.
    let forward: [UInt64]
    let forwardShoup: [UInt64]
    /// psi^-bitrev(k) and its Shoup companion, for the inverse transform.
    let inverse: [UInt64]
    let inverseShoup: [UInt64]
    /// N^-1 mod q and its Shoup companion.
    let degreeInverse: UInt64
    let degreeInverseShoup: UInt64
    /// For q < 2^50 on a CPU with AVX-512 IFMA: the companions in 52-bit fixed point, floor(w 2^52 / q),
    /// for CKernels' transforms (nil: the Swift loops below).
    let forward52: [UInt64]?
    let inverse52: [UInt64]?
    let degreeInverse52: UInt64

    /// Builds the tables; throws when q is not 1 mod 2N or N is not a power of two >= 2.
    public init(modulus: Modulus, degree: Int) throws {
        guard degree >= 4, degree.nonzeroBitCount == 1 else {
            throw LatticeError.invalidParameters("NTT degree \(degree) must be a power of two >= 4")
        }
        guard (modulus.value - 1) % UInt64(2 * degree) == 0 else {
            throw LatticeError.invalidParameters("prime \(modulus.value) is not 1 mod \(2 * degree)")
        }
        self.modulus = modulus
        self.degree = degree
        let psi = try modulus.primitiveRoot(order: 2 * degree)
        let psiInv = try modulus.inverse(psi)
        let logN = degree.trailingZeroBitCount
        var f = [UInt64](repeating: 0, count: degree), fi = f
        for k in 0..<degree {
            let r = NTTTables.bitReverse(k, bits: logN)
            f[k] = modulus.power(psi, UInt64(r))
            fi[k] = modulus.power(psiInv, UInt64(r))
        }
        forward = f
        inverse = fi
        forwardShoup = f.map { modulus.shoupPrecompute($0) }
        inverseShoup = fi.map { modulus.shoupPrecompute($0) }
        degreeInverse = try modulus.inverse(UInt64(degree))
        degreeInverseShoup = modulus.shoupPrecompute(degreeInverse)
        let q = modulus.value
        func shoup52(_ w: UInt64) -> UInt64 { UInt64((UInt128(w) << 52) / UInt128(q)) }
        if q >> 50 == 0 && degree >= 16 && cntt_available() != 0 {
            forward52 = f.map(shoup52)
            inverse52 = fi.map(shoup52)
        } else {
            forward52 = nil
            inverse52 = nil
        }
        degreeInverse52 = shoup52(degreeInverse)
    }

    static func bitReverse(_ x: Int, bits: Int) -> Int {
        var r = 0, x = x
        for _ in 0..<bits { r = (r << 1) | (x & 1); x >>= 1 }
        return r
    }

    /// In-place forward NTT: input residues below q in natural order, output below q in bit-reversed
    /// order (the evaluation form used for pointwise products).
    public func forwardInPlace(_ a: UnsafeMutablePointer<UInt64>) {
        if let ws = forward52 {
            cntt_forward(a, degree, modulus.value, forward, ws)
            return
        }
        forwardLoops(a)
    }

    /// The Swift loops of `forwardInPlace` (where the C transform does not apply, and as its reference).
    public func forwardLoops(_ a: UnsafeMutablePointer<UInt64>) {
        let n = degree
        let q = modulus.value, twoQ = 2 &* q
        forward.withUnsafeBufferPointer { wb in
        forwardShoup.withUnsafeBufferPointer { wsb in
            let w = wb.baseAddress!, ws = wsb.baseAddress!
            var t = n
            var m = 1
            // Two stages per pass (radix 4) while the second stage still has runs of at least 2: halves
            // the passes over memory. Stage m pairs (j, j + t) with psi[m + i]; stage 2m pairs
            // (j, j + t/2) in each half with psi[2m + 2i] and psi[2m + 2i + 1].
            while m < n / 8 {
                let half = t >> 2          // t / 2 of the second stage
                t >>= 1                    // half of the first stage
                var i = 0
                while i < m {
                    let w1 = w[m + i], s1 = ws[m + i]
                    let w2 = w[2 * m + 2 * i], s2 = ws[2 * m + 2 * i]
                    let w3 = w[2 * m + 2 * i + 1], s3 = ws[2 * m + 2 * i + 1]
                    let p0 = a + 2 * i * t, p1 = p0 + half, p2 = p0 + t, p3 = p2 + half
                    var j = 0
                    while j < half {
                        var a0 = p0[j], a1 = p1[j]
                        let a2 = p2[j], a3 = p3[j]
                        a0 = min(a0, a0 &- twoQ)
                        a1 = min(a1, a1 &- twoQ)
                        let t2 = a2 &* w1 &- (a2.multipliedFullWidth(by: s1).high &* q)
                        let t3 = a3 &* w1 &- (a3.multipliedFullWidth(by: s1).high &* q)
                        var b0 = a0 &+ t2, b2 = a0 &+ twoQ &- t2
                        let b1 = a1 &+ t3, b3 = a1 &+ twoQ &- t3
                        b0 = min(b0, b0 &- twoQ)
                        b2 = min(b2, b2 &- twoQ)
                        let u1 = b1 &* w2 &- (b1.multipliedFullWidth(by: s2).high &* q)
                        let u3 = b3 &* w3 &- (b3.multipliedFullWidth(by: s3).high &* q)
                        p0[j] = b0 &+ u1
                        p1[j] = b0 &+ twoQ &- u1
                        p2[j] = b2 &+ u3
                        p3[j] = b2 &+ twoQ &- u3
                        j += 1
                    }
                    i += 1
                }
                t >>= 1
                m <<= 2
            }
            // Remaining stages with runs of at least 2 (radix 2).
            while m < n / 4 {
                t >>= 1
                var i = 0
                while i < m {
                    let wi = w[m + i], wsi = ws[m + i]
                    let x = a + 2 * i * t
                    let y = x + t
                    var j = 0
                    while j < t {
                        // Harvey: X in [0, 4q) -> [0, 2q); T = Y * w in [0, 2q); outputs in [0, 4q).
                        var x0 = x[j], x1 = x[j + 1]
                        let y0 = y[j], y1 = y[j + 1]
                        x0 = min(x0, x0 &- twoQ)
                        x1 = min(x1, x1 &- twoQ)
                        let t0 = y0 &* wi &- (y0.multipliedFullWidth(by: wsi).high &* q)
                        let t1 = y1 &* wi &- (y1.multipliedFullWidth(by: wsi).high &* q)
                        x[j] = x0 &+ t0
                        x[j + 1] = x1 &+ t1
                        y[j] = x0 &+ twoQ &- t0
                        y[j + 1] = x1 &+ twoQ &- t1
                        j += 2
                    }
                    i += 1
                }
                m <<= 1
            }
            // Stage with t = 2: groups of four words.
            do {
                var i = 0
                while i < m {
                    let wi = w[m + i], wsi = ws[m + i]
                    let p = a + 4 * i
                    var x0 = p[0], x1 = p[1]
                    let y0 = p[2], y1 = p[3]
                    x0 = min(x0, x0 &- twoQ)
                    x1 = min(x1, x1 &- twoQ)
                    let t0 = y0 &* wi &- (y0.multipliedFullWidth(by: wsi).high &* q)
                    let t1 = y1 &* wi &- (y1.multipliedFullWidth(by: wsi).high &* q)
                    p[0] = x0 &+ t0
                    p[1] = x1 &+ t1
                    p[2] = x0 &+ twoQ &- t0
                    p[3] = x1 &+ twoQ &- t1
                    i += 1
                }
                m <<= 1
            }
            // Last stage (t = 1), fused with the final reduction to [0, q).
            do {
                var i = 0
                while i < m {
                    let wi = w[m + i], wsi = ws[m + i]
                    let p = a + 2 * i
                    var x0 = p[0]
                    let y0 = p[1]
                    x0 = min(x0, x0 &- twoQ)
                    let t0 = y0 &* wi &- (y0.multipliedFullWidth(by: wsi).high &* q)
                    var u = x0 &+ t0
                    var v = x0 &+ twoQ &- t0
                    u = min(u, u &- twoQ); u = min(u, u &- q)
                    v = min(v, v &- twoQ); v = min(v, v &- q)
                    p[0] = u
                    p[1] = v
                    i += 1
                }
            }
        }
        }
    }

    /// In-place inverse NTT: input residues below q in bit-reversed order, output below q in natural
    /// order.
    public func inverseInPlace(_ a: UnsafeMutablePointer<UInt64>) {
        if let ws = inverse52 {
            cntt_inverse(a, degree, modulus.value, inverse, ws, degreeInverse, degreeInverse52)
            return
        }
        inverseLoops(a)
    }

    /// The Swift loops of `inverseInPlace`.
    public func inverseLoops(_ a: UnsafeMutablePointer<UInt64>) {
        let n = degree
        let q = modulus.value, twoQ = 2 &* q
        inverse.withUnsafeBufferPointer { wb in
        inverseShoup.withUnsafeBufferPointer { wsb in
            let w = wb.baseAddress!, ws = wsb.baseAddress!
            var t = 1
            var m = n
            // First stage (t = 1).
            do {
                let h = m >> 1
                var i = 0
                while i < h {
                    let wi = w[h + i], wsi = ws[h + i]
                    let p = a + 2 * i
                    let x0 = p[0], y0 = p[1]
                    var s = x0 &+ y0
                    s = min(s, s &- twoQ)
                    let d = x0 &+ twoQ &- y0
                    p[0] = s
                    p[1] = d &* wi &- (d.multipliedFullWidth(by: wsi).high &* q)
                    i += 1
                }
                t = 2; m = h
            }
            // Two stages per pass (radix 4): stage (t, h = m/2 groups) pairs (j, j + t) with
            // psi^-1[h + i]; stage (2t, h/2 groups) pairs (j, j + 2t) with psi^-1[h/2 + i'].
            while m > 2 {
                let h = m >> 1, h2 = h >> 1
                var i = 0
                while i < h2 {
                    let wa = w[h + 2 * i], sa = ws[h + 2 * i]
                    let wb = w[h + 2 * i + 1], sb = ws[h + 2 * i + 1]
                    let wc = w[h2 + i], sc = ws[h2 + i]
                    let p0 = a + 4 * t * i, p1 = p0 + t, p2 = p1 + t, p3 = p2 + t
                    var j = 0
                    while j < t {
                        let a0 = p0[j], a1 = p1[j], a2 = p2[j], a3 = p3[j]
                        var s0 = a0 &+ a1, s2 = a2 &+ a3
                        s0 = min(s0, s0 &- twoQ)
                        s2 = min(s2, s2 &- twoQ)
                        let d0 = a0 &+ twoQ &- a1, d2 = a2 &+ twoQ &- a3
                        let e1 = d0 &* wa &- (d0.multipliedFullWidth(by: sa).high &* q)
                        let e3 = d2 &* wb &- (d2.multipliedFullWidth(by: sb).high &* q)
                        var u0 = s0 &+ s2, u1 = e1 &+ e3
                        u0 = min(u0, u0 &- twoQ)
                        u1 = min(u1, u1 &- twoQ)
                        let v2 = s0 &+ twoQ &- s2, v3 = e1 &+ twoQ &- e3
                        p0[j] = u0
                        p1[j] = u1
                        p2[j] = v2 &* wc &- (v2.multipliedFullWidth(by: sc).high &* q)
                        p3[j] = v3 &* wc &- (v3.multipliedFullWidth(by: sc).high &* q)
                        j += 1
                    }
                    i += 1
                }
                t <<= 2
                m = h2
            }
            while m > 1 {
                let h = m >> 1
                var i = 0
                while i < h {
                    let wi = w[h + i], wsi = ws[h + i]
                    let x = a + 2 * i * t
                    let y = x + t
                    var j = 0
                    while j < t {
                        // Gentleman-Sande: inputs in [0, 2q); X + Y -> [0, 2q); (X - Y) * w -> [0, 2q).
                        let x0 = x[j], x1 = x[j + 1], y0 = y[j], y1 = y[j + 1]
                        var s0 = x0 &+ y0, s1 = x1 &+ y1
                        s0 = min(s0, s0 &- twoQ)
                        s1 = min(s1, s1 &- twoQ)
                        let d0 = x0 &+ twoQ &- y0, d1 = x1 &+ twoQ &- y1
                        x[j] = s0
                        x[j + 1] = s1
                        y[j] = d0 &* wi &- (d0.multipliedFullWidth(by: wsi).high &* q)
                        y[j + 1] = d1 &* wi &- (d1.multipliedFullWidth(by: wsi).high &* q)
                        j += 2
                    }
                    i += 1
                }
                t <<= 1
                m = h
            }
            let ni = degreeInverse, nis = degreeInverseShoup
            for j in 0..<n {
                var v = a[j] &* ni &- (a[j].multipliedFullWidth(by: nis).high &* q)
                v = min(v, v &- q)
                a[j] = v
            }
        }
        }
    }

    /// Reference forward transform by direct evaluation (O(N^2)): entry k is the input polynomial at
    /// psi^(2 * bitrev(k) + 1), the same order as `forwardInPlace`.
    public func forwardReference(_ input: [UInt64]) -> [UInt64] {
        let n = degree
        let psi = forward[n / 2]  // psi^bitrev(n/2) = psi^1
        let logN = n.trailingZeroBitCount
        var out = [UInt64](repeating: 0, count: n)
        for k in 0..<n {
            let e = UInt64(2 * NTTTables.bitReverse(k, bits: logN) + 1)
            let x = modulus.power(psi, e)
            var acc: UInt64 = 0
            var xp: UInt64 = 1
            for j in 0..<n {
                acc = modulus.add(acc, modulus.multiply(modulus.reduce(input[j]), xp))
                xp = modulus.multiply(xp, x)
            }
            out[k] = acc
        }
        return out
    }
}

/// Schoolbook negacyclic product in Z_q[X]/(X^N + 1): the slow reference for NTT-based products.
public func negacyclicProductReference(_ a: [UInt64], _ b: [UInt64], modulus: Modulus) -> [UInt64] {
    precondition(a.count == b.count)
    let n = a.count
    var out = [UInt64](repeating: 0, count: n)
    for i in 0..<n where a[i] != 0 {
        for j in 0..<n {
            let p = modulus.multiply(modulus.reduce(a[i]), modulus.reduce(b[j]))
            let k = i + j
            if k < n { out[k] = modulus.add(out[k], p) } else { out[k - n] = modulus.subtract(out[k - n], p) }
        }
    }
    return out
}
