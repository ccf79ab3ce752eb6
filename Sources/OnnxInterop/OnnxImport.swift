// `sibyl import MODEL.onnx --out DIR`: an ONNX network becomes a Sibyl checkpoint (DIR/model.h5) that
// `sibyl test`, `plan`, `export` and `evaluate` take like one from `sibyl train`. Steps: parse (swift-protobuf),
// read the graph into Sibyl's layers (OnnxGraphReader), match it to an architecture (ArchitectureMatch),
// move the weights and activation choices onto that architecture's parameter names, check the built
// network against the imported graph evaluated directly, and write the checkpoint atomically.
import Foundation
import NetworkPlan
import OnnxFormat
import PlanStore
import SwiftProtobuf
import Tensors
import Training

public struct OnnxImportRequest: Sendable {
    public var model: URL
    public var outDirectory: URL
    /// Normalisation given by flags; nil: the model's metadata, else `datasetNormalization` must be set.
    public var normalization: Normalization?
    /// Use the normalisation Sibyl computes from the dataset's training split (for models trained that way).
    public var datasetNormalization: Bool
    public var classNames: [String]?
    public var dataset: String
    public var force: Bool

    public init(model: URL, outDirectory: URL, normalization: Normalization? = nil, datasetNormalization: Bool = false,
                classNames: [String]? = nil, dataset: String = "cifar100", force: Bool = false) {
        self.model = model
        self.outDirectory = outDirectory
        self.normalization = normalization
        self.datasetNormalization = datasetNormalization
        self.classNames = classNames
        self.dataset = dataset
        self.force = force
    }
}

public struct OnnxImportSummary: Codable, Sendable {
    public var source: String
    public var sha256: String
    public var producer: String
    public var opset: Int
    public var architecture: String
    public var classes: Int
    public var slots: Int
    public var reluSlots: Int
    public var polynomialSlots: Int
    public var mixedSlots: Int
    public var relus: Int
    public var normalization: String
    /// The checkpoint's file name in the --out directory.
    public var checkpoint: String
    /// max |network - graph| / max |graph| over the logits of one input: the built network against the
    /// imported graph evaluated node by node in double precision; nil when both overflowed float there.
    public var selfCheckRelativeDifference: Double?
}

public enum OnnxImport {
    static let metadataNormalization = "sibyl.normalization"
    static let metadataClassNames = "sibyl.class_names"
    static let metadataArchitecture = "sibyl.architecture"

