// Fixed-point plaintext accuracy of a plan: images (bytes) are normalised as the plan's InputSpec says,
// encoded at the input scale, run through the fast evaluator, and classified by the largest logit.
import NetworkPlan

public enum PlaintextInput {
    /// Pixel bytes of one image (channel planes, C-H-W) to the network input: (b / 255 - mean[c]) / std[c]
    /// in Float, the expression the training pipeline uses.
    public static func normalize(_ pixels: ArraySlice<UInt8>, spec: InputSpec) -> [Float] {
        let plane = spec.shape.height * spec.shape.width
        precondition(pixels.count == spec.shape.elements, "image has \(pixels.count) bytes, the plan expects \(spec.shape)")
        var result = [Float](repeating: 0, count: pixels.count)
        var i = 0
        for byte in pixels {
            let c = i / plane
            result[i] = (Float(byte) / 255 - spec.mean[c]) / spec.std[c]
            i += 1
        }
        return result
    }
}

extension FastFixedPointEvaluator {
    /// Index of the largest logit (as signed integers; the first on ties).
    public static func topClass(_ logits: [UInt64]) -> Int {
        var best = 0
        for i in logits.indices where Int64(bitPattern: logits[i]) > Int64(bitPattern: logits[best]) { best = i }
        return best
    }

    /// What `classify` returns, per image in order.
    public struct Classification: Sendable {
        public var predictions: [Int]
        /// Whether each image exceeded a bound the program relies on (`FixedPointOracle.exceedsBound`).
        public var exceeded: [Bool]
        /// Each image's logits at the output scale (empty unless asked for).
        public var logits: [[UInt64]]
        public var statistics: Statistics
    }

    /// Top-1 class of each of `count` images stored back to back in `pixels`, evaluated in chunks of
    /// `batch` images on `threads` workers.
    public func classify(pixels: [UInt8], count: Int, input: InputSpec, threads: Int = 2,
                         batch: Int = 256, keepLogits: Bool = false) -> Classification {
        let size = input.shape.elements
        precondition(pixels.count >= count * size, "\(pixels.count) bytes do not hold \(count) images of \(input.shape)")
        let oracle = FixedPointOracle(program: program)
        var result = Classification(predictions: [], exceeded: [], logits: [], statistics: Statistics())
        result.predictions.reserveCapacity(count)
        var start = 0
        while start < count {
            let end = min(count, start + batch)
            let encoded = (start..<end).map { i in
                oracle.encodeInput(PlaintextInput.normalize(pixels[i * size..<(i + 1) * size], spec: input))
            }
            let part = evaluate(inputs: encoded, threads: threads)
            result.predictions += part.logits.map(Self.topClass)
            result.exceeded += part.exceeded
            if keepLogits { result.logits += part.logits }
            result.statistics.add(part.statistics)
            start = end
        }
        return result
    }
}
