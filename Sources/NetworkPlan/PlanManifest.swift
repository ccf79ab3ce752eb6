import Foundation

/// `Plans/<name>/plan.json`: everything about an exported plan except its weights.
///
/// Versioned: readers reject schema versions they do not know, with a message saying which they support.
/// Version 2 added `digest`; version 3 the fixed-point program (`program`, its integers in weights.h5),
/// overflow counts and plain encodings (PlanManifest+Coding.swift, Plans/FORMAT.md). Versions 1 and 2 are
/// still read (compiled from their float weights at load; `sibyl export --upgrade DIR` rewrites one as
/// version 3).
public struct PlanManifest: Codable, Hashable, Sendable {
    public static let currentSchemaVersion = 3
    public static let readableSchemaVersions: ClosedRange<Int> = 1...3
    /// Polynomial degrees a plan may hold: what the fixed-point compiler and the secure runtime evaluate.
    /// The planner refuses other degrees before it trains anything.
    public static let supportedPolynomialDegrees: ClosedRange<Int> = 1...6

    public var schemaVersion: Int
    public var name: String
    public var graph: NetworkGraph
    /// What each activation slot computes, by slot name.
    public var activations: [String: SlotChoice]
    public var fixedPoint: FixedPointConfig
    public var input: InputSpec
    /// Class names in label order (CIFAR-100: 100 names), for reporting predictions.
    public var classNames: [String]
    /// Measured accuracies, each with the split and number of images it was measured on.
    public var accuracy: [AccuracyRecord]
    /// Predicted costs (from the planner's cost model), if known.
    public var predicted: PredictedCost?
    public var provenance: Provenance
    /// SHA-256 of each part of the plan that decides what it computes (schema 2 on; written by
    /// `PlanFiles.write`, checked by `PlanFiles.read` against plan.json and against weights.h5's copy).
    public var digest: PlanDigest?
    /// The fixed-point program as it runs (schema 3 on); its integer arrays are in weights.h5.
    public var program: ProgramDocument?
    /// Images whose fixed-point evaluation left a bound the program relies on, as measured at export.
    public var overflow: [OverflowRecord]?

    public init(name: String, graph: NetworkGraph, activations: [String: SlotChoice], fixedPoint: FixedPointConfig,
                input: InputSpec, classNames: [String], accuracy: [AccuracyRecord] = [], predicted: PredictedCost? = nil,
                provenance: Provenance) {
        self.schemaVersion = Self.currentSchemaVersion
        self.name = name
        self.graph = graph
        self.activations = activations
        self.fixedPoint = fixedPoint
        self.input = input
        self.classNames = classNames
        self.accuracy = accuracy
        self.predicted = predicted
        self.provenance = provenance
    }

    /// The slots' choices in graph order, as a placement.
    public func placement() throws -> Placement {
        Placement(choices: try graph.slots().map { activations[$0.name] ?? .relu })
    }

