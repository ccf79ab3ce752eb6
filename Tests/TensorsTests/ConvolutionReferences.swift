// Naive adjoints of Reference.conv2d in Float64, shared by the convolution tests: both gradients as the
// scatter of each output pixel's gradient over the inputs and weights it read.

/// dx[n][c][iy][ix] = sum over o, output pixels, taps of dy[n][o][oy][ox] * w[o][c][ki][kj] and
/// dW[o][c][ki][kj] = sum over n, output pixels of dy[n][o][oy][ox] * x[n][c][iy][ix], where
/// (iy, ix) = (oy*s - p + ki, ox*s - p + kj) inside the plane, in Float64.
func referenceGradients(_ x: [Float], _ xShape: [Int], _ w: [Float], _ dy: [Float], o O: Int, k: Int,
                        stride s: Int, padding p: Int) -> (dx: [Double], dw: [Double]) {
    let (N, C, H, W) = (xShape[0], xShape[1], xShape[2], xShape[3])
    let Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1
    var dx = [Double](repeating: 0, count: N * C * H * W)
    var dw = [Double](repeating: 0, count: O * C * k * k)
    for n in 0..<N { for o in 0..<O { for oy in 0..<Ho { for ox in 0..<Wo {
        let g = Double(dy[((n * O + o) * Ho + oy) * Wo + ox])
        for c in 0..<C { for ki in 0..<k { for kj in 0..<k {
            let iy = oy * s - p + ki, ix = ox * s - p + kj
            guard iy >= 0 && iy < H && ix >= 0 && ix < W else { continue }
            let xi = ((n * C + c) * H + iy) * W + ix, wi = ((o * C + c) * k + ki) * k + kj
            dx[xi] += g * Double(w.isEmpty ? 0 : w[wi])
            dw[wi] += g * Double(x[xi])
        } } }
    } } } }
    return (dx, dw)
}

/// dW alone (`referenceGradients` without weights).
func referenceWeightGradient(_ x: [Float], _ xShape: [Int], _ dy: [Float], o O: Int, k: Int,
                             stride s: Int, padding p: Int) -> [Double] {
    referenceGradients(x, xShape, [], dy, o: O, k: k, stride: s, padding: p).dw
}
