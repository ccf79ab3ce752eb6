import Foundation
import ModularMath
import NetworkPlan

public enum SecureInferenceError: Error, CustomStringConvertible, Equatable {
    case unsupported(String)
    case invalidPlan(String)
    case protocolFailure(String)
    /// The server declined the connection (at its limits, or shutting down); try again later.
    case serverBusy(String)

    public var description: String {
        switch self {
        case .unsupported(let what): return "not supported by the secure runtime: \(what)"
        case .invalidPlan(let what): return "invalid plan: \(what)"
        case .protocolFailure(let what): return "secure protocol failed: \(what)"
        case .serverBusy(let reason): return "the server is busy and declined this connection (\(reason)); try again later"
        }
    }
}

/// Lowers a plan (graph, float weights, activation choices, polynomial coefficients) to a fixed-point
/// program. Batch norms are folded first; a global average pool read only by a dense layer is fused
/// into it (its 1/(H W) goes into the dense weights).
public enum FixedPointCompiler {
    /// The ReLU value bound used when a plan records none: |x| < 2^39 at the ReLU's input scale.
    public static let defaultReLUValueBits = 40

    public static func compile(graph unfolded: NetworkGraph, weights unfoldedWeights: WeightTable,
                               activations: [String: SlotChoice], coefficients: [String: SlotCoefficients],
                               fixedPoint: FixedPointConfig) throws -> FixedPointProgram {
        let f = fixedPoint.fractionalBits
        guard fixedPoint.ringBits == 64 else {
            throw SecureInferenceError.unsupported("ring of \(fixedPoint.ringBits) bits (only 64)")
        }
        guard (1...20).contains(f) else { throw SecureInferenceError.unsupported("\(f) fractional bits") }
        let (graph, weights) = try foldBatchNorms(graph: unfolded, weights: unfoldedWeights)
        for (name, values) in weights { _ = try encodeChecked(values, scale: 2 * f + 8, name: name) }
        for (slot, perChannel) in coefficients { _ = try encodeChecked(perChannel.flatMap { $0 }, scale: 2 * f, name: "\(slot).coefficients") }
        let shapes = try graph.validate()
        var consumers = [[Int]](repeating: [], count: graph.nodes.count)
        for (index, node) in graph.nodes.enumerated() { for input in node.inputs { consumers[input].append(index) } }

        var tensors: [ProgramTensor] = []
        var steps: [ProgramStep] = []
        var tensorOf = [Int](repeating: -1, count: graph.nodes.count)  // graph node -> program tensor
        var stepSlots: [String?] = []   // per step: the activation slot it implements
        var fusedPools: Set<Int> = []
        func newTensor(_ shape: TensorShape, scale: Int) -> Int {
            tensors.append(ProgramTensor(shape: shape, scale: scale))
            return tensors.count - 1
        }
        func weight(_ name: String, count: Int) throws -> [Float] {
            guard let values = weights[name] else { throw SecureInferenceError.invalidPlan("weights lack \(name)") }
            guard values.count == count else {
                throw SecureInferenceError.invalidPlan("\(name) has \(values.count) values, expected \(count)")
            }
            return values
        }
        /// A tensor at scale at most `target`: the input itself, or a truncation of it (made once per tensor
        /// and scale).
        var truncated: [[Int]: Int] = [:]
        func atScale(_ tensor: Int, _ target: Int) -> Int {
            let scale = tensors[tensor].scale
            guard scale > target else { return tensor }
            if let existing = truncated[[tensor, target]] { return existing }
            let out = newTensor(tensors[tensor].shape, scale: target)
            steps.append(.truncate(output: out, input: tensor, bits: scale - target))
            truncated[[tensor, target]] = out
            return out
        }
        func atBaseScale(_ tensor: Int) -> Int { atScale(tensor, f) }

        for (index, node) in graph.nodes.enumerated() {
            // Steps of network layers (made by the previous node) belong to no slot.
            stepSlots += [String?](repeating: nil, count: steps.count - stepSlots.count)
            let shape = shapes[index]
            let input = node.inputs.first.map { tensorOf[$0] }
            switch node.op {
            case .input:
                tensorOf[index] = newTensor(shape, scale: f)
            case .conv(let name, let out, let k, let stride, let padding, let hasBias):
                let x = atBaseScale(input!)
                let inShape = tensors[x].shape
                let w = try weight("\(name).weight", count: out * inShape.channels * k * k)
                let b = hasBias ? try weight("\(name).bias", count: out) : [Float](repeating: 0, count: out)
                let y = newTensor(shape, scale: 2 * f)
                steps.append(.linear(output: y, terms: [LinearTerm(input: x, map: .conv(
                    weights: encode(w, scale: f), inChannels: inShape.channels, outChannels: out, kernel: k,
                    stride: stride, padding: padding))], bias: encode(b, scale: 2 * f), name: name))
                tensorOf[index] = y
            case .dense(let name, let out, let hasBias):
                let b = hasBias ? try weight("\(name).bias", count: out) : [Float](repeating: 0, count: out)
                let y = newTensor(shape, scale: 2 * f)
                if fusedPools.contains(node.inputs[0]) {
                    // Global average pool fused in: the dense layer reads the whole plane with weights w / (H W),
                    // encoded with log2(H W) more fractional bits so that no precision of w is lost.
                    let x = atBaseScale(input!)
                    let spatial = tensors[x].shape
                    let plane = spatial.height * spatial.width
                    let extra = ceilLog2(plane)
                    tensors[y].scale = 2 * f + extra
                    let w = try weight("\(name).weight", count: out * spatial.channels)
                    var expanded = [Float](repeating: 0, count: out * spatial.elements)
                    for o in 0..<out {
                        for c in 0..<spatial.channels {
                            let value = w[o * spatial.channels + c] / Float(plane)
                            for i in 0..<plane { expanded[o * spatial.elements + c * plane + i] = value }
                        }
                    }
                    steps.append(.linear(output: y, terms: [LinearTerm(input: x, map: .dense(
                        weights: encode(expanded, scale: f + extra), inFeatures: spatial.elements, outFeatures: out))],
                        bias: encode(b, scale: 2 * f + extra), name: name))
                } else {
                    let x = atBaseScale(input!)
                    let w = try weight("\(name).weight", count: out * tensors[x].shape.elements)
                    steps.append(.linear(output: y, terms: [LinearTerm(input: x, map: .dense(
                        weights: encode(w, scale: f), inFeatures: tensors[x].shape.elements, outFeatures: out))],
                        bias: encode(b, scale: 2 * f), name: name))
                }
                tensorOf[index] = y
            case .globalAveragePool:
                guard shape.channels > 0, let inShape = input.map({ tensors[$0].shape }), inShape.height == inShape.width else {
                    throw SecureInferenceError.unsupported("global average pooling of a non-square plane")
                }
                let reader = consumers[index]
                if reader.count == 1, case .dense = graph.nodes[reader[0]].op {
                    // Fused into the dense layer that alone reads it (handled there).
                    fusedPools.insert(index)
                    tensorOf[index] = input!
                } else {
                    let x = atBaseScale(input!)
                    let plane = tensors[x].shape.height * tensors[x].shape.width
                    // Sum the plane, then scale by 1/(H W) at scale f (exact when H W is a power of two <= 2^f).
                    let sum = newTensor(shape, scale: f)
                    steps.append(.linear(output: sum, terms: [LinearTerm(input: x, map: .windowSum(
                        kernel: tensors[x].shape.height, stride: 1))], bias: [], name: "global_average_pool"))
                    let extra = ceilLog2(plane)
                    let y = newTensor(shape, scale: 2 * f + extra)
                    steps.append(.linear(output: y, terms: [LinearTerm(input: sum, map: .diagonal(
                        scale: [UInt64](repeating: encode([1 / Float(plane)], scale: f + extra)[0], count: shape.channels)))],
                        bias: [], name: "global_average_pool.scale"))
                    tensorOf[index] = y
                }
            case .averagePool(let k, let stride):
                let x = atBaseScale(input!)
                let sum = newTensor(shape, scale: f)
                steps.append(.linear(output: sum, terms: [LinearTerm(input: x, map: .windowSum(kernel: k, stride: stride))],
                                     bias: [], name: "average_pool"))
                let extra = ceilLog2(k * k)
                let y = newTensor(shape, scale: 2 * f + extra)
                steps.append(.linear(output: y, terms: [LinearTerm(input: sum, map: .diagonal(
                    scale: [UInt64](repeating: encode([1 / Float(k * k)], scale: f + extra)[0], count: shape.channels)))],
                    bias: [], name: "average_pool.scale"))
                tensorOf[index] = y
            case .add:
                let a = tensorOf[node.inputs[0]], b = tensorOf[node.inputs[1]]
                let scale = max(tensors[a].scale, tensors[b].scale)
                let y = newTensor(shape, scale: scale)
                steps.append(.add(output: y, a: a, shiftA: scale - tensors[a].scale, b: b,
                                  shiftB: scale - tensors[b].scale))
                tensorOf[index] = y
            case .activation(let slot):
                let x = input!
                let firstStep = steps.count
                defer { for _ in firstStep..<steps.count { stepSlots.append(slot) } }
                /// A ReLU over tensor `t` (any scale) with output at f.
                func relu(_ t: Int) throws -> Int {
                    let bits = fixedPoint.reluValueBits[slot] ?? defaultReLUValueBits
                    guard (2...64).contains(bits) else {
                        throw SecureInferenceError.invalidPlan("slot \(slot): relu value bits \(bits) outside 2...64")
                    }
                    let y = newTensor(tensors[t].shape, scale: f)
                    steps.append(.relu(output: y, input: t, valueBits: bits, shift: tensors[t].scale - f, slot: slot))
                    return y
                }
                /// A polynomial of `degree` over tensor `t` with one coefficient row per channel of t; output at f.
                func polynomial(_ t: Int, degree: Int, rows: SlotCoefficients) throws -> Int {
                    let tShape = tensors[t].shape
                    if degree == 1 {
                        // a1 x + a0: a per-channel linear map (exact, local online).
                        let base = atBaseScale(t)
                        let combined = newTensor(tShape, scale: 2 * f)
                        steps.append(.linear(output: combined, terms: [
                            LinearTerm(input: base, map: .diagonal(scale: encode(rows.map { $0[1] }, scale: f))),
                        ], bias: encode(rows.map { $0[0] }, scale: 2 * f), name: "\(slot).polynomial"))
                        return atBaseScale(combined)
                    }
                    if degree >= 3 {
                        // One round (OneRoundPolynomial, exact integers by residues): the input at scale s, coefficients A_k at
                        // scale F - k s, the result shifted back to f. See `polynomialScales`.
                        let (s, scale) = Self.polynomialScales(degree: degree, fractionalBits: f)
                        let input = atScale(t, s)
                        let encoded = try rows.map { row in
                            try row.enumerated().map { k, a in
                                try encodeWide(a, scale: scale - k * tensors[input].scale, name: "\(slot).coefficients")
                            }
                        }
                        let y = newTensor(tShape, scale: f)
                        steps.append(.polynomial(output: y, input: input, degree: degree, coefficients: encoded,
                                                 shift: scale - f, slot: slot))
                        return y
                    }
                    // x (scale f) -> x^2 (2f) -> truncated to f; then a2 x^2 + a1 x + a0 at 2f, truncated to f.
                    // Every truncated value stays below about 2^(2f + 8), so share wrap-arounds stay negligible.
                    let base = atBaseScale(t)
                    let squared = newTensor(tShape, scale: 2 * f)
                    steps.append(.square(output: squared, input: base, slot: slot))
                    let squaredBase = atBaseScale(squared)
                    let combined = newTensor(tShape, scale: 2 * f)
                    steps.append(.linear(output: combined, terms: [
                        LinearTerm(input: squaredBase, map: .diagonal(scale: encode(rows.map { $0[2] }, scale: f))),
                        LinearTerm(input: base, map: .diagonal(scale: encode(rows.map { $0[1] }, scale: f))),
                    ], bias: encode(rows.map { $0[0] }, scale: 2 * f), name: "\(slot).polynomial"))
                    return atBaseScale(combined)
                }
                let choice = activations[slot] ?? .relu
                guard let degree = choice.polynomialDegree else {
                    tensorOf[index] = try relu(x)
                    continue
                }
                guard PlanManifest.supportedPolynomialDegrees.contains(degree) else {
                    throw SecureInferenceError.unsupported("slot \(slot): degree \(degree)")
                }
                guard let perChannel = coefficients[slot], perChannel.count == shape.channels,
                      perChannel.allSatisfy({ $0.count == degree + 1 }) else {
                    throw SecureInferenceError.invalidPlan("slot \(slot) needs \(degree + 1) coefficients for each of \(shape.channels) channels")
                }
                guard case .mixed(let channels, _) = choice, channels.count < shape.channels else {
                    tensorOf[index] = try polynomial(x, degree: degree, rows: perChannel)
                    continue
                }
                guard !channels.isEmpty else {
                    tensorOf[index] = try relu(x)
                    continue
                }
                // Split by channel (SAFENet): the ReLU channels through garbled circuits, the polynomial ones
                // through their protocol, both gathered from the input and scattered back (local steps).
                let reluChannels = (0..<shape.channels).filter { !Set(channels).contains($0) }
                func gathered(_ list: [Int]) -> Int {
                    let t = newTensor(TensorShape(channels: list.count, height: shape.height, width: shape.width),
                                      scale: tensors[x].scale)
                    steps.append(.gather(output: t, input: x, channels: list))
                    return t
                }
                let reluOut = try relu(gathered(reluChannels))
                let polynomialOut = try polynomial(gathered(channels), degree: degree, rows: channels.map { perChannel[$0] })
                let y = newTensor(shape, scale: f)
                steps.append(.scatter(output: y, parts: [ScatterPart(input: reluOut, channels: reluChannels),
                                                         ScatterPart(input: polynomialOut, channels: channels)]))
                tensorOf[index] = y
            case .batchNorm:
                throw SecureInferenceError.invalidPlan("batch norm left after folding")
            }
        }
        return FixedPointProgram(fractionalBits: f, tensors: tensors, steps: steps, output: tensorOf.last!,
                                 stepSlots: stepSlots + [String?](repeating: nil, count: steps.count - stepSlots.count))
    }

