import NetworkCost
import NetworkPlan

// A plan lowered to integer arithmetic in the share ring Z_(2^64): what the oracle computes in the clear
// and what the two-party protocol computes on shares. Every tensor has a scale (its number of fractional
// bits). Rules (Plans/FORMAT.md; Sources/SecureInference/README.md):
// - inputs of convolution/dense layers are at scale f; weights are at scale f; a layer's output is at
//   input scale + f, its bias encoded at that scale;
// - a ReLU reads its input at any scale s >= f and outputs scale f: the garbled circuit truncates by s - f
//   (free rewiring) and decides the sign from the low `valueBits` bits;
// - a polynomial a0 + a1 x + a2 x^2 truncates its input to scale f, squares it (scale 2f) and truncates the
//   square to f, combines x^2 and x linearly with per-channel coefficients (scale 2f) and truncates to f;
// - pooling divides by the window size with log2(window) extra fractional bits, so no precision is lost;
// - truncations are arithmetic shifts (floor); the protocol makes them exact by aligning the client's share.

/// The cost model's kinds of step (the cost vocabulary's).
public typealias StepCostKind = StepCost.Kind

/// A tensor of the program: shape and scale.
public struct ProgramTensor: Hashable, Sendable, Codable {
    public var shape: TensorShape
    /// Fractional bits: the real value is the signed integer divided by 2^scale.
    public var scale: Int
}

/// A linear map from one input tensor. Weights are signed fixed-point integers stored as UInt64
/// bit patterns (two's complement), so all arithmetic is wrapping arithmetic in Z_(2^64).
public enum LinearMap: Hashable, Sendable, Codable {
    /// Convolution, weight layout [out][in][k][k].
    case conv(weights: [UInt64], inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int)
    /// Dense on the flattened input (C-H-W order), weight layout [out][in].
    case dense(weights: [UInt64], inFeatures: Int, outFeatures: Int)
    /// Per-channel scaling (a diagonal map): out[c, i] = scale[c] * in[c, i].
    case diagonal(scale: [UInt64])
    /// Sum over each k x k window with the given stride (average pooling's numerator).
    case windowSum(kernel: Int, stride: Int)
}

public struct LinearTerm: Hashable, Sendable, Codable {
    public var input: Int
    public var map: LinearMap
    /// Public bound |w| < 2^weightBits on this term's weights: part of the architecture the client sees
    /// (it sizes the homomorphic encryption), unlike the weights themselves.
    public var weightBits: Int

    public init(input: Int, map: LinearMap) {
        self.input = input
        self.map = map
        let largest: UInt64
        switch map {
        case .conv(let weights, _, _, _, _, _), .dense(let weights, _, _), .diagonal(let weights):
            largest = weights.reduce(0) { max($0, Int64(bitPattern: $1).magnitude) }
        case .windowSum:
            largest = 1
        }
        // The smallest b with |w| < 2^b: every extra bit costs a bit of ciphertext modulus. The client learns
        // this bit length per layer, nothing else about the weights.
        weightBits = min(40, max(1, 64 - largest.leadingZeroBitCount))
    }
}

/// One input of a `scatter` step: a tensor and the output channels its channels fill.
public struct ScatterPart: Hashable, Sendable, Codable {
    public var input: Int
    public var channels: [Int]

    public init(input: Int, channels: [Int]) {
        self.input = input
        self.channels = channels
    }
}

