// 2-D convolution without bias, NCHW activations, OIHW weights ([out, in, kh, kw]).
// Two paths, the batch split over the workers either way:
// - 3x3 stride-1 "same" convolutions on CPUs with AVX-512 and planes the kernels fit (CIFAR's 32x32,
//   16x16, 8x8; output channels a multiple of 4): the direct kernels of the CKernels target (no im2col
//   copy, no GEMM packing); the input gradient is the same forward kernel on dy with flipped,
//   transposed weights, the weight gradient its own kernel.
// - Everything else: per image, im2col (skipped for 1x1 stride-1 convolutions) then one sgemm with the
//   weights on the left (M = Cout, N = output pixels, K = Cin*kh*kw), OpenBLAS pinned to one thread
//   (PLATFORM.md: 60-92 GFLOP/s against 26-62 for whole-batch GEMMs). The pullback recomputes im2col
//   per image instead of storing it.
import CKernels

public struct ConvGeometry: Sendable, Equatable {
    public let inChannels, height, width, outChannels, kernel, stride, padding: Int
    public var outHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    public var outWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
    public var patch: Int { inChannels * kernel * kernel }
    public var isPointwise: Bool { kernel == 1 && stride == 1 && padding == 0 }
    /// Stride 1 and output size = input size (e.g. 3x3 with padding 1): im2col rows are shifted
    /// copies of whole planes.
    public var isSameShift: Bool { stride == 1 && kernel == 2 * padding + 1 }

    public init(inChannels: Int, height: Int, width: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int) {
        self.inChannels = inChannels; self.height = height; self.width = width
        self.outChannels = outChannels; self.kernel = kernel; self.stride = stride; self.padding = padding
    }
}

/// Whether the C kernels of CKernels run (AVX-512 CPUs): the direct 3x3 convolutions and the polynomial
/// activations. `enabled` (default true) false forces the portable paths everywhere (im2col + OpenBLAS
/// convolutions, Swift polynomial loops), for benchmarks and the tests that compare the two.
public enum NativeKernels {
    nonisolated(unsafe) public static var enabled = true

    /// True when this CPU runs the C kernels.
    public static var available: Bool { cconv_available() != 0 }

    /// Whether they run now.
    public static var active: Bool { enabled && available }

    /// What 3x3 "same" convolutions run here: "avx512-direct" or "im2col+openblas".
    public static var convolutionName: String { active ? "avx512-direct" : "im2col+openblas" }
}

/// The direct 3x3 kernels' Swift side: when they apply, weight packing, the batch split over workers.
enum ConvolutionKernels {
    /// Whether a convolution of this geometry producing `outChannels` runs on the direct kernels.
    static func direct(_ g: ConvGeometry, outChannels: Int) -> Bool {
        NativeKernels.active && g.kernel == 3 && g.isSameShift
            && cconv_fits(Int32(outChannels), Int32(g.height), Int32(g.width)) != 0
    }

    /// Weights packed for the forward kernel (or, with `adjoint`, for the input gradient).
    static func packed(_ w: Tensor, _ g: ConvGeometry, adjoint: Bool) -> Storage {
        let storage = Storage(count: cconv_packed_count(Int32(g.outChannels), Int32(g.inChannels)))
        cconv_pack_weights(w.pointer, Int32(g.outChannels), Int32(g.inChannels), adjoint ? 1 : 0, storage.pointer)
        return storage
    }

    /// y[n] = conv3x3(x[n]) over the batch (y[n] += conv3x3(x[n]) with `adding`), split over the workers, with
    /// weights packed for (cout, cin).
    /// With `moments`, each image's per-channel moments are added into that worker's partial (see
    /// `ChannelMoments.Partials`) right after the image is written.
    static func forward(_ x: UnsafePointer<Float>, _ packed: Storage, _ y: UnsafeMutablePointer<Float>, batch: Int,
                        inChannels: Int, outChannels: Int, height: Int, width: Int, adding: Bool = false,
                        moments: ChannelMoments.Partials? = nil) {
        let plane = height * width
        let ws = UnsafePointer(packed.pointer)
        let scratchCount = cconv_forward_scratch_count(Int32(inChannels), Int32(height), Int32(width))
        _ = Parallel.forEachWorker(batch) { worker, range in
            let scratch = Storage(count: scratchCount)
            guard let moments else {
                cconv_forward(x + range.lowerBound * inChannels * plane, ws, y + range.lowerBound * outChannels * plane,
                              Int32(range.count), Int32(inChannels), Int32(outChannels), Int32(height), Int32(width),
                              scratch.pointer, adding ? 1 : 0)
                return
            }
            for n in range {
                let out = y + n * outChannels * plane
                cconv_forward(x + n * inChannels * plane, ws, out, 1, Int32(inChannels), Int32(outChannels), Int32(height),
                              Int32(width), scratch.pointer, adding ? 1 : 0)
                moments.add(image: out, worker: worker)
            }
        }
    }

