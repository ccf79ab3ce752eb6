// A `FixedPointProgram` to and from the plain document plan.json holds (NetworkPlan.ProgramDocument) and
// the integer datasets of weights.h5 it names (`program/<step>.term<j>`, `.bias`, `.coefficients`).
// The integers are the ones that run: converting back gives the identical program.
import NetworkPlan

extension FixedPointProgram {
    /// The dataset group of the program's integers in weights.h5.
    public static let datasetGroup = "program"

    /// The program as a plain document and its integer arrays (keyed by dataset name).
    public func document() -> (document: ProgramDocument, arrays: [String: IntegerArray]) {
        var arrays: [String: IntegerArray] = [:]
        func signed(_ values: [UInt64]) -> [Int64] { values.map { Int64(bitPattern: $0) } }
        let slots = stepSlots.flatMap { $0.count == self.steps.count ? $0 : nil }
        let documentSteps = self.steps.enumerated().map { index, step -> ProgramDocument.Step in
            let prefix = "\(Self.datasetGroup)/\(index)"
            var s = ProgramDocument.Step(op: "", output: step.output, slot: slots?[index] ?? nil)
            switch step {
            case .linear(_, let terms, let bias, let name):
                s.op = "linear"
                s.name = name
                s.terms = terms.enumerated().map { j, term in
                    let dataset = "\(prefix).term\(j)"
                    switch term.map {
                    case .conv(let weights, let i, let o, let k, let stride, let padding):
                        arrays[dataset] = IntegerArray(shape: [o, i, k, k], values: signed(weights))
                        return .init(input: term.input, map: "conv", weights: dataset, weightBits: term.weightBits,
                                     kernel: k, stride: stride, padding: padding)
                    case .dense(let weights, let i, let o):
                        arrays[dataset] = IntegerArray(shape: [o, i], values: signed(weights))
                        return .init(input: term.input, map: "dense", weights: dataset, weightBits: term.weightBits)
                    case .diagonal(let scale):
                        arrays[dataset] = IntegerArray(shape: [scale.count], values: signed(scale))
                        return .init(input: term.input, map: "diagonal", weights: dataset, weightBits: term.weightBits)
                    case .windowSum(let k, let stride):
                        return .init(input: term.input, map: "window_sum", weights: nil, weightBits: term.weightBits,
                                     kernel: k, stride: stride, padding: 0)
                    }
                }
                if !bias.isEmpty {
                    s.bias = "\(prefix).bias"
                    arrays["\(prefix).bias"] = IntegerArray(shape: [bias.count], values: signed(bias))
                }
            case .add(_, let a, let shiftA, let b, let shiftB):
                s.op = "add"; s.a = a; s.shiftA = shiftA; s.b = b; s.shiftB = shiftB
            case .truncate(_, let input, let bits):
                s.op = "truncate"; s.input = input; s.bits = bits
            case .relu(_, let input, let valueBits, let shift, _):
                s.op = "relu"; s.input = input; s.valueBits = valueBits; s.shift = shift
            case .square(_, let input, _):
                s.op = "square"; s.input = input
            case .polynomial(_, let input, let degree, let coefficients, let shift, _):
                s.op = "polynomial"; s.input = input; s.degree = degree; s.shift = shift
                s.coefficients = "\(prefix).coefficients"
                let halves = coefficients.flatMap { row in
                    row.flatMap { [Int64(truncatingIfNeeded: Int128(bitPattern: $0) >> 64), Int64(bitPattern: UInt64(truncatingIfNeeded: $0))] }
                }
                arrays["\(prefix).coefficients"] = IntegerArray(shape: [coefficients.count, degree + 1, 2], values: halves)
            case .gather(_, let input, let channels):
                s.op = "gather"; s.input = input; s.channels = channels
            case .scatter(_, let parts):
                s.op = "scatter"; s.parts = parts.map { .init(input: $0.input, channels: $0.channels) }
            }
            // Activation steps carry their slot even in programs without stepSlots.
            switch step {
            case .relu(_, _, _, _, let slot), .square(_, _, let slot), .polynomial(_, _, _, _, _, let slot): s.slot = slot
            default: break
            }
            return s
        }
        let document = ProgramDocument(
            fractionalBits: fractionalBits,
            tensors: tensors.map { .init(shape: [$0.shape.channels, $0.shape.height, $0.shape.width], scale: $0.scale) },
            steps: documentSteps, output: output)
        return (document, arrays)
    }

