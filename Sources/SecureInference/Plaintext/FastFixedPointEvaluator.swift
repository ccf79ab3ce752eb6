// A fast evaluator of a fixed-point program that returns exactly what FixedPointOracle returns.
//
// Linear layers (convolutions, dense) run in float64 when every partial sum is an integer below 2^52 in
// magnitude: 3x3 stride-1 "same" convolutions on the direct AVX-512 kernels of CKernels where the CPU and
// the plane allow, everything else as GEMMs (im2col + cblas_dgemm). Then float64 arithmetic (with or without
// FMA, in any summation order) is exact, and the integer result equals the oracle's sum in Z_(2^64). The bound
// checked per layer per image is  max_o sum_i |w[o, i]|  *  max_i |x[i]|  <  2^52  (IEEE 754-2008
// binary64 represents every integer of magnitude up to 2^53). When it fails the term falls back to the
// oracle's ring loops (RingKernels). Everything else (ReLU, truncation, squares, additions, pooling,
// diagonal maps) is the oracle's integer code. Images run in parallel on `threads` workers, OpenBLAS
// on one thread each (PLATFORM.md: own the parallelism); each worker evaluates 8 images at a time, and a
// layer's GEMM spans the output positions of as many of them as fit in about 1,024 columns. The bound is checked for each of those images.
import CBLAS
import CKernels
import Dispatch
import Foundation
import NetworkPlan

public struct FastFixedPointEvaluator: Sendable {
    public let program: FixedPointProgram
    /// Float64 copies of conv/dense weights and their largest row L1 norm, by (step, term).
    let prepared: [StepTerm: PreparedWeights]
    /// Tensors no later step reads, by step (freed after it).
    let releasedAfter: [[Int]]

    struct StepTerm: Hashable, Sendable { var step: Int; var term: Int }

    struct PreparedWeights: Sendable {
        /// Row-major [out][in * k * k] (conv) or [out][in] (dense).
        var weights: [Double]
        /// max over output rows of sum |w| (as Double; only compared against 2^52 with margin).
        var maxRowL1: Double
        /// 3x3 convolutions: the weights packed for the direct kernel (`cdconv_pack_weights`).
        var packed3x3: [Double]?
    }

    /// How many linear terms ran as exact float64 GEMMs and how many fell back to ring loops.
    public struct Statistics: Sendable, Equatable {
        public var gemmTerms = 0
        public var ringTerms = 0
        /// Of the exact float64 terms, those that ran on the direct 3x3 kernel.
        public var directTerms = 0
        public init() {}
        mutating func add(_ other: Statistics) {
            gemmTerms += other.gemmTerms; ringTerms += other.ringTerms; directTerms += other.directTerms
        }
    }

    /// What one batch evaluation returns.
    public struct Result: Sendable {
        /// Logits of each image as ring elements at the output scale (identical to the oracle's).
        public var logits: [[UInt64]]
        /// Per tensor, the largest |value| (as a signed integer at its scale) over the batch; empty
        /// unless requested.
        public var maxMagnitudes: [UInt64]
        public var statistics: Statistics
        /// Per image, whether a value left a bound the program relies on (`FixedPointOracle.exceedsBound`):
        /// its secure result may then differ from the float model's.
        public var exceeded: [Bool]
    }

    /// Largest exactly-summable magnitude bound (2^52, a factor 2 below binary64's integer range).
    public static let exactBound: Double = 0x1p52

