// Batch normalisation over N, H, W per channel (Ioffe & Szegedy, ICML 2015), NCHW.
// Training mode normalises with the batch statistics (biased variance) and updates the running
// statistics as PyTorch does: running = (1 - momentum) * running + momentum * batch statistic, with the
// unbiased variance. Evaluation mode uses the running statistics.
// The optional fused activation (ReLU) saves a full pass and a stored tensor.
import CKernels
import Foundation

/// Running statistics of one batch-norm layer (mutated in place by training-mode forwards).
public final class BatchNormStatistics: @unchecked Sendable {
    public let mean: Tensor
    public let variance: Tensor
    public var momentum: Float
    public var epsilon: Float

    public init(channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        mean = Tensor(zeros: [channels])
        variance = Tensor(shape: [channels], repeating: 1)
        self.momentum = momentum
        self.epsilon = epsilon
    }
}

/// Per-channel sums and sums of squares of an NCHW value over the batch and the pixels, in Float64: what a
/// training batch norm needs, gathered by the op that wrote the value (`Variable.channelMoments`).
public struct ChannelMoments: Sendable {
    /// Elements per channel (N * H * W).
    public let count: Int
    public let sums: [Double]
    public let squares: [Double]

    /// Mean and biased variance of channel c (the variance as E[x^2] - mean^2 in Float64, at least 0).
    public func statistics(_ c: Int) -> (mean: Double, variance: Double) {
        let mean = sums[c] / Double(count)
        return (mean, max(0, squares[c] / Double(count) - mean * mean))
    }

    /// One row of partial sums per worker, added image by image (`Parallel.forEachWorker`'s worker index), then
    /// totalled.
    final class Partials: @unchecked Sendable {
        let channels: Int, plane: Int, workers: Int
        private let rows: UnsafeMutablePointer<Double>  // [workers][sums, squares][channels]

        init(channels: Int, plane: Int) {
            self.channels = channels
            self.plane = plane
            workers = Parallel.threads
            rows = .allocate(capacity: workers * 2 * channels)
            rows.initialize(repeating: 0, count: workers * 2 * channels)
        }

        deinit { rows.deallocate() }

        /// Adds one image's [channels][plane] values into `worker`'s row (the plain loop under `--kernels portable`).
        func add(image: UnsafePointer<Float>, worker: Int) {
            let row = rows + worker * 2 * channels
            if NativeKernels.active {
                cchannel_moments(image, Int32(channels), Int32(plane), row, row + channels)
            } else {
                cchannel_moments_plain(image, Int32(channels), Int32(plane), row, row + channels)
            }
        }

        func total(images: Int) -> ChannelMoments {
            var sums = [Double](repeating: 0, count: channels), squares = sums
            for w in 0..<workers {
                for c in 0..<channels {
                    sums[c] += rows[w * 2 * channels + c]
                    squares[c] += rows[w * 2 * channels + channels + c]
                }
            }
            return ChannelMoments(count: images * plane, sums: sums, squares: squares)
        }
    }
}