/// One step of the program; `output` is the index of the tensor it defines.
public enum ProgramStep: Hashable, Sendable, Codable {
    /// output = sum of terms + bias (bias per output channel, at the output scale).
    case linear(output: Int, terms: [LinearTerm], bias: [UInt64], name: String)
    /// output = (a << shiftA) + (b << shiftB), aligning scales exactly.
    case add(output: Int, a: Int, shiftA: Int, b: Int, shiftB: Int)
    /// output = input >> bits (arithmetic).
    case truncate(output: Int, input: Int, bits: Int)
    /// output = max(0, signExtend(input mod 2^valueBits)) >> shift; a garbled circuit per element.
    case relu(output: Int, input: Int, valueBits: Int, shift: Int, slot: String)
    /// output = input * input; an OT-based multiplication per element.
    case square(output: Int, input: Int, slot: String)
    /// output = p(input) >> shift, arithmetic, reduced mod 2^64: p of `degree` with integer coefficients per
    /// channel ([channels][degree + 1], lowest degree first, two's complement 128-bit words; empty in the
    /// public view), evaluated on the sign-extended input (exact while |p| < 2^99, the protocol's declared
    /// range; `OneRoundPolynomial.reference` computes it modulo 2^128 beyond). One online round
    /// (TwoParty.OneRoundPolynomial).
    case polynomial(output: Int, input: Int, degree: Int, coefficients: [[UInt128]], shift: Int, slot: String)
    /// output = the listed channels of input, in that order (C-H-W planes); local, no communication.
    case gather(output: Int, input: Int, channels: [Int])
    /// output = the parts' channels put back in place: part i's channel j becomes output channel
    /// parts[i].channels[j]; every output channel comes from exactly one part, and all parts share a scale.
    case scatter(output: Int, parts: [ScatterPart])

    /// The tensors the step reads.
    public var inputs: [Int] {
        switch self {
        case .linear(_, let terms, _, _): return terms.map(\.input)
        case .add(_, let a, _, let b, _): return [a, b]
        case .truncate(_, let input, _), .relu(_, let input, _, _, _), .square(_, let input, _),
             .polynomial(_, let input, _, _, _, _), .gather(_, let input, _): return [input]
        case .scatter(_, let parts): return parts.map(\.input)
        }
    }

    /// Whether the step exchanges messages online (a ReLU, a square, a polynomial); the rest are local.
    public var communicates: Bool {
        switch self {
        case .relu, .square, .polynomial: return true
        default: return false
        }
    }

    public var output: Int {
        switch self {
        case .linear(let output, _, _, _), .add(let output, _, _, _, _), .truncate(let output, _, _),
             .relu(let output, _, _, _, _), .square(let output, _, _), .polynomial(let output, _, _, _, _, _),
             .gather(let output, _, _), .scatter(let output, _):
            return output
        }
    }
}

public struct FixedPointProgram: Hashable, Sendable, Codable {
    public var fractionalBits: Int
    /// The tensors by id; `FixedPointProgram.input` (the first) is the network's input, at scale f.
    public var tensors: [ProgramTensor]
    public var steps: [ProgramStep]
    /// Index of the logits tensor.
    public var output: Int
    /// Per step, the activation slot it implements (nil: a layer of the network): the ReLU or polynomial
    /// protocol itself, and the gathers, scatters, truncations and coefficient steps around it. Programs
    /// from before this field have none.
    public var stepSlots: [String?]?

    /// The id of the input tensor: the compiler lays it out first, validation checks that no step writes it.
    public static let input = 0

    /// The input tensor (shape and scale).
    public var inputTensor: ProgramTensor { tensors[Self.input] }

    /// Whether a step is a polynomial (the session then sets up the polynomials' batched OLE).
    public var hasPolynomials: Bool {
        steps.contains { if case .polynomial = $0 { return true } else { return false } }
    }

    /// Whether a step needs correlated OT (a ReLU or a square): a session without one sets up no OT.
    public var needsOT: Bool {
        steps.contains { step in
            switch step {
            case .relu, .square: return true
            case .linear, .add, .truncate, .gather, .scatter, .polynomial: return false
            }
        }
    }

    public init(fractionalBits: Int, tensors: [ProgramTensor], steps: [ProgramStep], output: Int, stepSlots: [String?]? = nil) {
        self.fractionalBits = fractionalBits
        self.tensors = tensors
        self.steps = steps
        self.output = output
        self.stepSlots = stepSlots
    }

    /// The degree of a polynomial protocol step (a square: 2), else nil.
    public func polynomialDegree(ofStep index: Int) -> Int? {
        guard steps.indices.contains(index) else { return nil }
        switch steps[index] {
        case .square: return 2
        case .polynomial(_, _, let degree, _, _, _): return degree
        default: return nil
        }
    }

    /// The pseudo-step under which sessions measure the silent OT iterations that make the OT-based ReLUs'
    /// correlated OTs offline: a ReLU cost with no elements of its own.
    public static let reluPreparationStep = -2

