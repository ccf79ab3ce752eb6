// A fast evaluator of a fixed-point program that returns exactly what FixedPointOracle returns.
//
// Linear layers (convolutions, dense) run as float64 GEMMs (im2col + cblas_dgemm) when every partial
// sum is an integer below 2^52 in magnitude: then float64 arithmetic (with or without FMA, in any
// summation order) is exact, and the integer result equals the oracle's sum in Z_(2^64). The bound
// checked per layer per image is  max_o sum_i |w[o, i]|  *  max_i |x[i]|  <  2^52  (IEEE 754-2008
// binary64 represents every integer of magnitude up to 2^53). When it fails the term falls back to the
// oracle's ring loops (RingKernels). Everything else (ReLU, truncation, squares, additions, pooling,
// diagonal maps) is the oracle's integer code. Images run in parallel on `threads` workers, OpenBLAS
// on one thread each (PLATFORM.md: own the parallelism).
import CBLAS
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
    }

    /// How many linear terms ran as exact float64 GEMMs and how many fell back to ring loops.
    public struct Statistics: Sendable, Equatable {
        public var gemmTerms = 0
        public var ringTerms = 0
        public init() {}
        mutating func add(_ other: Statistics) { gemmTerms += other.gemmTerms; ringTerms += other.ringTerms }
    }

    /// What one batch evaluation returns.
    public struct Result: Sendable {
        /// Logits of each image as ring elements at the output scale (identical to the oracle's).
        public var logits: [[UInt64]]
        /// Per tensor, the largest |value| (as a signed integer at its scale) over the batch; empty
        /// unless requested.
        public var maxMagnitudes: [UInt64]
        public var statistics: Statistics
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
                switch term.map {
                case .conv(let w, _, let outChannels, _, _, _): weights = w; rows = outChannels
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
                prepared[StepTerm(step: s, term: t)] = PreparedWeights(weights: doubles, maxRowL1: maxRow)
            }
        }
        self.prepared = prepared
        var lastReader = [Int](repeating: -1, count: program.tensors.count)
        for (s, step) in program.steps.enumerated() {
            for input in Self.inputs(of: step) { lastReader[input] = s }
        }
        var released = [[Int]](repeating: [], count: program.steps.count)
        for (tensor, s) in lastReader.enumerated() where s >= 0 && tensor != program.output { released[s].append(tensor) }
        self.releasedAfter = released
    }

    static func inputs(of step: ProgramStep) -> [Int] {
        switch step {
        case .linear(_, let terms, _, _): return terms.map(\.input)
        case .add(_, let a, _, let b, _): return [a, b]
        case .truncate(_, let input, _), .relu(_, let input, _, _, _), .square(_, let input, _): return [input]
        }
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
            var local: [(Int, [UInt64])] = []
            for index in range {
                let logits = evaluateOne(inputs[index], statistics: &stats, record: recordMagnitudes,
                                         magnitudes: &magnitudes)
                local.append((index, logits))
            }
            box.merge(local, stats, magnitudes)
        }
        return Result(logits: box.logits, maxMagnitudes: box.magnitudes, statistics: box.statistics)
    }

    /// One image through every step.
    func evaluateOne(_ input: [UInt64], statistics: inout Statistics, record: Bool,
                     magnitudes: inout [UInt64]) -> [UInt64] {
        precondition(input.count == program.tensors[0].shape.elements, "input size does not match the program")
        var values = [[UInt64]](repeating: [], count: program.tensors.count)
        // Free each tensor after its last reader.
        values[0] = input
        if record { Self.recordMagnitude(input, tensor: 0, into: &magnitudes) }
        for (s, step) in program.steps.enumerated() {
            let outShape = program.tensors[step.output].shape
            switch step {
            case .linear(let output, let terms, let bias, _):
                var y = [UInt64](repeating: 0, count: outShape.elements)
                for (t, term) in terms.enumerated() {
                    let x = values[term.input], inShape = program.tensors[term.input].shape
                    if let p = prepared[StepTerm(step: s, term: t)], Self.isExact(p, x) {
                        statistics.gemmTerms += 1
                        switch term.map {
                        case .conv(_, let inChannels, let outChannels, let k, let stride, let padding):
                            Self.convolve(p.weights, x: x, inShape: inShape, inChannels: inChannels, outShape: outShape,
                                          outChannels: outChannels, kernel: k, stride: stride, padding: padding, into: &y)
                        case .dense(_, let inFeatures, let outFeatures):
                            Self.dense(p.weights, x: x, inFeatures: inFeatures, outFeatures: outFeatures, into: &y)
                        default:
                            preconditionFailure("prepared weights for a map that is not conv or dense")
                        }
                    } else {
                        if case .conv = term.map { statistics.ringTerms += 1 }
                        if case .dense = term.map { statistics.ringTerms += 1 }
                        RingKernels.accumulate(term.map, x: x, inShape: inShape, outShape: outShape, into: &y)
                    }
                }
                if !bias.isEmpty {
                    let plane = outShape.height * outShape.width
                    for c in 0..<outShape.channels { for i in c * plane..<(c + 1) * plane { y[i] &+= bias[c] } }
                }
                values[output] = y
            case .add(let output, let a, let shiftA, let b, let shiftB):
                values[output] = zip(values[a], values[b]).map { ($0 << UInt64(shiftA)) &+ ($1 << UInt64(shiftB)) }
            case .truncate(let output, let input, let bits):
                values[output] = values[input].map { RingKernels.shiftRight($0, bits) }
            case .relu(let output, let input, let valueBits, let shift, _):
                values[output] = values[input].map { RingKernels.relu($0, valueBits: valueBits, shift: shift) }
            case .square(let output, let input, _):
                values[output] = values[input].map { $0 &* $0 }
            }
            if record { Self.recordMagnitude(values[step.output], tensor: step.output, into: &magnitudes) }
            for tensor in releasedAfter[s] { values[tensor] = [] }
        }
        return values[program.output]
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

    /// y += W * im2col(x) as float64, converted back to ring elements (exact under `isExact`).
    static func convolve(_ w: [Double], x: [UInt64], inShape: TensorShape, inChannels: Int, outShape: TensorShape,
                         outChannels: Int, kernel k: Int, stride: Int, padding: Int, into y: inout [UInt64]) {
        let inH = inShape.height, inW = inShape.width, outH = outShape.height, outW = outShape.width
        let n = outH * outW, depth = inChannels * k * k
        // Convert once, then copy rows: each input value appears in up to k*k columns.
        let xd = x.map { Double(Int64(bitPattern: $0)) }
        var columns = [Double](repeating: 0, count: depth * n)
        xd.withUnsafeBufferPointer { xs in
            columns.withUnsafeMutableBufferPointer { col in
                if k == 1 && stride == 1 && padding == 0 {
                    col.baseAddress!.update(from: xs.baseAddress!, count: depth * n)
                    return
                }
                for c in 0..<inChannels {
                    for ky in 0..<k {
                        for kx in 0..<k {
                            let row = ((c * k + ky) * k + kx) * n
                            // Output columns whose input column ox*stride+kx-padding is inside the image.
                            let first = max(0, (padding - kx + stride - 1) / stride)
                            let last = min(outW - 1, (inW - 1 + padding - kx) / stride)
                            if first > last { continue }
                            for oy in 0..<outH {
                                let iy = oy * stride + ky - padding
                                if iy < 0 || iy >= inH { continue }
                                let source = (c * inH + iy) * inW + kx - padding
                                let target = row + oy * outW
                                if stride == 1 {
                                    for ox in first...last { col[target + ox] = xs[source + ox] }
                                } else {
                                    for ox in first...last { col[target + ox] = xs[source + ox * stride] }
                                }
                            }
                        }
                    }
                }
            }
        }
        var product = [Double](repeating: 0, count: outChannels * n)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(outChannels), Int32(n), Int32(depth), 1,
                    w, Int32(depth), columns, Int32(n), 0, &product, Int32(n))
        for i in 0..<product.count { y[i] &+= UInt64(bitPattern: Int64(product[i])) }
    }

    /// y += W x as float64 (exact under `isExact`).
    static func dense(_ w: [Double], x: [UInt64], inFeatures: Int, outFeatures: Int, into y: inout [UInt64]) {
        let xs = x.map { Double(Int64(bitPattern: $0)) }
        var product = [Double](repeating: 0, count: outFeatures)
        cblas_dgemv(CblasRowMajor, CblasNoTrans, Int32(outFeatures), Int32(inFeatures), 1, w, Int32(inFeatures),
                    xs, 1, 0, &product, 1)
        for i in 0..<outFeatures { y[i] &+= UInt64(bitPattern: Int64(product[i])) }
    }
}

/// Collects the workers' results under a lock.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    var logits: [[UInt64]]
    var magnitudes: [UInt64]
    var statistics = FastFixedPointEvaluator.Statistics()

    init(count: Int, tensors: Int) {
        logits = Array(repeating: [], count: count)
        magnitudes = Array(repeating: 0, count: tensors)
    }

    func merge(_ part: [(Int, [UInt64])], _ stats: FastFixedPointEvaluator.Statistics, _ parts: [UInt64]) {
        lock.lock()
        defer { lock.unlock() }
        for (index, values) in part { logits[index] = values }
        statistics.add(stats)
        for i in 0..<parts.count { magnitudes[i] = max(magnitudes[i], parts[i]) }
    }
}
