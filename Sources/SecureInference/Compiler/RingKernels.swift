import CKernels
import NetworkPlan

/// Linear maps on tensors over Z_(2^64) (wrapping arithmetic): what the server computes online on its
/// masked values, and what the oracle computes in the clear. Exact: no floating point anywhere.
public enum RingKernels {
    /// The output columns ox of a convolution row whose input column ox * stride + kx - padding lies inside
    /// a row of `inWidth` (first, last; nil when none): the bounds both convolution loops iterate over.
    @inline(__always)
    static func insideColumns(kx: Int, padding: Int, stride: Int, inWidth: Int, outWidth: Int) -> (Int, Int)? {
        let first = max(0, (padding - kx + stride - 1) / stride)
        let last = min(outWidth - 1, (inWidth - 1 + padding - kx) / stride)
        return first <= last ? (first, last) : nil
    }

    /// Applies `map` to `x` (shape `inShape`, C-H-W) and adds the result into `out` (shape `outShape`).
    public static func accumulate(_ map: LinearMap, x: [UInt64], inShape: TensorShape, outShape: TensorShape,
                                  into out: inout [UInt64]) {
        precondition(x.count == inShape.elements && out.count == outShape.elements, "tensor sizes do not match shapes")
        switch map {
        case .conv(let weights, let inChannels, let outChannels, let k, let stride, let padding):
            precondition(inChannels == inShape.channels && outChannels == outShape.channels)
            convolve(weights: weights, x: x, inShape: inShape, outShape: outShape, kernel: k, stride: stride,
                     padding: padding, into: &out)
        case .dense(let weights, let inFeatures, let outFeatures):
            precondition(inFeatures == x.count && outFeatures == out.count)
            weights.withUnsafeBufferPointer { w in
                x.withUnsafeBufferPointer { xs in
                    for o in 0..<outFeatures {
                        var acc: UInt64 = 0
                        let row = o * inFeatures
                        for i in 0..<inFeatures { acc &+= w[row + i] &* xs[i] }
                        out[o] &+= acc
                    }
                }
            }
        case .diagonal(let scale):
            precondition(scale.count == inShape.channels && inShape == outShape)
            let plane = inShape.height * inShape.width
            for c in 0..<inShape.channels {
                let s = scale[c]
                for i in c * plane..<(c + 1) * plane { out[i] &+= s &* x[i] }
            }
        case .windowSum(let k, let stride):
            for c in 0..<outShape.channels {
                for oy in 0..<outShape.height {
                    for ox in 0..<outShape.width {
                        var acc: UInt64 = 0
                        for dy in 0..<k {
                            for dx in 0..<k {
                                acc &+= x[(c * inShape.height + oy * stride + dy) * inShape.width + ox * stride + dx]
                            }
                        }
                        out[(c * outShape.height + oy) * outShape.width + ox] &+= acc
                    }
                }
            }
        }
    }

    /// Convolution, weight layout [out][in][k][k]: the AVX-512 kernel (Sources/CKernels/ringconv.c) for
    /// stride 1 where the CPU has it, else `convolveLoops`.
    public static func convolve(weights: [UInt64], x: [UInt64], inShape: TensorShape, outShape: TensorShape, kernel k: Int,
                         stride: Int, padding: Int, into out: inout [UInt64]) {
        guard stride == 1, nativeConvolution, cring_conv_fits(Int32(outShape.width), Int32(k), Int32(padding)) != 0,
              outShape.height == inShape.height + 2 * padding - k + 1, outShape.width == inShape.width + 2 * padding - k + 1 else {
            convolveLoops(weights: weights, x: x, inShape: inShape, outShape: outShape, kernel: k, stride: stride,
                          padding: padding, into: &out)
            return
        }
        var scratch = [UInt64](unsafeUninitializedCapacity: cring_conv_scratch_count(
            Int32(inShape.channels), Int32(inShape.height), Int32(inShape.width), Int32(padding))) { _, count in
            count = cring_conv_scratch_count(Int32(inShape.channels), Int32(inShape.height), Int32(inShape.width), Int32(padding))
        }
        weights.withUnsafeBufferPointer { w in
            x.withUnsafeBufferPointer { xs in
                out.withUnsafeMutableBufferPointer { ys in
                    scratch.withUnsafeMutableBufferPointer { sc in
                        cring_conv_accumulate(w.baseAddress!, xs.baseAddress!, ys.baseAddress!, Int32(inShape.channels),
                                              Int32(inShape.height), Int32(inShape.width), Int32(outShape.channels),
                                              Int32(k), Int32(padding), sc.baseAddress!)
                    }
                }
            }
        }
    }

