// `sibyl export --onnx FILE`: a network (a checkpoint's, with batch norms as their own nodes, or a plan's
// float network, batch norms folded) as an ONNX model that ONNX Runtime evaluates to Sibyl's logits. Every
// Sibyl layer becomes standard operators of opset 13: Conv, BatchNormalization, Relu, Add, AveragePool,
// GlobalAveragePool, Flatten + Gemm; a polynomial slot becomes Horner's rule in Mul and Add with
// per-channel [C, 1, 1] coefficients, and a slot split by channel Relu(x) * mask + p(x), p zero on the
// ReLU channels. `sibyl import` reads all of it back. The input normalisation and class names go into the
// model's metadata (sibyl.normalization, sibyl.class_names); the input is the normalised image batch.
import Foundation
import NetworkPlan
import OnnxFormat
import PlanStore
import SwiftProtobuf
import Training

public struct OnnxNetwork: Sendable {
    public var graph: NetworkGraph
    public var weights: WeightTable
    public var activations: [String: SlotChoice]
    public var coefficients: [String: SlotCoefficients]
    public var normalization: Normalization?
    public var classNames: [String]?
    /// Architecture name for the metadata (resnet32, ...), if known.
    public var architecture: String?

    public init(graph: NetworkGraph, weights: WeightTable, activations: [String: SlotChoice], coefficients: [String: SlotCoefficients],
                normalization: Normalization?, classNames: [String]?, architecture: String?) {
        self.graph = graph
        self.weights = weights
        self.activations = activations
        self.coefficients = coefficients
        self.normalization = normalization
        self.classNames = classNames
        self.architecture = architecture
    }
}

public enum OnnxExport {
    public static let opset: Int64 = 13
    public static let irVersion: Int64 = 7

    /// The ONNX model of `network`.
    public static func model(_ network: OnnxNetwork, producerVersion: String = "") throws -> Onnx_ModelProto {
        let shapes = try network.graph.validate()
        var writer = Writer(network: network, shapes: shapes)
        for index in network.graph.nodes.indices { try writer.emit(index) }
        var graph = Onnx_GraphProto()
        graph.name = network.architecture ?? "sibyl"
        graph.node = writer.nodes
        graph.initializer = writer.initializers
        graph.input = [valueInfo("input", [-1, shapes[0].channels, shapes[0].height, shapes[0].width])]
        let last = network.graph.nodes.count - 1
        graph.output = [valueInfo(writer.output(of: last), [-1, shapes[last].elements])]
        var model = Onnx_ModelProto()
        model.irVersion = irVersion
        model.producerName = "sibyl"
        model.producerVersion = producerVersion
        var standard = Onnx_OperatorSetIdProto()
        standard.domain = ""
        standard.version = opset
        model.opsetImport = [standard]
        model.graph = graph
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var metadata: [(String, String)] = []
        if let n = network.normalization { metadata.append((OnnxImport.metadataNormalization, String(decoding: try encoder.encode(n), as: UTF8.self))) }
        if let c = network.classNames { metadata.append((OnnxImport.metadataClassNames, String(decoding: try encoder.encode(c), as: UTF8.self))) }
        if let a = network.architecture { metadata.append((OnnxImport.metadataArchitecture, a)) }
        model.metadataProps = metadata.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        return model
    }

    /// Writes the model atomically.
    public static func write(_ network: OnnxNetwork, to url: URL, producerVersion: String = "") throws {
        let bytes: Data = try model(network, producerVersion: producerVersion).serializedBytes()
        try AtomicFile.write(to: url) { try bytes.write(to: $0) }
    }