    /// y[n] = relu?(conv3x3(x[n]) * scale + shift + residual[n]) over the batch (`cconv_forward_normalized`).
    static func forwardNormalized(_ x: UnsafePointer<Float>, _ packed: Storage, _ y: UnsafeMutablePointer<Float>, batch: Int,
                                  inChannels: Int, outChannels: Int, height: Int, width: Int, scale: UnsafePointer<Float>,
                                  shift: UnsafePointer<Float>, residual: UnsafePointer<Float>?, relu: Bool) {
        let plane = height * width
        let ws = UnsafePointer(packed.pointer)
        let scratchCount = cconv_forward_scratch_count(Int32(inChannels), Int32(height), Int32(width))
        Parallel.forEachChunk(batch) { range in
            let scratch = Storage(count: scratchCount)
            let offset = range.lowerBound * outChannels * plane
            cconv_forward_normalized(x + range.lowerBound * inChannels * plane, ws, y + offset, Int32(range.count),
                                     Int32(inChannels), Int32(outChannels), Int32(height), Int32(width), scratch.pointer,
                                     scale, shift, residual.map { $0 + offset }, relu ? 1 : 0)
        }
    }

    /// dW summed over the batch: one partial per worker, then added.
    static func weightGradient(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ g: ConvGeometry, batch: Int) -> Tensor {
        let size = g.outChannels * g.patch, plane = g.height * g.width
        let workers = min(Parallel.threads, max(1, batch))
        let parts = Storage(count: workers * size, zeroed: true)
        let ps = parts.pointer
        let scratchCount = cconv_weight_gradient_scratch_count(Int32(g.inChannels), Int32(g.outChannels),
                                                               Int32(g.height), Int32(g.width))
        _ = Parallel.forEachWorker(batch) { worker, range in
            let scratch = Storage(count: scratchCount)
            cconv_weight_gradient(x + range.lowerBound * g.inChannels * plane, dy + range.lowerBound * g.outChannels * plane,
                                  ps + worker * size, Int32(range.count), Int32(g.inChannels), Int32(g.outChannels),
                                  Int32(g.height), Int32(g.width), scratch.pointer)
        }
        let out = Tensor(uninitialized: [g.outChannels, g.inChannels, g.kernel, g.kernel])
        out.pointer.update(from: ps, count: size)
        for worker in 1..<workers { for i in 0..<size { out.pointer[i] += ps[worker * size + i] } }
        return out
    }
}