    /// What a step costs in the cost model's terms: a ReLU or polynomial activation (with the elements it
    /// evaluates; 0 for the local steps that belong to one), or a network layer.
    public func costKind(ofStep index: Int) -> (kind: StepCostKind, elements: Int) {
        if index == Self.reluPreparationStep { return (.relu, 0) }
        guard steps.indices.contains(index) else { return (.linear, 0) }
        let stepSlots = self.stepSlots.flatMap { $0.count == steps.count ? $0 : nil }
        let step = steps[index]
        let elements = tensors[step.output].shape.elements
        switch step {
        case .relu: return (.relu, elements)
        case .square, .polynomial: return (.polynomial, elements)
        case .linear where (stepSlots?[index] ?? nil) != nil:
            return (.polynomial, 0)   // the coefficients of a polynomial of degree 1 or 2
        default:
            guard let slot = stepSlots?[index] ?? nil else { return (.linear, 0) }
            // A local step of an activation (gather, scatter, truncation, coefficients): a polynomial's if
            // the slot has polynomial channels, else a ReLU's.
            var hasReLU = false, hasPolynomial = false
            for i in steps.indices where stepSlots?[i] == slot {
                switch steps[i] {
                case .relu: hasReLU = true
                case .square, .polynomial: hasPolynomial = true
                default: break
                }
            }
            let isReLUOnly = hasReLU && !hasPolynomial
            return (isReLUOnly ? .relu : .polynomial, 0)
        }
    }

    /// Online round trips shared: per step, whether the exchanges begun before it must complete first
    /// (it reads an output of one of them). Communicating steps between two barriers are independent (a
    /// slot split by channel: its ReLU part and its polynomial part), so the server sends all their
    /// messages in one flight and then reads all replies, and the client reads all, then replies to all:
    /// one round trip for the group, and no deadlock on blocking sockets (each side only writes, then only
    /// reads). Both parties derive the same barriers from the program.
    public var onlineBarriers: [Bool] {
        var pending = Set<Int>()
        return steps.map { step in
            let barrier = step.inputs.contains(where: pending.contains)
            if barrier { pending.removeAll() }
            if step.communicates { pending.insert(step.output) }
            return barrier
        }
    }

    /// Elements that go through garbled-circuit ReLUs, and through squares, per image.
    public var reluCount: Int {
        steps.reduce(0) { if case .relu(let o, _, _, _, _) = $1 { return $0 + tensors[o].shape.elements } else { return $0 } }
    }
    public var squareCount: Int {
        steps.reduce(0) { if case .square(let o, _, _) = $1 { return $0 + tensors[o].shape.elements } else { return $0 } }
    }
    /// Elements that go through one-round polynomials, per image.
    public var polynomialCount: Int {
        steps.reduce(0) { if case .polynomial(let o, _, _, _, _, _) = $1 { return $0 + tensors[o].shape.elements } else { return $0 } }
    }

    /// The program without its secrets (weights, biases, polynomial coefficients): what the server shows
    /// the client. Weight arrays become empty; shapes, scales, steps and weight bounds remain.
    public func publicView() -> FixedPointProgram {
        var view = self
        view.steps = steps.map { step in
            if case .polynomial(let output, let input, let degree, _, let shift, let slot) = step {
                return .polynomial(output: output, input: input, degree: degree, coefficients: [], shift: shift, slot: slot)
            }
            guard case .linear(let output, let terms, _, let name) = step else { return step }
            let stripped = terms.map { term -> LinearTerm in
                var copy = term
                switch term.map {
                case .conv(_, let i, let o, let k, let s, let p):
                    copy.map = .conv(weights: [], inChannels: i, outChannels: o, kernel: k, stride: s, padding: p)
                case .dense(_, let i, let o):
                    copy.map = .dense(weights: [], inFeatures: i, outFeatures: o)
                case .diagonal:
                    copy.map = .diagonal(scale: [])
                case .windowSum:
                    break
                }
                return copy
            }
            return .linear(output: output, terms: stripped, bias: [], name: name)
        }
        return view
    }
}
