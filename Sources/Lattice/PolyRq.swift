// Polynomials in R_Q = Z_Q[X]/(X^N + 1) in residue-number-system form (one row of N residues per
// prime), with a phantom format type so that mixing coefficient and evaluation (NTT) form does not
// compile. The layout follows apple/swift-homomorphic-encryption's PolyRq<T, Format> idea.

import CKernels
import ModularMath

/// Marker for the two representations of a polynomial.
public protocol PolyFormat: Sendable {}
/// Coefficient representation.
public enum Coeff: PolyFormat {}
/// Evaluation (NTT) representation: pointwise products are polynomial products.
public enum Eval: PolyFormat {}

/// The ring R_Q: degree N and RNS primes with their NTT tables.
public final class RingContext: Sendable {
    public let degree: Int
    public let moduli: [Modulus]
    public let tables: [NTTTables]

    public init(degree: Int, primes: [UInt64]) throws {
        guard !primes.isEmpty else { throw LatticeError.invalidParameters("at least one prime is needed") }
        guard Set(primes).count == primes.count else { throw LatticeError.invalidParameters("primes must be distinct") }
        self.degree = degree
        var ms: [Modulus] = []
        for p in primes {
            guard Modulus.isPrime(p) else { throw LatticeError.invalidParameters("\(p) is not prime") }
            do { ms.append(try Modulus(p)) } catch { throw LatticeError.invalidParameters("\(error)") }
        }
        self.moduli = ms
        self.tables = try ms.map { try NTTTables(modulus: $0, degree: degree) }
    }
}

/// An element of R_Q in format F: `data[i * N + j]` is coefficient (or evaluation) j modulo prime i.
public struct PolyRq<F: PolyFormat>: Sendable {
    public let context: RingContext
    public var data: [UInt64]

    public init(context: RingContext, data: [UInt64]) {
        precondition(data.count == context.degree * context.moduli.count, "PolyRq data has the wrong size")
        self.context = context
        self.data = data
    }

    /// The zero polynomial.
    public static func zero(_ context: RingContext) -> PolyRq<F> {
        PolyRq(context: context, data: [UInt64](repeating: 0, count: context.degree * context.moduli.count))
    }

    /// The residues modulo prime `i`.
    public func residues(_ i: Int) -> ArraySlice<UInt64> {
        data[(i * context.degree)..<((i + 1) * context.degree)]
    }

    public static func += (a: inout PolyRq<F>, b: PolyRq<F>) {
        precondition(a.context === b.context)
        let n = a.context.degree
        a.data.withUnsafeMutableBufferPointer { ap in
            b.data.withUnsafeBufferPointer { bp in
                for (i, m) in a.context.moduli.enumerated() {
                    let q = m.value
                    for j in (i * n)..<((i + 1) * n) {
                        let s = ap[j] &+ bp[j]
                        ap[j] = min(s, s &- q)
                    }
                }
            }
        }
    }

    public static func -= (a: inout PolyRq<F>, b: PolyRq<F>) {
        precondition(a.context === b.context)
        let n = a.context.degree
        a.data.withUnsafeMutableBufferPointer { ap in
            b.data.withUnsafeBufferPointer { bp in
                for (i, m) in a.context.moduli.enumerated() {
                    let q = m.value
                    for j in (i * n)..<((i + 1) * n) {
                        let s = ap[j] &+ q &- bp[j]
                        ap[j] = min(s, s &- q)
                    }
                }
            }
        }
    }

    public static func + (a: PolyRq<F>, b: PolyRq<F>) -> PolyRq<F> { var c = a; c += b; return c }
    public static func - (a: PolyRq<F>, b: PolyRq<F>) -> PolyRq<F> { var c = a; c -= b; return c }

    /// -a.
    public func negated() -> PolyRq<F> {
        var c = self
        let n = context.degree
        for (i, m) in context.moduli.enumerated() {
            for j in (i * n)..<((i + 1) * n) { c.data[j] = m.negate(c.data[j]) }
        }
        return c
    }
}