enum ConvKernels {
    /// col[(c*k + ki)*k + kj][oy*Wo + ox] = x[c][oy*s - p + ki][ox*s - p + kj] (0 outside).
    static func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ col: UnsafeMutablePointer<Float>) {
        if g.isSameShift { return im2colSameShift(x, g, col) }
        let k = g.kernel, s = g.stride, p = g.padding, H = g.height, W = g.width
        let Ho = g.outHeight, Wo = g.outWidth
        for c in 0..<g.inChannels {
            let plane = x + c * H * W
            for ki in 0..<k {
                for kj in 0..<k {
                    let row = col + ((c * k + ki) * k + kj) * Ho * Wo
                    // valid ox: 0 <= ox*s - p + kj < W
                    let lo = max(0, (p - kj + s - 1) / s)
                    let hi = min(Wo, (W - 1 + p - kj) / s + 1)
                    for oy in 0..<Ho {
                        let dst = row + oy * Wo
                        let iy = oy * s - p + ki
                        if iy < 0 || iy >= H || lo >= hi {
                            dst.update(repeating: 0, count: Wo)
                            continue
                        }
                        let src = plane + iy * W
                        if lo > 0 { dst.update(repeating: 0, count: lo) }
                        if s == 1 {
                            (dst + lo).update(from: src + (lo - p + kj), count: hi - lo)
                        } else {
                            var ix = lo * s - p + kj
                            for ox in lo..<hi { dst[ox] = src[ix]; ix += s }
                        }
                        if hi < Wo { (dst + hi).update(repeating: 0, count: Wo - hi) }
                    }
                }
            }
        }
    }

    /// Stride-1 "same" convolutions: row (c, ki, kj) is plane c shifted by (ki-p)*W + (kj-p) as one
    /// flat copy, then the columns that wrapped around a row edge are zeroed.
    static func im2colSameShift(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ col: UnsafeMutablePointer<Float>) {
        let k = g.kernel, p = g.padding, H = g.height, W = g.width, HW = H * W
        for c in 0..<g.inChannels {
            let plane = x + c * HW
            for ki in 0..<k {
                for kj in 0..<k {
                    let row = col + ((c * k + ki) * k + kj) * HW
                    let offset = (ki - p) * W + (kj - p)
                    let lo = max(0, -offset), hi = min(HW, HW - offset)
                    if lo > 0 { row.update(repeating: 0, count: lo) }
                    if hi > lo { (row + lo).update(from: plane + lo + offset, count: hi - lo) }
                    if hi < HW { (row + hi).update(repeating: 0, count: HW - hi) }
                    // Columns whose source column ox + kj - p falls outside [0, W).
                    let left = p - kj, right = W + p - kj
                    if left > 0 { for oy in 0..<H { for ox in 0..<left { row[oy * W + ox] = 0 } } }
                    if right < W { for oy in 0..<H { for ox in right..<W { row[oy * W + ox] = 0 } } }
                }
            }
        }
    }

    /// Adjoint of im2colSameShift; overwrites dx (no zeroing needed). Zeroes the wrapped columns of
    /// `col` (scratch) before the flat adds.
    static func col2imSameShift(_ col: UnsafeMutablePointer<Float>, _ g: ConvGeometry, _ dx: UnsafeMutablePointer<Float>) {
        let k = g.kernel, p = g.padding, H = g.height, W = g.width, HW = H * W
        for c in 0..<g.inChannels {
            let plane = dx + c * HW
            // The centre tap covers the whole plane: copy it first, then add the others.
            plane.update(from: col + ((c * k + p) * k + p) * HW, count: HW)
            for ki in 0..<k {
                for kj in 0..<k where !(ki == p && kj == p) {
                    let row = col + ((c * k + ki) * k + kj) * HW
                    let offset = (ki - p) * W + (kj - p)
                    let left = p - kj, right = W + p - kj
                    if left > 0 { for oy in 0..<H { for ox in 0..<left { row[oy * W + ox] = 0 } } }
                    if right < W { for oy in 0..<H { for ox in right..<W { row[oy * W + ox] = 0 } } }
                    let lo = max(0, -offset), hi = min(HW, HW - offset)
                    if hi > lo {
                        let dst = plane + offset
                        for j in lo..<hi { dst[j] += row[j] }
                    }
                }
            }
        }
    }

    /// Adjoint of im2col: dx[c][iy][ix] += col[...] (dx must be zeroed by the caller).
    static func col2im(_ col: UnsafePointer<Float>, _ g: ConvGeometry, _ dx: UnsafeMutablePointer<Float>) {
        let k = g.kernel, s = g.stride, p = g.padding, H = g.height, W = g.width
        let Ho = g.outHeight, Wo = g.outWidth
        for c in 0..<g.inChannels {
            let plane = dx + c * H * W
            for ki in 0..<k {
                for kj in 0..<k {
                    let row = col + ((c * k + ki) * k + kj) * Ho * Wo
                    let lo = max(0, (p - kj + s - 1) / s)
                    let hi = min(Wo, (W - 1 + p - kj) / s + 1)
                    if lo >= hi { continue }
                    for oy in 0..<Ho {
                        let iy = oy * s - p + ki
                        if iy < 0 || iy >= H { continue }
                        let src = row + oy * Wo
                        let dst = plane + iy * W
                        var ix = lo * s - p + kj
                        for ox in lo..<hi { dst[ix] += src[ox]; ix += s }
                    }
                }
            }
        }
    }

    /// y[n] = W * im2col(x[n]) for every image, batch split over workers. With `moments`, also y's per-channel
    /// moments (for a training batch norm that follows), gathered per image while it is in cache.
    static func forward(_ x: Tensor, _ w: Tensor, _ g: ConvGeometry, batch: Int,
                        moments wantMoments: Bool = false) -> (y: Tensor, moments: ChannelMoments?) {
        let Ho = g.outHeight, Wo = g.outWidth, P = Ho * Wo, K = g.patch, O = g.outChannels
        let y = Tensor(uninitialized: [batch, O, Ho, Wo])
        let moments = wantMoments ? ChannelMoments.Partials(channels: O, plane: P) : nil
        if ConvolutionKernels.direct(g, outChannels: O) {
            ConvolutionKernels.forward(x.pointer, ConvolutionKernels.packed(w, g, adjoint: false), y.pointer, batch: batch,
                                       inChannels: g.inChannels, outChannels: O, height: g.height, width: g.width,
                                       moments: moments)
            return (y, moments?.total(images: batch))
        }
        let xs = x.pointer, ws = w.pointer, ys = y.pointer
        let inSize = g.inChannels * g.height * g.width
        _ = Parallel.forEachWorker(batch) { worker, range in
            let scratch = g.isPointwise ? nil : Storage(count: K * P)
            for n in range {
                let xin = xs + n * inSize
                let col: UnsafePointer<Float>
                if let scratch {
                    im2col(xin, g, scratch.pointer)
                    col = UnsafePointer(scratch.pointer)
                } else {
                    col = UnsafePointer(xin)
                }
                sgemm(transA: false, transB: false, m: O, n: P, k: K, a: ws, lda: K, b: col, ldb: P,
                      beta: 0, c: ys + n * O * P, ldc: P)
                moments?.add(image: ys + n * O * P, worker: worker)
            }
        }
        return (y, moments?.total(images: batch))
    }

    /// wT[c][o][ki][kj] = w[o][c][k-1-ki][k-1-kj]: the weights of the transposed convolution.
    static func flippedTransposed(_ w: Tensor, _ g: ConvGeometry) -> Tensor {
        let O = g.outChannels, C = g.inChannels, k = g.kernel
        let out = Tensor(uninitialized: [C, O, k, k])
        let src = w.pointer, dst = out.pointer
        for o in 0..<O { for c in 0..<C { for ki in 0..<k { for kj in 0..<k {
            dst[((c * O + o) * k + ki) * k + kj] = src[((o * C + c) * k + (k - 1 - ki)) * k + (k - 1 - kj)]
        } } } }
        return out
    }

    /// Stride-1 "same" convolutions (k = 2p + 1): with q = pixel + (ki - p, kj - p),
    /// dW[o][c][ki][kj] = sum_pixel dy[o][pixel] * x[c][q] = sum_q x[c][q] * dy[o][q - (ki - p, kj - p)]
    ///                  = sum_q x[c][q] * im2col(dy)[(o, k-1-ki, k-1-kj)][q]
    /// (both sides are zero exactly when q or the pixel falls outside the plane). So the backward pass
    /// reuses the im2col of dy it builds for dx instead of recomputing im2col(x). `parts` holds one
    /// [C][O*k*k] matrix per worker; this sums them into [O][C][k][k].
    static func weightGradientFromTransposed(_ parts: UnsafePointer<Float>, workers: Int, _ g: ConvGeometry) -> Tensor {
        let O = g.outChannels, C = g.inChannels, k = g.kernel, size = O * C * k * k
        let out = Tensor(uninitialized: [O, C, k, k])
        let dst = out.pointer
        for o in 0..<O { for c in 0..<C { for ki in 0..<k { for kj in 0..<k {
            let j = c * O * k * k + (o * k + (k - 1 - ki)) * k + (k - 1 - kj)
            var v = parts[j]
            for worker in 1..<max(1, workers) { v += parts[worker * size + j] }
            dst[((o * C + c) * k + ki) * k + kj] = v
        } } } }
        return out
    }

    /// Whether `backward` takes dx on the direct kernels (which can add it into an existing gradient).
    static func directInputGradient(_ g: ConvGeometry) -> Bool { ConvolutionKernels.direct(g, outChannels: g.inChannels) }

    /// Gradients: dW = sum_n dy[n] * col[n]^T; dx[n] = col2im(W^T * dy[n]) (or, for stride-1 same
    /// convolutions, the transposed convolution of dy). With `addingInputInto` (only where `directInputGradient`),
    /// dx is added into that tensor instead of returned (the residual sum of two gradients made in the kernel's
    /// stores, no separate pass).
    static func backward(_ x: Tensor, _ w: Tensor, _ dy: Tensor, _ g: ConvGeometry, batch: Int,
                         wantInput: Bool, wantWeight: Bool, addingInputInto sum: Tensor? = nil) -> (dx: Tensor?, dw: Tensor?) {
        // Direct kernels: dx needs the adjoint's output channels (C) to fit, dW the forward's (O).
        let directInput = wantInput && directInputGradient(g)
        let directWeight = wantWeight && ConvolutionKernels.direct(g, outChannels: g.outChannels)
        precondition(sum == nil || directInput && sum?.count == x.count, "conv2d: adding dx needs the direct kernels")
        if directInput || directWeight {
            var dx: Tensor? = nil, dw: Tensor? = nil
            if directInput {
                let out = sum ?? Tensor(uninitialized: x.shape)
                ConvolutionKernels.forward(dy.pointer, ConvolutionKernels.packed(w, g, adjoint: true), out.pointer, batch: batch,
                                           inChannels: g.outChannels, outChannels: g.inChannels, height: g.height, width: g.width,
                                           adding: sum != nil)
                if sum == nil { dx = out }
            }
            if directWeight { dw = ConvolutionKernels.weightGradient(x.pointer, dy.pointer, g, batch: batch) }
            // What the direct kernels cannot do here (a shape only one side fits) goes through the GEMM path.
            if wantInput && !directInput || wantWeight && dw == nil {
                let rest = backwardGEMM(x, w, dy, g, batch: batch, wantInput: wantInput && !directInput,
                                        wantWeight: wantWeight && dw == nil)
                dx = dx ?? rest.dx; dw = dw ?? rest.dw
            }
            return (dx, dw)
        }
        return backwardGEMM(x, w, dy, g, batch: batch, wantInput: wantInput, wantWeight: wantWeight)
    }

    static func backwardGEMM(_ x: Tensor, _ w: Tensor, _ dy: Tensor, _ g: ConvGeometry, batch: Int,
                             wantInput: Bool, wantWeight: Bool) -> (dx: Tensor?, dw: Tensor?) {
        let P = g.outHeight * g.outWidth, K = g.patch, O = g.outChannels
        let inSize = g.inChannels * g.height * g.width
        let dx: Tensor? = wantInput ? Tensor(uninitialized: x.shape) : nil
        let workers = min(Parallel.threads, batch)
        let partials = wantWeight ? Storage(count: workers * O * K, zeroed: true) : nil
        let xs = x.pointer, ws = w.pointer, dys = dy.pointer
        let dxs = dx?.pointer, parts = partials?.pointer
        // Stride-1 "same" convolutions: dx = conv(dy, flipped and transposed weights), computed as
        // im2col(dy) and a GEMM whose output is dx itself (no col2im, no 9x-sized scratch to clear).
        let transposed = g.isSameShift && wantInput && !g.isPointwise
        let gT = ConvGeometry(inChannels: O, height: g.height, width: g.width, outChannels: g.inChannels,
                              kernel: g.kernel, stride: 1, padding: g.padding)
        let flipped: Tensor? = transposed ? flippedTransposed(w, g) : nil
        let fs = flipped?.pointer
        // With the transposed path, dW comes from the same im2col(dy) (see `weightGradientFromTransposed`):
        // the partials hold G[c][(o*k + ti)*k + tj] = sum_q x[c][q] * im2col(dy)[(o, ti, tj)][q].
        _ = Parallel.forEachWorker(batch) { worker, range in
            let col = (g.isPointwise || transposed || !wantWeight) ? nil : Storage(count: K * P)
            let dcol = (g.isPointwise || !wantInput) ? nil : Storage(count: (transposed ? gT.patch : K) * P)
            for n in range {
                let xin = xs + n * inSize
                let dyn = dys + n * O * P
                if transposed, let dcol, let fs, let dxs {
                    im2col(dyn, gT, dcol.pointer)
                    if let parts {
                        sgemm(transA: false, transB: true, m: g.inChannels, n: gT.patch, k: P, a: xin, lda: P,
                              b: dcol.pointer, ldb: P, beta: 1, c: parts + worker * O * K, ldc: gT.patch)
                    }
                    sgemm(transA: false, transB: false, m: g.inChannels, n: P, k: gT.patch, a: fs, lda: gT.patch,
                          b: dcol.pointer, ldb: P, beta: 0, c: dxs + n * inSize, ldc: P)
                    continue
                }
                if let parts {
                    let b: UnsafePointer<Float>
                    if let col { im2col(xin, g, col.pointer); b = UnsafePointer(col.pointer) } else { b = UnsafePointer(xin) }
                    sgemm(transA: false, transB: true, m: O, n: K, k: P, a: dyn, lda: P, b: b, ldb: P,
                          beta: 1, c: parts + worker * O * K, ldc: K)
                }
                if let dxs {
                    let dxn = dxs + n * inSize
                    if let dcol {
                        sgemm(transA: true, transB: false, m: K, n: P, k: O, a: ws, lda: K, b: dyn, ldb: P,
                              beta: 0, c: dcol.pointer, ldc: P)
                        if g.isSameShift {
                            col2imSameShift(dcol.pointer, g, dxn)
                        } else {
                            dxn.update(repeating: 0, count: inSize)
                            col2im(dcol.pointer, g, dxn)
                        }
                    } else {
                        sgemm(transA: true, transB: false, m: K, n: P, k: O, a: ws, lda: K, b: dyn, ldb: P,
                              beta: 0, c: dxn, ldc: P)
                    }
                }
            }
        }
        var dw: Tensor? = nil
        if let parts, transposed {
            dw = weightGradientFromTransposed(parts, workers: workers, g)
        } else if let parts {
            let out = Tensor(uninitialized: w.shape)
            out.pointer.update(from: parts, count: O * K)
            for worker in 1..<max(1, workers) {
                let src = parts + worker * O * K
                for i in 0..<(O * K) { out.pointer[i] += src[i] }
            }
            dw = out
        }
        return (dx, dw)
    }
}

