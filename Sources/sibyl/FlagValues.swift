// Checks for numeric flags, applied where each flag is declared (`@Option(transform: FlagValue.positive)`),
// so a bad value is refused by the parser with the flag's name before anything runs. Every number must
// be finite: "inf" and "nan" parse as Float but train to NaN.
import ArgumentParser
import NetworkCost
import NetworkPlan
import Search
import SecureInference
import Tensors
import Training

enum FlagValue {
    /// A finite number in `range` (closed or half-open), or a ValidationError saying what is allowed.
    static func number<T: BinaryFloatingPoint & LosslessStringConvertible>(_ text: String, _ allowed: String,
                                                                          _ isAllowed: (T) -> Bool) throws -> T {
        guard let value = T(text), value.isFinite else {
            throw ValidationError("'\(text)' is not a finite number; give \(allowed)")
        }
        guard isAllowed(value) else { throw ValidationError("\(text) is out of range; give \(allowed)") }
        return value
    }

    /// Finite and above zero (learning rates, clip norms, seconds).
    @Sendable static func positive<T: BinaryFloatingPoint & LosslessStringConvertible>(_ text: String) throws -> T {
        try number(text, "a number above 0") { $0 > 0 }
    }

    /// Finite and at least zero (weights of penalties, weight decay).
    @Sendable static func nonNegative<T: BinaryFloatingPoint & LosslessStringConvertible>(_ text: String) throws -> T {
        try number(text, "a number of at least 0") { $0 >= 0 }
    }

    /// In [0, 1): momentum, label smoothing, warmup share.
    @Sendable static func fraction<T: BinaryFloatingPoint & LosslessStringConvertible>(_ text: String) throws -> T {
        try number(text, "a number in [0, 1)") { $0 >= 0 && $0 < 1 }
    }

    /// In [0, 1]: mixing weights.
    @Sendable static func unitInterval<T: BinaryFloatingPoint & LosslessStringConvertible>(_ text: String) throws -> T {
        try number(text, "a number in [0, 1]") { $0 >= 0 && $0 <= 1 }
    }
}

// Named choices parse as enums where the flag is declared: ArgumentParser then refuses a bad value with
// the flag's name and the allowed values (case-insensitive), before anything runs.
extension DatasetKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
extension ModelKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
extension ScheduleKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
extension PlanRequest.Pinned: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
extension PolynomialInitialization.Kind: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension OTChoice: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension ReLUProtocol: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
extension CostPhase: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

/// `--degrees 2,4`: polynomial degrees a plan can hold (PlanManifest.supportedPolynomialDegrees).
struct DegreeList: ExpressibleByArgument {
    var degrees: [Int]

    init?(argument: String) {
        let values = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0.map(PlanManifest.supportedPolynomialDegrees.contains) ?? false }) else { return nil }
        degrees = values.map { $0! }
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// `MIN:MAX` or one value, finite, MIN <= MAX (learning-rate and momentum ranges).
struct ValueRange: ExpressibleByArgument {
    var range: ClosedRange<Double>

    init?(argument: String) {
        guard let range = PlanRequest.parseRange(argument) else { return nil }
        self.range = range
    }
}

/// `--network lan|wan`: a network profile by name.
enum NetworkChoice: String, CaseIterable, ExpressibleByArgument {
    case loopback, lan, wan

    init?(argument: String) { self.init(rawValue: argument.lowercased()) }
    var profile: NetworkProfile { NetworkProfile.named(rawValue)! }
}

/// `--split`, `--accuracy-split`: the test split or the held-out validation split of the training set.
enum SplitChoice: String, CaseIterable, ExpressibleByArgument {
    case test, validation

    init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

/// `--mean 0.5071,0.4865,0.4409`: one finite value per input channel (RGB).
struct ChannelValues: ExpressibleByArgument {
    var values: [Float]

    init?(argument: String) {
        let parsed = argument.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard parsed.count == 3, parsed.allSatisfy({ $0?.isFinite ?? false }) else { return nil }
        values = parsed.map { $0! }
    }

    static var defaultCompletionKind: CompletionKind { .default }
}


/// `--kernels auto|portable` of `sibyl train` and `sibyl bench train`.
enum KernelChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, portable

    static let help: ArgumentHelp = "Kernels: auto (the C kernels where the CPU has AVX-512: direct 3x3 stride-1 convolutions with batch-norm statistics and, in evaluation, batch norm, shortcut and ReLU in their stores; polynomial activations) or portable (im2col + OpenBLAS convolutions and Swift loops everywhere)."

    func apply() { NativeKernels.enabled = self == .auto }
}