extension PolyRq where F == Coeff {
    /// The polynomial with small signed integer coefficients (reduced into every prime).
    public init(context: RingContext, signed coefficients: [Int64]) {
        precondition(coefficients.count == context.degree)
        let n = context.degree
        let d = [UInt64](unsafeUninitializedCapacity: n * context.moduli.count) { buf, count in
            for (i, m) in context.moduli.enumerated() {
                let q = m.value
                coefficients.withUnsafeBufferPointer { c in
                    for j in 0..<n {
                        let x = c[j]
                        // Small values (the usual case: errors, ternary secrets, weights) need no division.
                        if x.magnitude < q {
                            buf[i * n + j] = x >= 0 ? UInt64(x) : q &- x.magnitude
                        } else {
                            buf[i * n + j] = m.reduce(signed: x)
                        }
                    }
                }
            }
            count = n * context.moduli.count
        }
        self.init(context: context, data: d)
    }

    /// The forward NTT of this polynomial (in place when this value is not used afterwards).
    public consuming func forwardNTT() -> PolyRq<Eval> {
        transformed { table, residue in table.forwardInPlace(residue) }
    }
}

extension PolyRq where F == Eval {
    /// The inverse NTT of this polynomial (in place when this value is not used afterwards).
    public consuming func inverseNTT() -> PolyRq<Coeff> {
        transformed { table, residue in table.inverseInPlace(residue) }
    }

    /// The pointwise (= polynomial) product.
    public static func * (a: PolyRq<Eval>, b: PolyRq<Eval>) -> PolyRq<Eval> {
        var c = a
        c.multiplyAccumulate(a, b, accumulate: false)
        return c
    }

    /// self = (accumulate ? self : 0) + a * b.
    public mutating func multiplyAccumulate(_ a: PolyRq<Eval>, _ b: PolyRq<Eval>, accumulate: Bool = true) {
        precondition(a.context === context && b.context === context)
        let n = context.degree
        let ms = context.moduli
        data.withUnsafeMutableBufferPointer { cp in
            a.data.withUnsafeBufferPointer { ap in
                b.data.withUnsafeBufferPointer { bp in
                    for (i, m) in ms.enumerated() {
                        let q = m.value
                        let base = i * n
                        if accumulate {
                            for j in base..<(base + n) {
                                let s = cp[j] &+ m.multiply(ap[j], bp[j])
                                cp[j] = min(s, s &- q)
                            }
                        } else {
                            for j in base..<(base + n) { cp[j] = m.multiply(ap[j], bp[j]) }
                        }
                    }
                }
            }
        }
    }