    public init(program: FixedPointProgram) {
        self.program = program
        var prepared: [StepTerm: PreparedWeights] = [:]
        for (s, step) in program.steps.enumerated() {
            guard case .linear(_, let terms, _, _) = step else { continue }
            for (t, term) in terms.enumerated() {
                let weights: [UInt64], rows: Int
                var kernel = 0
                switch term.map {
                case .conv(let w, _, let outChannels, let k, _, _): weights = w; rows = outChannels; kernel = k
                case .dense(let w, _, let outFeatures): weights = w; rows = outFeatures
                default: continue
                }
                let columns = weights.count / rows
                var doubles = [Double](repeating: 0, count: weights.count)
                var maxRow = 0.0
                for r in 0..<rows {
                    var l1 = 0.0
                    for i in r * columns..<(r + 1) * columns {
                        let v = Double(Int64(bitPattern: weights[i]))
                        doubles[i] = v
                        l1 += abs(v)
                    }
                    maxRow = max(maxRow, l1)
                }
                var packed: [Double]? = nil
                // The direct kernel's packing needs whole blocks of output channels (cdconv_fits checks the same).
                if kernel == 3 && rows % Int(CCONV_CHANNEL_BLOCK) == 0 {
                    var p = [Double](repeating: 0, count: doubles.count)
                    cdconv_pack_weights(doubles, Int32(rows), Int32(columns / 9), 0, &p)
                    packed = p
                }
                prepared[StepTerm(step: s, term: t)] = PreparedWeights(weights: doubles, maxRowL1: maxRow, packed3x3: packed)
            }
        }
        self.prepared = prepared
        var lastReader = [Int](repeating: -1, count: program.tensors.count)
        for (s, step) in program.steps.enumerated() {
            for input in step.inputs { lastReader[input] = s }
        }
        var released = [[Int]](repeating: [], count: program.steps.count)
        for (tensor, s) in lastReader.enumerated() where s >= 0 && tensor != program.output { released[s].append(tensor) }
        self.releasedAfter = released
    }