extension Tape {
    /// Convolution of x [N, C, H, W] with weight [O, C, k, k] (no bias).
    public func conv2d(_ x: Variable, _ weight: Variable, stride: Int = 1, padding: Int = 0) -> Variable {
        let xs = x.shape, ws = weight.shape
        precondition(xs.count == 4 && ws.count == 4 && ws[1] == xs[1] && ws[2] == ws[3],
                     "conv2d: input \(xs) weight \(ws)")
        let g = ConvGeometry(inChannels: xs[1], height: xs[2], width: xs[3], outChannels: ws[0],
                             kernel: ws[2], stride: stride, padding: padding)
        let batch = xs[0]
        // A recording tape is training (or differentiating): the output's moments spare a batch norm after it its
        // statistics pass.
        let (y, moments) = ConvKernels.forward(x.value, weight.value, g, batch: batch, moments: recording)
        multiplyAdds += batch * g.outChannels * g.outHeight * g.outWidth * g.patch
        let output = record(y, inputs: [x, weight]) { [unowned self] dy in
            // x's gradient so far (a residual input's, from the other branch), when only x holds it: dx is added
            // into it by the kernel.
            let sum = ConvKernels.directInputGradient(g) ? self.exclusiveGradient(of: x) : nil
            let (dx, dw) = ConvKernels.backward(x.value, weight.value, dy, g, batch: batch,
                                                wantInput: x.requiresGrad, wantWeight: weight.requiresGrad, addingInputInto: sum)
            if let dx { self.accumulate(x, dx) }
            if let dw { self.accumulate(weight, dw) }
        }
        output.channelMoments = moments
        return output
    }
}