    /// Checks the manifest is self-consistent; returns the graph's slots.
    @discardableResult
    public func validate() throws -> [SlotDescriptor] {
        guard Self.readableSchemaVersions.contains(schemaVersion) else {
            throw PlanError.unsupportedSchema(found: schemaVersion, supported: Self.currentSchemaVersion)
        }
        if schemaVersion < 2 && digest != nil {
            throw PlanError.invalid("schema \(schemaVersion) plans have no digest, yet this one has: the schema version was edited")
        }
        let slots: [SlotDescriptor]
        do { slots = try graph.slots() } catch { throw PlanError.invalid("\(error)") }
        let names = Set(slots.map(\.name))
        for slot in slots where activations[slot.name] == nil {
            throw PlanError.invalid("activation slot \(slot.name) has no choice in \"activations\"")
        }
        for (name, choice) in activations {
            guard let slot = slots.first(where: { $0.name == name }) else {
                throw PlanError.invalid("\"activations\" names slot \(name), which the graph does not have (it has \(names.count) slots)")
            }
            switch choice {
            case .relu: break
            case .polynomial(let degree):
                guard Self.supportedPolynomialDegrees.contains(degree) else {
                    throw PlanError.invalid("slot \(name): polynomial degree \(degree) is not supported by the secure runtime (only \(Self.supportedPolynomialDegrees))")
                }
            case .mixed(let channels, let degree):
                guard Self.supportedPolynomialDegrees.contains(degree) else {
                    throw PlanError.invalid("slot \(name): polynomial degree \(degree) is not supported (only \(Self.supportedPolynomialDegrees))")
                }
                guard channels == channels.sorted(), Set(channels).count == channels.count,
                      channels.allSatisfy({ (0..<slot.channels).contains($0) }) else {
                    throw PlanError.invalid("slot \(name): polynomial channels must be sorted, unique and below \(slot.channels)")
                }
            }
        }
        guard (1...20).contains(fixedPoint.fractionalBits) else {
            throw PlanError.invalid("fixed_point.fractional_bits \(fixedPoint.fractionalBits) is outside 1...20")
        }
        if let problem = input.problem { throw PlanError.invalid(problem) }
        if schemaVersion >= 3 && program == nil {
            throw PlanError.invalid("schema \(schemaVersion) plans hold their fixed-point program, and this one has none")
        }
        if schemaVersion < 3 && program != nil {
            throw PlanError.invalid("schema \(schemaVersion) plans have no program, yet this one has: the schema version was edited")
        }
        if let program, program.fractionalBits != fixedPoint.fractionalBits {
            throw PlanError.invalid("program.fractional_bits \(program.fractionalBits) differs from fixed_point.fractional_bits \(fixedPoint.fractionalBits)")
        }
        return slots
    }

    public static func decode(_ data: Data, path: String) throws -> PlanManifest {
        // Look at the version first, so a future schema gets a version error, not a field error.
        let decoder = Self.decoder
        let version: Int?
        do { version = try schemaVersion(of: data) } catch {
            throw PlanError.unreadable(path: path, reason: "not a JSON object (\(error.localizedDescription))")
        }
        guard let version else { throw PlanError.unreadable(path: path, reason: "no \"schema_version\" field") }
        guard readableSchemaVersions.contains(version) else {
            throw PlanError.unsupportedSchema(found: version, supported: currentSchemaVersion)
        }
        let manifest: PlanManifest
        do { manifest = try decoder.decode(PlanManifest.self, from: data) } catch let error as DecodingError {
            throw PlanError.unreadable(path: path, reason: Self.describe(error))
        }
        try manifest.validate()
        return manifest
    }

    /// The "schema_version" of a plan.json (nil when it has none); throws when it is not a JSON object.
    public static func schemaVersion(of data: Data) throws -> Int? {
        struct Versioned: Decodable { var schemaVersion: Int? }
        return try decoder.decode(Versioned.self, from: data).schemaVersion
    }

    /// The encoder of plan.json: snake-case keys, sorted (deterministic for equal values).
    public static func encoder(pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        return encoder
    }