extension Tape {
    /// y = gamma * (x - mu) / sqrt(var + eps) + beta, optionally followed by ReLU (fused).
    /// x: [N, C, H, W] (or [N, C]); gamma, beta: [C].
    public func batchNorm(_ x: Variable, gamma: Variable, beta: Variable, statistics: BatchNormStatistics,
                          training: Bool, relu: Bool = false) -> Variable {
        let s = x.shape
        precondition(s.count >= 2 && gamma.shape == [s[1]] && beta.shape == [s[1]], "batchNorm: \(s) gamma \(gamma.shape)")
        let N = s[0], C = s[1], HW = s.dropFirst(2).reduce(1, *)
        let M = N * HW
        let xs = x.value.pointer, gs = gamma.value.pointer, bs = beta.value.pointer
        // Per-channel scale (gamma * invstd) and shift; mean and invstd kept for the pullback.
        let mean = Tensor(uninitialized: [C]), invstd = Tensor(uninitialized: [C])
        let mp = mean.pointer, ip = invstd.pointer
        if training {
            let rm = statistics.mean.pointer, rv = statistics.variance.pointer
            let mom = statistics.momentum, eps = statistics.epsilon
            if let moments = x.channelMoments, moments.sums.count == C, moments.count == M {
                // Gathered by the convolution that wrote x: no statistics pass here.
                for c in 0..<C {
                    let (mu, variance) = moments.statistics(c)
                    mp[c] = Float(mu)
                    ip[c] = Float(1 / (variance + Double(eps)).squareRoot())
                    rm[c] = (1 - mom) * rm[c] + mom * Float(mu)
                    rv[c] = (1 - mom) * rv[c] + mom * Float(M > 1 ? variance * Double(M) / Double(M - 1) : variance)
                }
            } else {
                Parallel.forEachChunk(C) { range in
                    for c in range {
                        var sum: Float = 0
                        for n in 0..<N { sum += VectorKernels.sum(xs + (n * C + c) * HW, HW) }
                        let mu = sum / Float(M)
                        var sq: Float = 0
                        for n in 0..<N { sq += VectorKernels.centeredSquares(xs + (n * C + c) * HW, HW, mu) }
                        let variance = sq / Float(M)
                        mp[c] = mu
                        ip[c] = 1 / (variance + eps).squareRoot()
                        rm[c] = (1 - mom) * rm[c] + mom * mu
                        rv[c] = (1 - mom) * rv[c] + mom * (M > 1 ? sq / Float(M - 1) : variance)
                    }
                }
            }
        } else {
            let eps = statistics.epsilon
            for c in 0..<C {
                mp[c] = statistics.mean.pointer[c]
                ip[c] = 1 / (statistics.variance.pointer[c] + eps).squareRoot()
            }
        }
        let y = Tensor(uninitialized: s)
        let ys = y.pointer
        Parallel.forEachChunk(N * C, minimumPerChunk: max(1, 4096 / max(HW, 1))) { range in
            for nc in range {
                let c = nc % C
                let a = gs[c] * ip[c], b = bs[c] - mp[c] * a
                VectorKernels.affine(xs + nc * HW, ys + nc * HW, HW, a, b, relu: relu)
            }
        }
        return record(y, inputs: [x, gamma, beta]) { [unowned self, mean, invstd] dyIn in
            // mean and invstd are captured so their storage outlives the pullback (mp and ip point into it).
            withExtendedLifetime((mean, invstd)) {}
            let dys = dyIn.pointer
            let dgamma = Tensor(uninitialized: [C]), dbeta = Tensor(uninitialized: [C])
            let dgp = dgamma.pointer, dbp = dbeta.pointer
            let dx: Tensor? = x.requiresGrad ? Tensor(uninitialized: s) : nil
            let dxs = dx?.pointer
            // With the fused ReLU, both passes recompute the mask g = dy where x * a + b > 0 from x and
            // dy instead of storing g (one tensor write and read less).
            // Channels go in blocks whose x and dy over the batch take about 512 KiB, so that the second pass
            // reads them from L2; within a block both passes run image by image over the block's planes, which
            // are contiguous (small planes: long runs instead of one 256-byte plane per image and channel).
            // Each channel's sums are still added in image order.
            let block = max(1, min(65536 / max(1, N * HW), C / max(1, Parallel.threads)))
            Parallel.forEachChunk((C + block - 1) / block) { range in
                var sums = [Float](repeating: 0, count: 2 * block)
                var coefficients = [Float](repeating: 0, count: 5 * block)  // a, b, c1, c2, c3 per channel
                for blockIndex in range {
                    let c0 = blockIndex * block, c1 = min(C, c0 + block)
                    for i in 0..<(2 * block) { sums[i] = 0 }
                    for c in c0..<c1 {
                        let q = 5 * (c - c0), a = gs[c] * ip[c]
                        coefficients[q] = a; coefficients[q + 1] = bs[c] - mp[c] * a
                    }
                    for n in 0..<N {
                        for c in c0..<c1 {
                            let o = (n * C + c) * HW, q = 5 * (c - c0)
                            let (s1, s2) = relu ? VectorKernels.maskedGradientSums(xs + o, dys + o, HW, coefficients[q],
                                                                                   coefficients[q + 1])
                                                : VectorKernels.gradientSums(xs + o, dys + o, HW)
                            sums[2 * (c - c0)] += s1; sums[2 * (c - c0) + 1] += s2
                        }
                    }
                    for c in c0..<c1 {
                        let mu = mp[c], inv = ip[c], sg = sums[2 * (c - c0)], sgx = sums[2 * (c - c0) + 1]
                        let q = 5 * (c - c0), a = coefficients[q]
                        let sgxhat = (sgx - mu * sg) * inv
                        dgp[c] = sgxhat
                        dbp[c] = sg
                        // training: dx = a * (g - mean(g) - xhat * mean(g * xhat)); eval: dx = a * g.
                        var k1 = a, k2: Float = 0, k3: Float = 0
                        if training {
                            let mdb = sg / Float(M), mdg = sgxhat / Float(M)
                            k1 = a; k2 = -a * inv * mdg; k3 = -a * mdb + a * inv * mdg * mu
                        }
                        coefficients[q + 2] = k1; coefficients[q + 3] = k2; coefficients[q + 4] = k3
                    }
                    guard let dxs else { continue }
                    for n in 0..<N {
                        for c in c0..<c1 {
                            let o = (n * C + c) * HW, q = 5 * (c - c0)
                            if relu {
                                VectorKernels.maskedGradientAffine(xs + o, dys + o, dxs + o, HW, coefficients[q],
                                                                   coefficients[q + 1], coefficients[q + 2],
                                                                   coefficients[q + 3], coefficients[q + 4])
                            } else {
                                VectorKernels.gradientAffine(xs + o, dys + o, dxs + o, HW, coefficients[q + 2],
                                                             coefficients[q + 3], coefficients[q + 4])
                            }
                        }
                    }
                }
            }
            if let dx { self.accumulate(x, dx) }
            self.accumulate(gamma, dgamma)
            self.accumulate(beta, dbeta)
        }
    }
}