    /// sum_k xs[k] * ys[k] and sum_k zs[k] * ys[k] at once (two dot products sharing ys), with lazy
    /// 128-bit accumulation: one reduction per coefficient instead of one per product.
    public static func dotProducts(_ xs: [PolyRq<Eval>], _ zs: [PolyRq<Eval>], _ ys: [PolyRq<Eval>])
        -> (PolyRq<Eval>, PolyRq<Eval>) {
        precondition(xs.count == ys.count && zs.count == ys.count && !ys.isEmpty)
        let ctx = ys[0].context
        // Each product is below q^2 < 2^(2L): at most 2^(127 - 2L) of them fit in 128 bits; with the IFMA kernel
        // (every prime below 2^50) at most 2^11, its low sums' bound.
        let maxL = ctx.moduli.map(\.bitLength).max()!
        let ifma = maxL <= 50 && ctx.degree % 8 == 0 && cntt_available() != 0
        let maxTerms = ifma ? 1 << 11 : 1 << min(16, 127 - 2 * maxL)
        if ys.count > maxTerms {
            var (a, b) = dotProducts(Array(xs[..<maxTerms]), Array(zs[..<maxTerms]), Array(ys[..<maxTerms]))
            let (c, d) = dotProducts(Array(xs[maxTerms...]), Array(zs[maxTerms...]), Array(ys[maxTerms...]))
            a += c; b += d
            return (a, b)
        }
        let n = ctx.degree
        var out0 = PolyRq<Eval>.zero(ctx), out1 = PolyRq<Eval>.zero(ctx)
        let terms = ys.count
        // Raw pointers to every operand (the arrays stay alive for the duration of the call).
        let xp = UnsafeMutablePointer<UnsafePointer<UInt64>>.allocate(capacity: terms)
        let zp = UnsafeMutablePointer<UnsafePointer<UInt64>>.allocate(capacity: terms)
        let yp = UnsafeMutablePointer<UnsafePointer<UInt64>>.allocate(capacity: terms)
        defer { xp.deallocate(); zp.deallocate(); yp.deallocate() }
        func run(_ k: Int, _ body: () -> Void) {
            if k == terms { body(); return }
            xs[k].data.withUnsafeBufferPointer { x in
                zs[k].data.withUnsafeBufferPointer { z in
                    ys[k].data.withUnsafeBufferPointer { y in
                        xp[k] = x.baseAddress!; zp[k] = z.baseAddress!; yp[k] = y.baseAddress!
                        run(k + 1, body)
                    }
                }
            }
        }
        run(0) {
            // Term-major loops: three input streams and four accumulator rows per pass (cache friendly).
            let acc = UnsafeMutablePointer<UInt64>.allocate(capacity: 4 * n)
            defer { acc.deallocate() }
            out0.data.withUnsafeMutableBufferPointer { o0 in
                out1.data.withUnsafeMutableBufferPointer { o1 in
                    for (i, m) in ctx.moduli.enumerated() {
                        let twoTo64 = m.reduce(high: 1, low: 0)
                        let base = i * n
                        let h0 = acc, l0 = acc + n, h1 = acc + 2 * n, l1 = acc + 3 * n
                        if ifma {
                            // Radix 2^52 sums (CKernels' cdot_ifma): (h 2^52 + l) mod q.
                            let twoTo52 = m.reduce(1 << 52)
                            func rows(_ p: UnsafeMutablePointer<UnsafePointer<UInt64>>) -> UnsafePointer<UnsafePointer<UInt64>?> {
                                UnsafeRawPointer(p).assumingMemoryBound(to: UnsafePointer<UInt64>?.self)
                            }
                            cdot_ifma(n, terms, rows(xp), rows(zp), rows(yp), base, h0, l0, h1, l1)
                            for j in 0..<n {
                                o0[base + j] = m.add(m.reduce(l0[j]), m.multiply(m.reduce(h0[j]), twoTo52))
                                o1[base + j] = m.add(m.reduce(l1[j]), m.multiply(m.reduce(h1[j]), twoTo52))
                            }
                            continue
                        }
                        acc.initialize(repeating: 0, count: 4 * n)
                        for k in 0..<terms {
                            let x = xp[k] + base, z = zp[k] + base, y = yp[k] + base
                            for j in 0..<n {
                                let w = y[j]
                                let p0 = x[j].multipliedFullWidth(by: w)
                                let p1 = z[j].multipliedFullWidth(by: w)
                                let (s0, c0) = l0[j].addingReportingOverflow(p0.low)
                                l0[j] = s0; h0[j] = h0[j] &+ p0.high &+ (c0 ? 1 : 0)
                                let (s1, c1) = l1[j].addingReportingOverflow(p1.low)
                                l1[j] = s1; h1[j] = h1[j] &+ p1.high &+ (c1 ? 1 : 0)
                            }
                        }
                        // (h 2^64 + l) mod q: reduce l, then add h * (2^64 mod q).
                        for j in 0..<n {
                            o0[base + j] = m.add(m.reduce(l0[j]), m.multiply(m.reduce(h0[j]), twoTo64))
                            o1[base + j] = m.add(m.reduce(l1[j]), m.multiply(m.reduce(h1[j]), twoTo64))
                        }
                    }
                }
            }
        }
        return (out0, out1)
    }
}

extension PolyRq {
    /// Each residue (one per modulus) transformed in place by `apply` with its modulus's NTT tables, the
    /// storage moved, not copied, into the result of form `G`.
    consuming func transformed<G: PolyFormat>(_ apply: (NTTTables, UnsafeMutablePointer<UInt64>) -> Void) -> PolyRq<G> {
        var d: [UInt64] = []
        swap(&d, &self.data)
        let n = context.degree
        d.withUnsafeMutableBufferPointer { p in
            for (i, t) in context.tables.enumerated() { apply(t, p.baseAddress! + i * n) }
        }
        return PolyRq<G>(context: context, data: d)
    }
}