extension Tape {
    /// Evaluation-mode conv -> batch norm (running statistics) [-> + residual] [-> ReLU] in one pass: on the direct
    /// kernels the normalisation, the residual and the ReLU happen in the convolution's stores (no batch-norm or
    /// add pass, no intermediate tensor); elsewhere one pass after the convolution. Equal to conv2d, batchNorm
    /// (training: false, relu: relu && residual == nil), then add or addReLU, up to the rounding of a fused
    /// multiply-add. A tape that records nothing only (evaluation: `sibyl test`, validation, inference).
    public func convBatchNormInference(_ x: Variable, weight: Tensor, stride: Int, padding: Int, gamma: Tensor, beta: Tensor,
                                       statistics: BatchNormStatistics, residual: Variable? = nil, relu: Bool) -> Variable {
        precondition(!recording, "convBatchNormInference: evaluation tapes only (it records no pullback)")
        let xs = x.shape, ws = weight.shape
        precondition(xs.count == 4 && ws.count == 4 && ws[1] == xs[1] && ws[2] == ws[3], "conv: input \(xs) weight \(ws)")
        let g = ConvGeometry(inChannels: xs[1], height: xs[2], width: xs[3], outChannels: ws[0],
                             kernel: ws[2], stride: stride, padding: padding)
        let batch = xs[0], O = g.outChannels, plane = g.outHeight * g.outWidth
        precondition(gamma.count == O && beta.count == O && statistics.mean.count == O, "batch norm of \(O) channels")
        precondition(residual == nil || residual?.value.count == batch * O * plane, "residual of the output's shape")
        multiplyAdds += batch * O * plane * g.patch
        // The batch norm's per-channel affine map, as `batchNorm` computes it in evaluation mode.
        let scale = Tensor(uninitialized: [O]), shift = Tensor(uninitialized: [O])
        for c in 0..<O {
            let inv = 1 / (statistics.variance.pointer[c] + statistics.epsilon).squareRoot()
            scale.pointer[c] = gamma.pointer[c] * inv
            shift.pointer[c] = beta.pointer[c] - statistics.mean.pointer[c] * scale.pointer[c]
        }
        let rs = residual.map { UnsafePointer($0.value.pointer) }
        if ConvolutionKernels.direct(g, outChannels: O) {
            let y = Tensor(uninitialized: [batch, O, g.outHeight, g.outWidth])
            ConvolutionKernels.forwardNormalized(x.value.pointer, ConvolutionKernels.packed(weight, g, adjoint: false),
                                                 y.pointer, batch: batch, inChannels: g.inChannels, outChannels: O,
                                                 height: g.height, width: g.width, scale: scale.pointer, shift: shift.pointer,
                                                 residual: rs, relu: relu)
            return constant(y)
        }
        let y = ConvKernels.forward(x.value, weight, g, batch: batch).y
        let ys = y.pointer, sp = scale.pointer, hp = shift.pointer
        Parallel.forEachChunk(batch * O, minimumPerChunk: max(1, 4096 / max(plane, 1))) { range in
            for nc in range {
                let c = nc % O, a = sp[c], b = hp[c], row = ys + nc * plane
                if let rs {
                    let r = rs + nc * plane
                    for i in 0..<plane { let t = row[i] * a + b + r[i]; row[i] = relu ? max(t, 0) : t }
                } else {
                    for i in 0..<plane { let t = row[i] * a + b; row[i] = relu ? max(t, 0) : t }
                }
            }
        }
        return constant(y)
    }
}

