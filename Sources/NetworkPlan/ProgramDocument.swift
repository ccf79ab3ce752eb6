// The fixed-point program as plan.json (schema 3) holds it: plain JSON (numbers as numbers, operations
// as documented strings), with every integer array named by its dataset in weights.h5. Plans/FORMAT.md
// specifies it; Plans/plan.schema.json checks its shape. The secure runtime converts it to and from its
// own `FixedPointProgram` (SecureInference, ProgramDocument+Program.swift).

/// An integer dataset of weights.h5 (int64, row-major), e.g. a layer's weights exactly as they run.
public struct IntegerArray: Hashable, Sendable {
    public var shape: [Int]
    public var values: [Int64]

    public init(shape: [Int], values: [Int64]) {
        self.shape = shape
        self.values = values
    }
}

/// The fixed-point program of a plan. Arithmetic is in Z_(2^ringBits), two's complement; every tensor is
/// C-H-W with a scale (fractional bits).
public struct ProgramDocument: Codable, Hashable, Sendable {
    /// How real numbers became integers at export: round(x * 2^scale), ties away from zero.
    public static let encodingRule = "round_half_away_from_zero"
    /// How a right shift rounds: an arithmetic shift of the two's-complement value (floor).
    public static let truncationRule = "arithmetic_shift_floor"

    public var ringBits: Int
    public var fractionalBits: Int
    public var encoding: String
    public var truncation: String
    public var layout: String
    /// Tensor 0 is the encoded input.
    public var tensors: [Tensor]
    public var steps: [Step]
    /// The logits tensor.
    public var output: Int

    public init(ringBits: Int = 64, fractionalBits: Int, tensors: [Tensor], steps: [Step], output: Int) {
        self.ringBits = ringBits
        self.fractionalBits = fractionalBits
        self.encoding = Self.encodingRule
        self.truncation = Self.truncationRule
        self.layout = "CHW"
        self.tensors = tensors
        self.steps = steps
        self.output = output
    }

    public struct Tensor: Codable, Hashable, Sendable {
        /// [channels, height, width].
        public var shape: [Int]
        /// Fractional bits: the real value is the signed integer / 2^scale.
        public var scale: Int

        public init(shape: [Int], scale: Int) {
            self.shape = shape
            self.scale = scale
        }
    }

    /// One term of a `linear` step: a linear map of one input tensor.
    public struct Term: Codable, Hashable, Sendable {
        public var input: Int
        /// "conv", "dense", "diagonal" or "window_sum".
        public var map: String
        /// Dataset of the integer weights (conv [O, I, k, k], dense [O, I], diagonal [C]); nil for window_sum.
        public var weights: String?
        /// Public bound |w| < 2^weight_bits (sizes the homomorphic encryption).
        public var weightBits: Int
        public var kernel: Int?
        public var stride: Int?
        public var padding: Int?

        public init(input: Int, map: String, weights: String?, weightBits: Int, kernel: Int? = nil, stride: Int? = nil,
                    padding: Int? = nil) {
            self.input = input
            self.map = map
            self.weights = weights
            self.weightBits = weightBits
            self.kernel = kernel
            self.stride = stride
            self.padding = padding
        }
    }

    /// One input of a `scatter` step.
    public struct Part: Codable, Hashable, Sendable {
        public var input: Int
        public var channels: [Int]

        public init(input: Int, channels: [Int]) {
            self.input = input
            self.channels = channels
        }
    }

    /// One step; which fields it has depends on `op` (see Plans/FORMAT.md).
    public struct Step: Codable, Hashable, Sendable {
        /// "linear", "add", "truncate", "relu", "square", "polynomial", "gather" or "scatter".
        public var op: String
        public var output: Int
        /// The activation slot the step implements; nil for a layer of the network.
        public var slot: String?
        /// The layer a linear step computes (e.g. "stage1.block0.conv1").
        public var name: String?
        public var input: Int?
        public var terms: [Term]?
        /// Dataset of a linear step's bias ([C], at the output scale); nil when it has none.
        public var bias: String?
        public var a: Int?
        public var shiftA: Int?
        public var b: Int?
        public var shiftB: Int?
        public var bits: Int?
        public var valueBits: Int?
        public var shift: Int?
        public var degree: Int?
        /// Dataset of a polynomial's coefficients: int64 [C, degree + 1, 2], the (high, low) 64-bit halves of
        /// each 128-bit two's-complement coefficient, lowest degree first.
        public var coefficients: String?
        public var channels: [Int]?
        public var parts: [Part]?

        public init(op: String, output: Int, slot: String? = nil) {
            self.op = op
            self.output = output
            self.slot = slot
        }
    }

    /// Every dataset the program names, in step order.
    public var datasetNames: [String] {
        steps.flatMap { step in
            (step.terms ?? []).compactMap(\.weights) + [step.bias, step.coefficients].compactMap { $0 }
        }
    }
}
