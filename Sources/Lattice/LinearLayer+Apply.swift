// The fast exact evaluation of a linear layer in Z_(2^64) (what the server computes online on the
// client's masked input, Delphi's online phase): loops ordered so that the innermost loop runs over
// contiguous output pixels of one row, with one weight held in a register, or the AVX-512 kernel of
// Sources/CKernels/ringconv.c for stride-1 convolutions. `applyReference` is the slow obvious version both
// are tested against.

import CKernels
import ModularMath

extension LinearLayer {
    /// L x mod 2^64 (input [C][H][W], output [M][Ho][Wo]).
    public func apply(_ x: [UInt64]) throws -> [UInt64] {
        guard x.count == shape.inputCount else {
            throw LatticeError.shapeMismatch("\(x.count) inputs for \(shape) (needs \(shape.inputCount))")
        }
        let c = shape.inputChannels, h = shape.inputHeight, w = shape.inputWidth
        switch shape.kind {
        case .dense(let m):
            var out = [UInt64](repeating: 0, count: m)
            weights.withUnsafeBufferPointer { wp in
                x.withUnsafeBufferPointer { xp in
                    for o in 0..<m {
                        var acc: UInt64 = 0
                        let row = wp.baseAddress! + o * c
                        for i in 0..<c { acc &+= UInt64(bitPattern: row[i]) &* xp[i] }
                        out[o] = acc
                    }
                }
            }
            return out
        case .convolution(let m, let kh, let kw, let s, let p):
            let (_, ho, wo) = shape.outputShape
            var out = [UInt64](repeating: 0, count: m * ho * wo)
            if s == 1, kh == kw, cring_available() != 0, cring_conv_fits(Int32(wo), Int32(kh), Int32(p)) != 0 {
                // The AVX-512 kernel the secure runtime's RingKernels.convolve uses (Sources/CKernels/ringconv.c).
                var scratch = [UInt64](repeating: 0, count: cring_conv_scratch_count(Int32(c), Int32(h), Int32(w), Int32(p)))
                weights.withUnsafeBufferPointer { wp in
                    wp.withMemoryRebound(to: UInt64.self) { wp in
                        cring_conv_accumulate(wp.baseAddress!, x, &out, Int32(c), Int32(h), Int32(w), Int32(m), Int32(kh),
                                              Int32(p), &scratch)
                    }
                }
                return out
            }
            out.withUnsafeMutableBufferPointer { op in
                weights.withUnsafeBufferPointer { wp in
                    x.withUnsafeBufferPointer { xp in
                        for o in 0..<m {
                            let outPlane = op.baseAddress! + o * ho * wo
                            for ci in 0..<c {
                                let plane = xp.baseAddress! + ci * h * w
                                for di in 0..<kh {
                                    for dj in 0..<kw {
                                        let wt = UInt64(bitPattern: wp[((o * c + ci) * kh + di) * kw + dj])
                                        if wt == 0 { continue }
                                        // Output columns whose input column oj*s + dj - p lies in [0, w).
                                        let lo = max(0, floorDivide(p - dj + s - 1, s))
                                        let hi = min(wo, floorDivide(w - 1 + p - dj, s) + 1)
                                        if lo >= hi { continue }
                                        for oi in 0..<ho {
                                            let ii = oi * s + di - p
                                            if ii < 0 || ii >= h { continue }
                                            let src = plane + ii * w + dj - p
                                            let dst = outPlane + oi * wo
                                            if s == 1 {
                                                for oj in lo..<hi { dst[oj] &+= wt &* src[oj] }
                                            } else {
                                                for oj in lo..<hi { dst[oj] &+= wt &* src[oj * s] }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return out
        }
    }
}

/// floor(a / b) for b > 0 (Swift's / truncates towards zero).
@inline(__always) func floorDivide(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && a < 0) ? q - 1 : q
}