    /// Scales of a one-round polynomial of `degree` (>= 3) in a plan with f fractional bits: its input is
    /// truncated to s = min(f, 60 / degree) bits and its coefficients encoded so that every term lands at
    /// scale F = 84 (a_k at F - k s >= 24 fractional bits). For |p(x)| < 2^15 the sum stays below 2^99, the
    /// protocol's declared range, where its integer shares fail with probability below 2^-41 per element; the
    /// lift of the input share to an integer fails with probability about |x| 2^s / 2^64 (below 2^-40 while
    /// |x| 2^s < 2^24, e.g. |x| < 2^11 at s = 13).
    public static func polynomialScales(degree: Int, fractionalBits f: Int) -> (input: Int, sum: Int) {
        (min(f, 60 / degree), 84)
    }

    /// round(value * 2^scale) in Z_(2^128) (two's complement); non-finite or too large values are an invalid plan.
    static func encodeWide(_ value: Float, scale: Int, name: String) throws -> UInt128 {
        let scaled = Double(value) * pow(2, Double(scale))
        guard scaled.isFinite, abs(scaled) < pow(2, 125) else {
            throw SecureInferenceError.invalidPlan("\(name) holds \(value), which has no \(scale)-bit fixed-point encoding in 128 bits")
        }
        return UInt128(bitPattern: Int128(scaled.rounded()))
    }

    /// The smallest b with 2^b >= n.
    static func ceilLog2(_ n: Int) -> Int { n <= 1 ? 0 : Int.bitWidth - (n - 1).leadingZeroBitCount }

    /// Like `encode`, but a non-finite value or one beyond 2^62 at this scale is an invalid plan.
    public static func encodeChecked(_ values: [Float], scale: Int, name: String) throws -> [UInt64] {
        for value in values where FixedPoint.round(Double(value), scale: scale) == nil {
            throw SecureInferenceError.invalidPlan("\(name) holds \(value), which has no \(scale)-bit fixed-point encoding")
        }
        return encode(values, scale: scale)
    }

    /// round(value * 2^scale) (`FixedPoint.round`) as a two's-complement ring element; the values must be
    /// encodable (`encodeChecked` says which is not).
    public static func encode(_ values: [Float], scale: Int) -> [UInt64] {
        values.map { value in
            guard let encoded = FixedPoint.round(Double(value), scale: scale) else {
                preconditionFailure("\(value) has no \(scale)-bit fixed-point encoding (use encodeChecked)")
            }
            return UInt64(bitPattern: encoded)
        }
    }
}