    /// Logits of each encoded input (see `FixedPointOracle.encodeInput`), bit for bit the oracle's.
    public func evaluate(inputs: [[UInt64]], threads: Int = 2, recordMagnitudes: Bool = false) -> Result {
        let count = inputs.count
        let workers = max(1, min(threads, count))
        // One level of parallelism (ours); OpenBLAS's own threads would fight ours for the 2 cores.
        openblas_set_num_threads(1)
        let box = ResultBox(count: count, tensors: recordMagnitudes ? program.tensors.count : 0)
        let chunk = (count + workers - 1) / max(1, workers)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let range = (worker * chunk)..<min(count, (worker + 1) * chunk)
            var stats = Statistics()
            var magnitudes = [UInt64](repeating: 0, count: recordMagnitudes ? program.tensors.count : 0)
            var local: [(Int, [UInt64], Bool)] = []
            var start = range.lowerBound
            while start < range.upperBound {
                let end = min(range.upperBound, start + Self.imagesPerGEMM)
                let (logits, exceeded) = evaluateBatch(Array(inputs[start..<end]), statistics: &stats, record: recordMagnitudes,
                                                       magnitudes: &magnitudes)
                for (offset, values) in logits.enumerated() { local.append((start + offset, values, exceeded[offset])) }
                start = end
            }
            box.merge(local, stats, magnitudes)
        }
        return Result(logits: box.logits, maxMagnitudes: box.magnitudes, statistics: box.statistics, exceeded: box.exceeded)
    }

    /// Images whose columns share one GEMM per layer (wider GEMMs for the small late layers).
    static let imagesPerGEMM = 8
    /// Target GEMM width (output positions of all images in one call).
    static let gemmColumns = 1024

    /// A few images through every step; linear layers as one GEMM for all of them. Returns their logits and
    /// whether each exceeded a bound.
    func evaluateBatch(_ inputs: [[UInt64]], statistics: inout Statistics, record: Bool,
                       magnitudes: inout [UInt64]) -> (logits: [[UInt64]], exceeded: [Bool]) {
        let batch = inputs.count
        var exceeded = [Bool](repeating: false, count: batch)
        for input in inputs {
            precondition(input.count == program.inputTensor.shape.elements, "input size does not match the program")
        }
        // values[tensor][image]; each tensor is freed after its last reader.
        var values = [[[UInt64]]](repeating: [], count: program.tensors.count)
        values[FixedPointProgram.input] = inputs
        if record { for input in inputs { Self.recordMagnitude(input, tensor: 0, into: &magnitudes) } }
        for (s, step) in program.steps.enumerated() {
            let outShape = program.tensors[step.output].shape
            for b in 0..<batch where !exceeded[b] {
                exceeded[b] = FixedPointOracle.exceedsBound(step, values: values, image: b, outShape: outShape)
            }
            switch step {
            case .linear(let output, let terms, let bias, _):
                var ys = [[UInt64]](repeating: [UInt64](repeating: 0, count: outShape.elements), count: batch)
                for (t, term) in terms.enumerated() {
                    let xs = values[term.input], inShape = program.tensors[term.input].shape
                    if let p = prepared[StepTerm(step: s, term: t)], xs.allSatisfy({ Self.isExact(p, $0) }) {
                        statistics.gemmTerms += batch
                        switch term.map {
                        case .conv(_, let inChannels, let outChannels, let k, let stride, let padding):
                            if let packed = p.packed3x3, Self.runsDirect(inShape: inShape, outShape: outShape, outChannels: outChannels,
                                                                          kernel: k, stride: stride, padding: padding) {
                                statistics.directTerms += batch
                                Self.convolveDirect(packed, xs: xs, inChannels: inChannels, shape: outShape, outChannels: outChannels,
                                                    into: &ys)
                            } else {
                                Self.convolve(p.weights, xs: xs, inShape: inShape, inChannels: inChannels, outShape: outShape,
                                              outChannels: outChannels, kernel: k, stride: stride, padding: padding, into: &ys)
                            }
                        case .dense(_, let inFeatures, let outFeatures):
                            Self.dense(p.weights, xs: xs, inFeatures: inFeatures, outFeatures: outFeatures, into: &ys)
                        default:
                            preconditionFailure("prepared weights for a map that is not conv or dense")
                        }
                    } else {
                        if prepared[StepTerm(step: s, term: t)] != nil { statistics.ringTerms += batch }
                        for b in 0..<batch {
                            RingKernels.accumulate(term.map, x: xs[b], inShape: inShape, outShape: outShape, into: &ys[b])
                        }
                    }
                }
                if !bias.isEmpty {
                    let plane = outShape.height * outShape.width
                    for b in 0..<batch {
                        ys[b].withUnsafeMutableBufferPointer { y in
                            for c in 0..<outShape.channels { for i in c * plane..<(c + 1) * plane { y[i] &+= bias[c] } }
                        }
                    }
                }
                values[output] = ys
            case .add(let output, let a, let shiftA, let b, let shiftB):
                values[output] = zip(values[a], values[b]).map {
                    RingKernels.shiftedSum($0.0, shiftA: shiftA, $0.1, shiftB: shiftB)
                }
            case .truncate(let output, let input, let bits):
                values[output] = values[input].map { $0.map { RingKernels.shiftRight($0, bits) } }
            case .relu(let output, let input, let valueBits, let shift, _):
                values[output] = values[input].map { $0.map { RingKernels.relu($0, valueBits: valueBits, shift: shift) } }
            case .square(let output, let input, _):
                values[output] = values[input].map { $0.map { $0 &* $0 } }
            case .polynomial(let output, let input, _, let coefficients, let shift, _):
                values[output] = values[input].enumerated().map { b, x in
                    let (y, wrapped) = FixedPointOracle.polynomial(x, coefficients: coefficients, shift: shift, shape: outShape)
                    if wrapped { exceeded[b] = true }
                    return y
                }
            case .gather(let output, let input, let channels):
                values[output] = values[input].map { RingKernels.gather($0, channels: channels, plane: outShape.height * outShape.width) }
            case .scatter(let output, let parts):
                values[output] = (0..<values[parts[0].input].count).map { b in
                    RingKernels.scatter(parts.map { (values[$0.input][b], $0.channels) }, shape: outShape)
                }
            }
            if record {
                for image in values[step.output] { Self.recordMagnitude(image, tensor: step.output, into: &magnitudes) }
            }
            for tensor in releasedAfter[s] { values[tensor] = [] }
        }
        return (values[program.output], exceeded)
    }

    /// Whether every partial sum of this term is an integer of magnitude below 2^52.
    static func isExact(_ p: PreparedWeights, _ x: [UInt64]) -> Bool {
        var largest: UInt64 = 0
        for v in x { largest = max(largest, Int64(bitPattern: v).magnitude) }
        return p.maxRowL1 * Double(largest) < exactBound
    }

    static func recordMagnitude(_ values: [UInt64], tensor: Int, into magnitudes: inout [UInt64]) {
        var largest = magnitudes[tensor]
        for v in values { largest = max(largest, Int64(bitPattern: v).magnitude) }
        magnitudes[tensor] = largest
    }

    /// Whether a convolution runs on the direct float64 kernel: 3x3, stride 1, "same", a plane it takes, AVX-512.
    static func runsDirect(inShape: TensorShape, outShape: TensorShape, outChannels: Int, kernel: Int, stride: Int,
                           padding: Int) -> Bool {
        kernel == 3 && stride == 1 && padding == 1 && inShape.height == outShape.height && inShape.width == outShape.width
            && cconv_available() != 0
            && cdconv_fits(Int32(outChannels), Int32(outShape.height), Int32(outShape.width)) != 0
    }

    /// y[b] += conv3x3(x[b]) for every image b on the direct kernel, in float64 (exact under `isExact`: every
    /// partial sum is an integer below 2^52, whatever the order).
    static func convolveDirect(_ packed: [Double], xs: [[UInt64]], inChannels: Int, shape: TensorShape, outChannels: Int,
                               into ys: inout [[UInt64]]) {
        let plane = shape.height * shape.width, batch = xs.count
        let inSize = inChannels * plane, outSize = outChannels * plane
        var input = [Double](repeating: 0, count: batch * inSize)
        input.withUnsafeMutableBufferPointer { d in
            for (b, x) in xs.enumerated() {
                x.withUnsafeBufferPointer { source in
                    for i in 0..<inSize { d[b * inSize + i] = Double(Int64(bitPattern: source[i])) }
                }
            }
        }
        var output = [Double](repeating: 0, count: batch * outSize)
        var scratch = [Double](repeating: 0, count: cdconv_forward_scratch_count(Int32(inChannels), Int32(shape.height),
                                                                                Int32(shape.width)))
        cdconv_forward(input, packed, &output, Int32(batch), Int32(inChannels), Int32(outChannels), Int32(shape.height),
                       Int32(shape.width), &scratch, 0)
        output.withUnsafeBufferPointer { p in
            for b in 0..<batch {
                ys[b].withUnsafeMutableBufferPointer { y in
                    for j in 0..<outSize { y[j] &+= UInt64(bitPattern: Int64(p[b * outSize + j])) }
                }
            }
        }
    }

    /// y[b] += W * im2col(x[b]) for every image b, as one float64 GEMM whose columns are all images'
    /// output positions (exact under `isExact`).
    static func convolve(_ w: [Double], xs: [[UInt64]], inShape: TensorShape, inChannels: Int, outShape: TensorShape,
                         outChannels: Int, kernel k: Int, stride: Int, padding: Int, into ys: inout [[UInt64]]) {
        // Groups of images with about `gemmColumns` columns: wide enough for an efficient GEMM, small
        // enough for the column matrix to stay in cache.
        let group = max(1, gemmColumns / (outShape.height * outShape.width))
        if xs.count > group {
            var start = 0
            while start < xs.count {
                let end = min(xs.count, start + group)
                var part = Array(ys[start..<end])
                convolve(w, xs: Array(xs[start..<end]), inShape: inShape, inChannels: inChannels, outShape: outShape,
                         outChannels: outChannels, kernel: k, stride: stride, padding: padding, into: &part)
                ys.replaceSubrange(start..<end, with: part)
                start = end
            }
            return
        }
        let inH = inShape.height, inW = inShape.width, outH = outShape.height, outW = outShape.width
        let n = outH * outW, depth = inChannels * k * k, batch = xs.count, width = batch * n
        var columns = [Double](repeating: 0, count: depth * width)
        columns.withUnsafeMutableBufferPointer { col in
            for (b, x) in xs.enumerated() {
                // Convert once, then copy rows: each input value appears in up to k*k columns.
                let xd = x.map { Double(Int64(bitPattern: $0)) }
                xd.withUnsafeBufferPointer { source in
                    for c in 0..<inChannels {
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let row = ((c * k + ky) * k + kx) * width + b * n
                                guard let (first, last) = RingKernels.insideColumns(kx: kx, padding: padding, stride: stride,
                                                                                    inWidth: inW, outWidth: outW) else { continue }
                                for oy in 0..<outH {
                                    let iy = oy * stride + ky - padding
                                    if iy < 0 || iy >= inH { continue }
                                    let from = (c * inH + iy) * inW + kx - padding
                                    let to = row + oy * outW
                                    if stride == 1 {
                                        for ox in first...last { col[to + ox] = source[from + ox] }
                                    } else {
                                        for ox in first...last { col[to + ox] = source[from + ox * stride] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var product = [Double](repeating: 0, count: outChannels * width)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(outChannels), Int32(width), Int32(depth), 1,
                    w, Int32(depth), columns, Int32(width), 0, &product, Int32(width))
        product.withUnsafeBufferPointer { p in
            for b in 0..<batch {
                ys[b].withUnsafeMutableBufferPointer { y in
                    for o in 0..<outChannels {
                        let from = o * width + b * n, to = o * n
                        for j in 0..<n { y[to + j] &+= UInt64(bitPattern: Int64(p[from + j])) }
                    }
                }
            }
        }
    }

    /// y[b] += W x[b] for every image, as one float64 GEMM X W^T (exact under `isExact`).
    static func dense(_ w: [Double], xs: [[UInt64]], inFeatures: Int, outFeatures: Int, into ys: inout [[UInt64]]) {
        let batch = xs.count
        var inputs = [Double](repeating: 0, count: batch * inFeatures)
        for (b, x) in xs.enumerated() {
            for i in 0..<inFeatures { inputs[b * inFeatures + i] = Double(Int64(bitPattern: x[i])) }
        }
        var product = [Double](repeating: 0, count: batch * outFeatures)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(outFeatures), Int32(inFeatures), 1,
                    inputs, Int32(inFeatures), w, Int32(inFeatures), 0, &product, Int32(outFeatures))
        for b in 0..<batch {
            ys[b].withUnsafeMutableBufferPointer { y in
                for o in 0..<outFeatures { y[o] &+= UInt64(bitPattern: Int64(product[b * outFeatures + o])) }
            }
        }
    }
}

/// Collects the workers' results under a lock.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    var logits: [[UInt64]]
    var magnitudes: [UInt64]
    var exceeded: [Bool]
    var statistics = FastFixedPointEvaluator.Statistics()

    init(count: Int, tensors: Int) {
        logits = Array(repeating: [], count: count)
        exceeded = Array(repeating: false, count: count)
        magnitudes = Array(repeating: 0, count: tensors)
    }

    func merge(_ part: [(Int, [UInt64], Bool)], _ stats: FastFixedPointEvaluator.Statistics, _ parts: [UInt64]) {
        lock.lock()
        defer { lock.unlock() }
        for (index, values, flag) in part { logits[index] = values; exceeded[index] = flag }
        statistics.add(stats)
        for i in 0..<parts.count { magnitudes[i] = max(magnitudes[i], parts[i]) }
    }
}