    /// A float tensor value's name and shape; -1 marks the free batch dimension.
    static func valueInfo(_ name: String, _ dims: [Int]) -> Onnx_ValueInfoProto {
        var info = Onnx_ValueInfoProto()
        info.name = name
        var type = Onnx_TypeProto.Tensor()
        type.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if d < 0 { dim.dimParam = "N" } else { dim.dimValue = Int64(d) }
            return dim
        }
        type.shape = shape
        info.type.tensorType = type
        return info
    }

    /// Emits the nodes of one graph node at a time.
    struct Writer {
        let network: OnnxNetwork
        let shapes: [TensorShape]
        var nodes: [Onnx_NodeProto] = []
        var initializers: [Onnx_TensorProto] = []

        func output(of index: Int) -> String {
            index == 0 ? "input" : index == network.graph.nodes.count - 1 ? "logits" : "t\(index)"
        }

        mutating func emit(_ index: Int) throws {
            let node = network.graph.nodes[index]
            let inputs = node.inputs.map { output(of: $0) }
            let out = output(of: index)
            switch node.op {
            case .input: return
            case let .conv(name, channels, kernel, stride, padding, bias):
                let inChannels = shapes[node.inputs[0]].channels
                var names = inputs + [try weight(name + ".weight", [channels, inChannels, kernel, kernel])]
                if bias { names.append(try weight(name + ".bias", [channels])) }
                add("Conv", names, out, name: name, [ints("kernel_shape", [kernel, kernel]), ints("strides", [stride, stride]),
                                                     ints("pads", Array(repeating: padding, count: 4)), ints("dilations", [1, 1]),
                                                     int("group", 1)])
            case let .batchNorm(name, epsilon):
                let c = shapes[index].channels
                let parts = try [".gamma", ".beta", ".running_mean", ".running_var"].map { try weight(name + $0, [c]) }
                add("BatchNormalization", inputs + parts, out, name: name, [float("epsilon", epsilon)])
            case .activation(let slot): try activation(slot, input: inputs[0], output: out, channels: shapes[index].channels)
            case .add: add("Add", inputs, out, name: "add\(index)", [])
            case let .averagePool(kernel, stride):
                add("AveragePool", inputs, out, name: "pool\(index)", [ints("kernel_shape", [kernel, kernel]), ints("strides", [stride, stride])])
            case .globalAveragePool: add("GlobalAveragePool", inputs, out, name: "gap\(index)", [])
            case let .dense(name, features, bias):
                let flat = "\(name).flat"
                add("Flatten", inputs, flat, name: flat, [int("axis", 1)])
                let inFeatures = shapes[node.inputs[0]].elements
                var names = [flat, try weight(name + ".weight", [features, inFeatures])]
                if bias { names.append(try weight(name + ".bias", [features])) }
                add("Gemm", names, out, name: name, [int("transB", 1)])
            }
        }

        /// ReLU, polynomial (Horner) or a per-channel mix.
        mutating func activation(_ slot: String, input: String, output: String, channels: Int) throws {
            guard let choice = network.activations[slot] else { throw OnnxError.model("slot \(slot) has no activation choice") }
            let degree: Int
            var reluMask: [Float]?
            switch choice {
            case .relu:
                add("Relu", [input], output, name: slot, [])
                return
            case .polynomial(let d): degree = d
            case let .mixed(polynomialChannels, d):
                degree = d
                let polynomial = Set(polynomialChannels)
                reluMask = (0..<channels).map { polynomial.contains($0) ? 0 : 1 }
            }
            guard degree >= 1, let rows = network.coefficients[slot], rows.count == channels, rows.allSatisfy({ $0.count >= degree + 1 }) else {
                throw OnnxError.model("slot \(slot) lacks \(channels) rows of \(degree + 1) coefficients")
            }
            func coefficient(_ k: Int) -> String {
                let name = "\(slot).a\(k)"
                initializers.append(OnnxConstant.proto(name: name, dims: [channels, 1, 1],
                                                       values: (0..<channels).map { reluMask?[$0] == 1 ? 0 : rows[$0][k] }))
                return name
            }
            let polynomialOutput = reluMask == nil ? output : "\(slot).p"
            var y = "\(slot).h\(degree)"
            add("Mul", [input, coefficient(degree)], degree == 0 ? polynomialOutput : y, name: y, [])
            for k in stride(from: degree - 1, through: 0, by: -1) {
                if k < degree - 1 {
                    let product = "\(slot).x\(k)"
                    add("Mul", [y, input], product, name: product, [])
                    y = product
                }
                let sum = k == 0 ? polynomialOutput : "\(slot).h\(k)"
                add("Add", [y, coefficient(k)], sum, name: "\(slot).add\(k)", [])
                y = sum
            }
            if let reluMask {
                add("Relu", [input], "\(slot).r", name: "\(slot).relu", [])
                let mask = "\(slot).mask"
                initializers.append(OnnxConstant.proto(name: mask, dims: [channels, 1, 1], values: reluMask))
                add("Mul", ["\(slot).r", mask], "\(slot).rm", name: "\(slot).masked", [])
                add("Add", ["\(slot).rm", polynomialOutput], output, name: "\(slot).join", [])
            }
        }

        mutating func weight(_ name: String, _ dims: [Int]) throws -> String {
            guard let values = network.weights[name], values.count == dims.reduce(1, *) else {
                throw OnnxError.model("weight \(name) is missing or has \(network.weights[name]?.count ?? 0) values for \(dims)")
            }
            initializers.append(OnnxConstant.proto(name: name, dims: dims, values: values))
            return name
        }

        mutating func add(_ op: String, _ inputs: [String], _ output: String, name: String, _ attributes: [Onnx_AttributeProto]) {
            var node = Onnx_NodeProto()
            node.opType = op
            node.name = name
            node.input = inputs
            node.output = [output]
            node.attribute = attributes
            nodes.append(node)
        }

        func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
            var a = Onnx_AttributeProto()
            a.name = name
            a.type = .ints
            a.ints = values.map { Int64($0) }
            return a
        }

        func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
            var a = Onnx_AttributeProto()
            a.name = name
            a.type = .int
            a.i = Int64(value)
            return a
        }

        func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
            var a = Onnx_AttributeProto()
            a.name = name
            a.type = .float
            a.f = value
            return a
        }
    }
}