    /// The program a document and its arrays describe, validated (`validate`), or an error naming the step
    /// or dataset at fault.
    public init(document: ProgramDocument, arrays: [String: IntegerArray]) throws {
        func fail(_ reason: String) -> SecureInferenceError { .invalidPlan("the plan's program: \(reason)") }
        guard document.ringBits == 64 else { throw fail("ring of \(document.ringBits) bits (only 64)") }
        guard document.encoding == ProgramDocument.encodingRule, document.truncation == ProgramDocument.truncationRule,
              document.layout == "CHW" else {
            throw fail("encoding \(document.encoding), truncation \(document.truncation), layout \(document.layout): "
                + "only \(ProgramDocument.encodingRule), \(ProgramDocument.truncationRule) and CHW are defined")
        }
        let tensors = try document.tensors.enumerated().map { index, tensor -> ProgramTensor in
            guard tensor.shape.count == 3 else { throw fail("tensor \(index) has shape \(tensor.shape), not [C, H, W]") }
            return ProgramTensor(shape: TensorShape(channels: tensor.shape[0], height: tensor.shape[1], width: tensor.shape[2]),
                                 scale: tensor.scale)
        }
        func array(_ name: String?, shape: [Int], step: Int) throws -> [UInt64] {
            guard let name else { throw fail("step \(step) names no dataset") }
            guard let found = arrays[name] else { throw fail("step \(step) names dataset \(name), which weights.h5 lacks") }
            guard found.shape == shape, found.values.count == shape.reduce(1, *) else {
                throw fail("dataset \(name) has shape \(found.shape), step \(step) needs \(shape)")
            }
            return found.values.map { UInt64(bitPattern: $0) }
        }
        func shape(_ id: Int?, step: Int) throws -> TensorShape {
            guard let id, tensors.indices.contains(id) else { throw fail("step \(step) reads tensor \(id.map(String.init) ?? "none")") }
            return tensors[id].shape
        }
        func field(_ value: Int?, _ name: String, step: Int) throws -> Int {
            guard let value else { throw fail("step \(step) lacks \(name)") }
            return value
        }
        var steps: [ProgramStep] = []
        var slots: [String?] = []
        for (index, s) in document.steps.enumerated() {
            let out = try shape(s.output, step: index)
            let step: ProgramStep
            switch s.op {
            case "linear":
                let terms = try (s.terms ?? []).map { term -> LinearTerm in
                    let inShape = try shape(term.input, step: index)
                    let map: LinearMap
                    switch term.map {
                    case "conv":
                        let k = try field(term.kernel, "kernel", step: index)
                        map = .conv(weights: try array(term.weights, shape: [out.channels, inShape.channels, k, k], step: index),
                                    inChannels: inShape.channels, outChannels: out.channels, kernel: k,
                                    stride: try field(term.stride, "stride", step: index),
                                    padding: try field(term.padding, "padding", step: index))
                    case "dense":
                        map = .dense(weights: try array(term.weights, shape: [out.elements, inShape.elements], step: index),
                                     inFeatures: inShape.elements, outFeatures: out.elements)
                    case "diagonal":
                        map = .diagonal(scale: try array(term.weights, shape: [inShape.channels], step: index))
                    case "window_sum":
                        map = .windowSum(kernel: try field(term.kernel, "kernel", step: index),
                                         stride: try field(term.stride, "stride", step: index))
                    default:
                        throw fail("step \(index): unknown map \"\(term.map)\" (conv, dense, diagonal, window_sum)")
                    }
                    var made = LinearTerm(input: term.input, map: map)
                    guard made.weightBits <= term.weightBits, (1...40).contains(term.weightBits) else {
                        throw fail("step \(index): weight_bits \(term.weightBits) does not bound its weights (they need \(made.weightBits))")
                    }
                    made.weightBits = term.weightBits
                    return made
                }
                let bias = try s.bias.map { try array($0, shape: [out.channels], step: index) } ?? []
                step = .linear(output: s.output, terms: terms, bias: bias, name: s.name ?? "")
            case "add":
                step = .add(output: s.output, a: try field(s.a, "a", step: index), shiftA: try field(s.shiftA, "shift_a", step: index),
                            b: try field(s.b, "b", step: index), shiftB: try field(s.shiftB, "shift_b", step: index))
            case "truncate":
                step = .truncate(output: s.output, input: try field(s.input, "input", step: index),
                                 bits: try field(s.bits, "bits", step: index))
            case "relu":
                step = .relu(output: s.output, input: try field(s.input, "input", step: index),
                             valueBits: try field(s.valueBits, "value_bits", step: index),
                             shift: try field(s.shift, "shift", step: index), slot: s.slot ?? "")
            case "square":
                step = .square(output: s.output, input: try field(s.input, "input", step: index), slot: s.slot ?? "")
            case "polynomial":
                let degree = try field(s.degree, "degree", step: index)
                guard PlanManifest.supportedPolynomialDegrees.contains(degree) else {
                    throw fail("step \(index): degree \(degree) (only \(PlanManifest.supportedPolynomialDegrees))")
                }
                let halves = try array(s.coefficients, shape: [out.channels, degree + 1, 2], step: index)
                let rows = (0..<out.channels).map { c in
                    (0...degree).map { k in
                        let at = (c * (degree + 1) + k) * 2
                        return (UInt128(halves[at]) << 64) | UInt128(halves[at + 1])
                    }
                }
                step = .polynomial(output: s.output, input: try field(s.input, "input", step: index), degree: degree,
                                   coefficients: rows, shift: try field(s.shift, "shift", step: index), slot: s.slot ?? "")
            case "gather":
                guard let channels = s.channels else { throw fail("step \(index) lacks channels") }
                step = .gather(output: s.output, input: try field(s.input, "input", step: index), channels: channels)
            case "scatter":
                guard let parts = s.parts else { throw fail("step \(index) lacks parts") }
                step = .scatter(output: s.output, parts: parts.map { ScatterPart(input: $0.input, channels: $0.channels) })
            default:
                throw fail("step \(index): unknown op \"\(s.op)\" (linear, add, truncate, relu, square, polynomial, gather, scatter)")
            }
            steps.append(step)
            slots.append(s.slot)
        }
        self.init(fractionalBits: document.fractionalBits, tensors: tensors, steps: steps, output: document.output,
                  stepSlots: slots)
        do { try validate() } catch let error as SecureInferenceError {
            if case .protocolFailure(let reason) = error { throw fail(reason) }
            throw error
        }
        guard tensors.indices.contains(output) else { throw fail("output tensor \(output) does not exist") }
    }
}
