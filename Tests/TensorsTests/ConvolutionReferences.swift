// Naive adjoints of Reference.conv2d in Float64, shared by the convolution tests: the weight gradient
// and the input gradient written as the scatter of each output pixel's gradient over the inputs it read.

/// dW[o][c][ki][kj] = sum over n, pixels of dy[n][o][pixel] * x[n][c][pixel*s - p + (ki, kj)], in Float64.
func referenceWeightGradient(_ x: [Float], _ xShape: [Int], _ dy: [Float], o O: Int, k: Int,
                             stride s: Int, padding p: Int) -> [Double] {
    let (N, C, H, W) = (xShape[0], xShape[1], xShape[2], xShape[3])
    let Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1
    var dw = [Double](repeating: 0, count: O * C * k * k)
    for n in 0..<N { for o in 0..<O { for oy in 0..<Ho { for ox in 0..<Wo {
        let g = Double(dy[((n * O + o) * Ho + oy) * Wo + ox])
        for c in 0..<C { for ki in 0..<k { for kj in 0..<k {
            let iy = oy * s - p + ki, ix = ox * s - p + kj
            if iy >= 0 && iy < H && ix >= 0 && ix < W {
                dw[((o * C + c) * k + ki) * k + kj] += g * Double(x[((n * C + c) * H + iy) * W + ix])
            }
        } } }
    } } } }
    return dw
}

/// dx[n][c][iy][ix] = sum over o, output pixels, taps of dy[n][o][oy][ox] * w[o][c][ki][kj] where
/// (iy, ix) = (oy*s - p + ki, ox*s - p + kj), in Float64.
func referenceInputGradient(_ w: [Float], _ xShape: [Int], _ dy: [Float], o O: Int, k: Int,
                            stride s: Int, padding p: Int) -> [Double] {
    let (N, C, H, W) = (xShape[0], xShape[1], xShape[2], xShape[3])
    let Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1
    var dx = [Double](repeating: 0, count: N * C * H * W)
    for n in 0..<N { for o in 0..<O { for oy in 0..<Ho { for ox in 0..<Wo {
        let g = Double(dy[((n * O + o) * Ho + oy) * Wo + ox])
        for c in 0..<C { for ki in 0..<k { for kj in 0..<k {
            let iy = oy * s - p + ki, ix = ox * s - p + kj
            if iy >= 0 && iy < H && ix >= 0 && ix < W {
                dx[((n * C + c) * H + iy) * W + ix] += g * Double(w[((o * C + c) * k + ki) * k + kj])
            }
        } } }
    } } } }
    return dx
}