    /// Parses an ONNX file.
    public static func readModel(at url: URL) throws -> (Onnx_ModelProto, Data) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw OnnxError.unreadable(path: url.path, reason: "cannot be read (\(error.localizedDescription))")
        }
        do {
            let model = try Onnx_ModelProto(serializedBytes: data)
            guard model.hasGraph, !model.graph.node.isEmpty else {
                throw OnnxError.unreadable(path: url.path, reason: "it parses but holds no graph nodes")
            }
            return (model, data)
        } catch let error as OnnxError { throw error } catch {
            throw OnnxError.unreadable(path: url.path, reason: "protobuf decoding failed (\(error)); the file is truncated or not ONNX")
        }
    }

    /// The Sibyl network an ONNX model is, with its architecture.
    public static func network(from model: Onnx_ModelProto) throws -> (ModelKind, Network, selfCheck: Double?) {
        let imported = try OnnxGraphReader.read(model)
        guard case .dense(_, let classes, _) = imported.graph.nodes.last!.op else {
            throw OnnxError.model("the graph does not end in a classifier")
        }
        let (kind, network, match) = try ArchitectureMatch.find(imported, classes: classes)
        var table: WeightTable = [:]
        var choices: [String: SlotChoice] = [:]
        var coefficients: [String: SlotCoefficients] = [:]
        for (t, node) in match.template.enumerated() {
            switch (node.op, imported.graph.nodes[match.map[t]!].op) {
            case let (.conv(name, _, _, _, _, _), .conv(source, _, _, _, _, _)):
                table[name + ".weight"] = imported.weights[source + ".weight"]
            case let (.batchNorm(name, _), .batchNorm(source, _)):
                for part in [".gamma", ".beta", ".running_mean", ".running_var"] { table[name + part] = imported.weights[source + part] }
            case let (.dense(name, _, _), .dense(source, _, _)):
                for part in [".weight", ".bias"] { table[name + part] = imported.weights[source + part] }
            case let (.activation(slot), .activation(source)):
                choices[slot] = imported.activations[source]
                coefficients[slot] = imported.coefficients[source]
            default: break
            }
        }
        try load(table, choices: choices, coefficients: coefficients, into: network)
        return (kind, network, try selfCheck(network, against: imported))
    }

    static func load(_ table: WeightTable, choices: [String: SlotChoice], coefficients: [String: SlotCoefficients],
                     into network: Network) throws {
        func assign(_ name: String, _ tensor: Tensor) throws {
            guard let values = table[name], values.count == tensor.count else {
                throw OnnxError.architecture("\(name): \(table[name]?.count ?? 0) values for a tensor of \(tensor.count) (an importer bug)")
            }
            tensor.assign(Tensor(shape: tensor.shape, values: values))
        }
        for p in network.namedParameters where !p.name.hasSuffix(".coefficients") { try assign(p.name, p.parameter.value) }
        for b in network.namedBuffers { try assign(b.name, b.tensor) }
        for slot in network.slots {
            switch choices[slot.name] {
            case .relu?: slot.setReLU()
            case let .polynomial(degree)?, let .mixed(_, degree)?:
                guard let rows = coefficients[slot.name], rows.count == slot.channels, rows.allSatisfy({ $0.count == degree + 1 }) else {
                    throw OnnxError.architecture("slot \(slot.name) lacks its coefficients (an importer bug)")
                }
                slot.restore(mode: .polynomial, coefficients: Tensor(shape: [slot.channels, degree + 1], values: Array(rows.joined())))
                slot.setInputBounds(nil)
                slot.setChannelAlphas(nil)
                if case let .mixed(channels, _)? = choices[slot.name] {
                    let polynomial = Set(channels)
                    slot.setPolynomialChannels((0..<slot.channels).map { polynomial.contains($0) })
                } else {
                    slot.setPolynomialChannels(nil)
                }
            case nil: throw OnnxError.architecture("slot \(slot.name) has no activation (an importer bug)")
            }
        }
    }

    /// The built network's logits against the imported graph's, evaluated node by node in double precision
    /// on a fixed smooth input (the pattern, then a tenth of it: a polynomial network may overflow float on
    /// inputs unlike images): a wrong pairing of layers or weights shows as a large difference. nil when the
    /// network overflows on both.
    static func selfCheck(_ network: Network, against imported: ImportedGraph) throws -> Double? {
        for amplitude in [1.0, 0.1] {
            let input = (0..<(3 * 32 * 32)).map { i -> Float in
                let (c, h, w) = (Double(i / 1024), Double(i / 32 % 32), Double(i % 32))
                return Float(amplitude * sin(0.37 * h + 0.23 * w + 1.1 * c) * cos(0.11 * h * w / 8 + c))
            }
            let reference = try ReferenceEvaluator.evaluate(graph: imported.graph, weights: imported.weights,
                                                            activations: imported.activations, coefficients: imported.coefficients,
                                                            input: input)
            let tape = Tape(recording: false)
            let logits = network.forward(tape.constant(Tensor(shape: [1, 3, 32, 32], values: input)), tape: tape, training: false).value.array
            guard logits.count == reference.count else {
                throw OnnxError.architecture("the built network has \(logits.count) outputs, the graph \(reference.count) (an importer bug)")
            }
            guard reference.allSatisfy(\.isFinite), logits.allSatisfy(\.isFinite) else { continue }
            let scale = max(reference.map { abs($0) }.max() ?? 0, 1e-12)
            let relative = (zip(logits, reference).map { abs(Double($0.0) - $0.1) }.max() ?? 0) / scale
            guard relative < 1e-3 else {
                throw OnnxError.architecture(String(format: "the built network's logits differ from the imported graph's by %.2e "
                                                    + "(relative); an importer bug: please report it with the file", relative))
            }
            return relative
        }
        return nil
    }
}