    /// Whether `convolve` can use the AVX-512 kernel (the CPU has AVX-512 F and DQ).
    public static let nativeConvolution = cring_available() != 0

    /// The convolution in plain loops (any stride), ordered so the innermost runs along a row: the reference
    /// of the AVX-512 kernel.
    public static func convolveLoops(weights: [UInt64], x: [UInt64], inShape: TensorShape, outShape: TensorShape, kernel k: Int,
                                     stride: Int, padding: Int, into out: inout [UInt64]) {
        let inH = inShape.height, inW = inShape.width, outH = outShape.height, outW = outShape.width
        let inC = inShape.channels
        weights.withUnsafeBufferPointer { w in
            x.withUnsafeBufferPointer { xs in
                out.withUnsafeMutableBufferPointer { ys in
                    for o in 0..<outShape.channels {
                        let outPlane = o * outH * outW
                        for c in 0..<inC {
                            let inPlane = c * inH * inW
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    let weight = w[((o * inC + c) * k + ky) * k + kx]
                                    if weight == 0 { continue }
                                    guard let (first, last) = insideColumns(kx: kx, padding: padding, stride: stride,
                                                                            inWidth: inW, outWidth: outW) else { continue }
                                    for oy in 0..<outH {
                                        let iy = oy * stride + ky - padding
                                        if iy < 0 || iy >= inH { continue }
                                        let row = inPlane + iy * inW - padding + kx
                                        let outRow = outPlane + oy * outW
                                        if stride == 1 {
                                            for ox in first...last { ys[outRow + ox] &+= weight &* xs[row + ox] }
                                        } else {
                                            for ox in first...last { ys[outRow + ox] &+= weight &* xs[row + ox * stride] }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// (a << shiftA) + (b << shiftB) element-wise: a residual addition with scales aligned exactly. The
    /// oracle and both parties all use this one definition.
    public static func shiftedSum(_ a: [UInt64], shiftA: Int, _ b: [UInt64], shiftB: Int) -> [UInt64] {
        zip(a, b).map { ($0 << UInt64(shiftA)) &+ ($1 << UInt64(shiftB)) }
    }

    /// Arithmetic right shift of a two's-complement ring element.
    @inline(__always)
    public static func shiftRight(_ x: UInt64, _ bits: Int) -> UInt64 {
        UInt64(bitPattern: Int64(bitPattern: x) >> UInt64(bits))
    }

    /// The garbled circuit's ReLU: sign from the low `valueBits` bits, then a shift.
    @inline(__always)
    public static func relu(_ x: UInt64, valueBits: Int, shift: Int) -> UInt64 {
        let unused = UInt64(64 - valueBits)
        let value = Int64(bitPattern: x << unused) >> unused
        return value > 0 ? UInt64(value >> UInt64(shift)) : 0
    }

    /// The listed channels of a C-H-W tensor (planes of `plane` elements), in that order.
    static func gather(_ x: [UInt64], channels: [Int], plane: Int) -> [UInt64] {
        var y = [UInt64](repeating: 0, count: channels.count * plane)
        for (j, c) in channels.enumerated() { y[j * plane..<(j + 1) * plane] = x[c * plane..<(c + 1) * plane] }
        return y
    }

    /// Parts' channels put back in place (the inverse of gathering each part's channels).
    static func scatter(_ parts: [([UInt64], [Int])], shape: TensorShape) -> [UInt64] {
        let plane = shape.height * shape.width
        var y = [UInt64](repeating: 0, count: shape.elements)
        for (values, channels) in parts {
            for (j, c) in channels.enumerated() { y[c * plane..<(c + 1) * plane] = values[j * plane..<(j + 1) * plane] }
        }
        return y
    }
}
