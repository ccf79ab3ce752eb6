import NetworkPlan
import TwoParty

/// Evaluates a fixed-point program in the clear: exactly what the two-party protocol must output.
public struct FixedPointOracle: Sendable {
    public let program: FixedPointProgram

    public init(program: FixedPointProgram) { self.program = program }

    /// Encodes a normalised float input (C-H-W) at the input scale.
    public func encodeInput(_ input: [Float]) -> [UInt64] {
        FixedPointCompiler.encode(input, scale: program.inputTensor.scale)
    }

    /// Every tensor of the program for one encoded input (index = tensor id).
    public func evaluateAll(input: [UInt64]) -> [[UInt64]] {
        precondition(input.count == program.inputTensor.shape.elements, "input size does not match the program")
        var values = [[UInt64]](repeating: [], count: program.tensors.count)
        values[FixedPointProgram.input] = input
        for step in program.steps {
            let outShape = program.tensors[step.output].shape
            switch step {
            case .linear(let output, let terms, let bias, _):
                values[output] = Self.linear(terms, bias: bias, of: values, in: program, onto: [UInt64](repeating: 0, count: outShape.elements),
                                             shape: outShape)
            case .add(let output, let a, let shiftA, let b, let shiftB):
                values[output] = RingKernels.shiftedSum(values[a], shiftA: shiftA, values[b], shiftB: shiftB)
            case .truncate(let output, let input, let bits):
                values[output] = values[input].map { RingKernels.shiftRight($0, bits) }
            case .relu(let output, let input, let valueBits, let shift, _):
                values[output] = values[input].map { RingKernels.relu($0, valueBits: valueBits, shift: shift) }
            case .square(let output, let input, _):
                values[output] = values[input].map { $0 &* $0 }
            case .polynomial(let output, let input, _, let coefficients, let shift, _):
                values[output] = Self.polynomial(values[input], coefficients: coefficients, shift: shift, shape: outShape).values
            case .gather(let output, let input, let channels):
                values[output] = RingKernels.gather(values[input], channels: channels, plane: outShape.height * outShape.width)
            case .scatter(let output, let parts):
                values[output] = RingKernels.scatter(parts.map { (values[$0.input], $0.channels) }, shape: outShape)
            }
        }
        return values
    }

    /// Logits as ring elements at the output scale.
    public func evaluate(input: [UInt64]) -> [UInt64] {
        evaluateAll(input: input)[program.output]
    }

    /// Logits decoded to Double.
    public func decode(_ logits: [UInt64]) -> [Double] {
        let factor = Double(1 << program.tensors[program.output].scale)
        return logits.map { Double(Int64(bitPattern: $0)) / factor }
    }

    /// Whether `step` finds a value of image `image` (values[tensor][image]) outside a bound the program
    /// relies on: a ReLU input beyond its `valueBits` (the garbled circuit sees only those bits), a square's
    /// input of 2^31 or more in magnitude (its product wraps in Z_(2^64)), or a polynomial whose evaluation
    /// leaves the protocol's declared range (|p(X)| < 2^99, `OneRoundPolynomial.rangeBits`; or an intermediate
    /// past 128 bits) or whose shifted result leaves 64 bits (reported by `polynomial`, which computes it anyway). Such an image's secure
    /// result equals the oracle's, but may differ from the float model's. (Wrap-around inside linear layers
    /// shows up at the next of these.)
    public static func exceedsBound(_ step: ProgramStep, values: [[[UInt64]]], image: Int, outShape: TensorShape) -> Bool {
        switch step {
        case .relu(_, let input, let valueBits, _, _):
            let unused = UInt64(64 - valueBits)
            return values[input][image].contains { (Int64(bitPattern: $0 << unused) >> unused) != Int64(bitPattern: $0) }
        case .square(_, let input, _):
            return values[input][image].contains { Int64(bitPattern: $0).magnitude >= 1 << 31 }
        default:
            return false
        }
    }

    /// The polynomial step on one image's tensor (C-H-W): `OneRoundPolynomial.reference` per element, and
    /// whether any element left the range where it equals the real polynomial (`OneRoundPolynomial.referenceChecked`).
    static func polynomial(_ x: [UInt64], coefficients: [[UInt128]], shift: Int, shape: TensorShape) -> (values: [UInt64], exceeded: Bool) {
        let plane = shape.height * shape.width
        precondition(coefficients.count * plane == x.count, "polynomial step: \(coefficients.count) channels of \(plane) for \(x.count) values")
        var exceeded = false
        var values = [UInt64](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { input in
            values.withUnsafeMutableBufferPointer { output in
                for (c, a) in coefficients.enumerated() {
                    let evaluate = OneRoundPolynomial.CheckedEvaluator(coefficients: a, shift: shift)
                    for i in c * plane..<(c + 1) * plane {
                        let (y, wrapped) = evaluate(input[i])
                        output[i] = y
                        if wrapped { exceeded = true }
                    }
                }
            }
        }
        return (values, exceeded)
    }

    /// `start` + a linear step (its terms over `inputs`, the tensors by id, and its bias) in the ring: the
    /// oracle's step from zero, the server's from the output mask it drew offline.
    static func linear(_ terms: [LinearTerm], bias: [UInt64], of inputs: [[UInt64]], in program: FixedPointProgram,
                       onto start: consuming [UInt64], shape: TensorShape) -> [UInt64] {
        var y = start
        for term in terms {
            RingKernels.accumulate(term.map, x: inputs[term.input], inShape: program.tensors[term.input].shape,
                                   outShape: shape, into: &y)
        }
        addBias(bias, to: &y, shape: shape)
        return y
    }

    static func addBias(_ bias: [UInt64], to y: inout [UInt64], shape: TensorShape) {
        guard !bias.isEmpty else { return }
        let plane = shape.height * shape.width
        for c in 0..<shape.channels { for i in c * plane..<(c + 1) * plane { y[i] &+= bias[c] } }
    }
}