    public func encoded() throws -> Data {
        try Self.encoder(pretty: true).encode(self)
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing field \(path(context)).\(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "bad value at \(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// Hex SHA-256 digests of the parts of a plan that decide what it computes. An edit to any of them
/// after export (a changed ReLU bit width, a swapped class name, a modified weight) no longer matches.
public struct PlanDigest: Codable, Hashable, Sendable {
    public var algorithm = "sha256"
    public var graph: String
    public var activations: String
    public var fixedPoint: String
    public var input: String
    public var classNames: String
    /// Every float weight and polynomial coefficient of weights.h5, by name, with its shape.
    public var weights: String
    /// The program (plan.json's "program" and its integer datasets); schema 3 on.
    public var program: String?

    public init(graph: String, activations: String, fixedPoint: String, input: String, classNames: String, weights: String,
                program: String? = nil) {
        self.program = program
        self.graph = graph
        self.activations = activations
        self.fixedPoint = fixedPoint
        self.input = input
        self.classNames = classNames
        self.weights = weights
    }

    /// (field name in plan.json, digest) for each part, in a fixed order.
    public var parts: [(name: String, value: String)] {
        [("graph", graph), ("activations", activations), ("fixed_point", fixedPoint), ("input", input),
         ("class_names", classNames), ("weights", weights), ("program", program ?? "none")]
    }
}

public struct FixedPointConfig: Codable, Hashable, Sendable {
    /// Fractional bits f of activations and weights (Delphi: 8).
    public var fractionalBits: Int
    /// Bits of the share ring Z_(2^k); Sibyl uses 64.
    public var ringBits: Int
    /// Per ReLU slot: bits k' of the value bound |x| < 2^(k'-1) the garbled circuit relies on.
    public var reluValueBits: [String: Int]

    public init(fractionalBits: Int = 8, ringBits: Int = 64, reluValueBits: [String: Int] = [:]) {
        self.fractionalBits = fractionalBits
        self.ringBits = ringBits
        self.reluValueBits = reluValueBits
    }
}

/// How a client turns an image into the network input.
public struct InputSpec: Codable, Hashable, Sendable {
    public var shape: TensorShape
    /// Pixel bytes are divided by 255, then normalised per channel: (x - mean) / std.
    public var mean: [Float]
    public var std: [Float]

    public init(shape: TensorShape, mean: [Float], std: [Float]) {
        self.shape = shape
        self.mean = mean
        self.std = std
    }

    /// What makes this spec unusable (nil when it is fine): one finite mean and one finite positive std
    /// per channel of a non-empty shape.
    public var problem: String? {
        guard shape.channels > 0, shape.height > 0, shape.width > 0 else { return "input shape \(shape) is empty" }
        guard mean.count == shape.channels, std.count == shape.channels, mean.allSatisfy(\.isFinite),
              std.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            return "input normalisation needs one finite mean and one finite positive std per input channel"
        }
        return nil
    }
}

/// How many images of a split drove a value past a bound the fixed-point program relies on (a ReLU's
/// `value_bits`, or a polynomial's 128-bit range), so that its secure result may differ from the float model.
public struct OverflowRecord: Codable, Hashable, Sendable {
    /// "calibration" (the images the ReLU bounds were set on) or "accuracy" (those the accuracy was measured on).
    public var purpose: String
    public var split: String
    public var images: Int
    public var wrapped: Int

    public init(purpose: String, split: String, images: Int, wrapped: Int) {
        self.purpose = purpose
        self.split = split
        self.images = images
        self.wrapped = wrapped
    }
}

public struct AccuracyRecord: Codable, Hashable, Sendable {
    public enum Arithmetic: String, Codable, Sendable { case float, fixedPoint = "fixed_point", secure }
    public var arithmetic: Arithmetic
    public var split: String
    public var images: Int
    public var top1: Double

    public init(arithmetic: Arithmetic, split: String, images: Int, top1: Double) {
        self.arithmetic = arithmetic
        self.split = split
        self.images = images
        self.top1 = top1
    }
}

public struct PredictedCost: Codable, Hashable, Sendable {
    public var relus: Int
    public var polynomialActivations: Int
    public var onlineSecondsLan: Double?
    public var onlineBytes: Double?

    public init(relus: Int, polynomialActivations: Int, onlineSecondsLan: Double? = nil, onlineBytes: Double? = nil) {
        self.relus = relus
        self.polynomialActivations = polynomialActivations
        self.onlineSecondsLan = onlineSecondsLan
        self.onlineBytes = onlineBytes
    }
}

public struct Provenance: Codable, Hashable, Sendable {
    /// SHA-256 of the checkpoint the plan was exported from.
    public var checkpointSha256: String
    public var checkpoint: String
    public var command: String
    public var created: String

    public init(checkpointSha256: String, checkpoint: String, command: String, created: String) {
        self.checkpointSha256 = checkpointSha256
        self.checkpoint = checkpoint
        self.command = command
        self.created = created
    }
}

public enum PlanError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case unsupportedSchema(found: Int, supported: Int)
    case invalid(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "plan \(path) cannot be read: \(reason); re-export it with `sibyl export`"
        case .unsupportedSchema(let found, let supported):
            return "plan schema version \(found) is not supported (this sibyl reads versions 1 to \(supported)); "
                + "re-export the plan with this version of sibyl"
        case .invalid(let reason):
            return "invalid plan: \(reason)"
        }
    }
}
