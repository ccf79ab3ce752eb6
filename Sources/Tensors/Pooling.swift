// Average pooling (square window, no padding) and global average pooling, NCHW.

extension Tape {
    /// Average over k x k windows with the given stride. x: [N, C, H, W] -> [N, C, Ho, Wo].
    public func averagePool(_ x: Variable, kernel k: Int, stride s: Int) -> Variable {
        let sh = x.shape
        let N = sh[0], C = sh[1], H = sh[2], W = sh[3]
        let Ho = (H - k) / s + 1, Wo = (W - k) / s + 1
        let y = Tensor(uninitialized: [N, C, Ho, Wo])
        let xs = x.value.pointer, ys = y.pointer
        let scale = 1 / Float(k * k)
        Parallel.forEachChunk(N * C) { r in
            for nc in r {
                let p = xs + nc * H * W, q = ys + nc * Ho * Wo
                for oy in 0..<Ho { for ox in 0..<Wo {
                    var acc: Float = 0
                    for i in 0..<k { for j in 0..<k { acc += p[(oy * s + i) * W + ox * s + j] } }
                    q[oy * Wo + ox] = acc * scale
                } }
            }
        }
        return record(y, inputs: [x]) { [unowned self] dy in
            let dx = Tensor(zeros: sh)
            let d = dy.pointer, q = dx.pointer
            Parallel.forEachChunk(N * C) { r in
                for nc in r {
                    let g = d + nc * Ho * Wo, p = q + nc * H * W
                    for oy in 0..<Ho { for ox in 0..<Wo {
                        let v = g[oy * Wo + ox] * scale
                        for i in 0..<k { for j in 0..<k { p[(oy * s + i) * W + ox * s + j] += v } }
                    } }
                }
            }
            self.accumulate(x, dx)
        }
    }

    /// Mean over H and W. x: [N, C, H, W] -> [N, C].
    public func globalAveragePool(_ x: Variable) -> Variable {
        let sh = x.shape
        let N = sh[0], C = sh[1], HW = sh[2] * sh[3]
        let y = Tensor(uninitialized: [N, C])
        let xs = x.value.pointer, ys = y.pointer
        let scale = 1 / Float(HW)
        for nc in 0..<(N * C) {
            var acc: Float = 0
            let p = xs + nc * HW
            for i in 0..<HW { acc += p[i] }
            ys[nc] = acc * scale
        }
        return record(y, inputs: [x]) { [unowned self] dy in
            let dx = Tensor(uninitialized: sh)
            let d = dy.pointer, q = dx.pointer
            for nc in 0..<(N * C) {
                let v = d[nc] * scale
                (q + nc * HW).update(repeating: v, count: HW)
            }
            self.accumulate(x, dx)
        }
    }
}

extension Reference {
    public static func averagePool<T: BinaryFloatingPoint>(_ x: [T], _ shape: [Int], kernel k: Int, stride s: Int) -> [T] {
        let (N, C, H, W) = (shape[0], shape[1], shape[2], shape[3])
        let Ho = (H - k) / s + 1, Wo = (W - k) / s + 1
        var y = [T](repeating: 0, count: N * C * Ho * Wo)
        for nc in 0..<(N * C) { for oy in 0..<Ho { for ox in 0..<Wo {
            var acc: T = 0
            for i in 0..<k { for j in 0..<k { acc += x[nc * H * W + (oy * s + i) * W + ox * s + j] } }
            y[(nc * Ho + oy) * Wo + ox] = acc / T(k * k)
        } } }
        return y
    }

    public static func globalAveragePool<T: BinaryFloatingPoint>(_ x: [T], _ shape: [Int]) -> [T] {
        let HW = shape[2] * shape[3]
        return (0..<(shape[0] * shape[1])).map { nc in x[(nc * HW)..<((nc + 1) * HW)].reduce(0, +) / T(HW) }
    }
}