/// Slow, obvious kernels for tests (fast kernels are checked against these; finite differences are
/// taken on the Float64 instantiation). Layouts match the fast primitives.
public enum Reference {}

extension Reference {
    /// Direct 7-loop convolution. x: [N, C, H, W], w: [O, C, k, k] -> [N, O, Ho, Wo].
    public static func conv2d<T: BinaryFloatingPoint>(_ x: [T], _ xShape: [Int], _ w: [T], _ wShape: [Int],
                                                      stride: Int, padding: Int) -> [T] {
        let (N, C, H, W) = (xShape[0], xShape[1], xShape[2], xShape[3])
        let (O, k) = (wShape[0], wShape[2])
        let Ho = (H + 2 * padding - k) / stride + 1, Wo = (W + 2 * padding - k) / stride + 1
        var y = [T](repeating: 0, count: N * O * Ho * Wo)
        for n in 0..<N { for o in 0..<O { for oy in 0..<Ho { for ox in 0..<Wo {
            var acc: T = 0
            for c in 0..<C { for ki in 0..<k { for kj in 0..<k {
                let iy = oy * stride - padding + ki, ix = ox * stride - padding + kj
                if iy >= 0 && iy < H && ix >= 0 && ix < W {
                    acc += x[((n * C + c) * H + iy) * W + ix] * w[((o * C + c) * k + ki) * k + kj]
                }
            } } }
            y[((n * O + o) * Ho + oy) * Wo + ox] = acc
        } } } }
        return y
    }
}