extension Reference {
    /// Batch norm forward in training mode (batch statistics, biased variance), no activation.
    public static func batchNormTraining<T: BinaryFloatingPoint>(
        _ x: [T], _ shape: [Int], gamma: [T], beta: [T], epsilon: T) -> [T] {
        let N = shape[0], C = shape[1], HW = shape.dropFirst(2).reduce(1, *)
        var y = x
        for c in 0..<C {
            var sum: T = 0
            for n in 0..<N { for i in 0..<HW { sum += x[(n * C + c) * HW + i] } }
            let mu = sum / T(N * HW)
            var sq: T = 0
            for n in 0..<N { for i in 0..<HW { let d = x[(n * C + c) * HW + i] - mu; sq += d * d } }
            let inv = 1 / (sq / T(N * HW) + epsilon).squareRoot()
            for n in 0..<N { for i in 0..<HW {
                let j = (n * C + c) * HW + i
                y[j] = gamma[c] * (x[j] - mu) * inv + beta[c]
            } }
        }
        return y
    }

    /// Batch norm forward in evaluation mode with given running statistics.
    public static func batchNormEval<T: BinaryFloatingPoint>(_ x: [T], _ shape: [Int], gamma: [T], beta: [T],
                                                             mean: [T], variance: [T], epsilon: T) -> [T] {
        let N = shape[0], C = shape[1], HW = shape.dropFirst(2).reduce(1, *)
        var y = x
        for n in 0..<N { for c in 0..<C { for i in 0..<HW {
            let j = (n * C + c) * HW + i
            y[j] = gamma[c] * (x[j] - mean[c]) / (variance[c] + epsilon).squareRoot() + beta[c]
        } } }
        return y
    }
}
