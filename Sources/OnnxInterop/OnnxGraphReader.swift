// Reads an ONNX graph into Sibyl's layer vocabulary (NetworkGraph nodes, a weight table, slot choices and
// coefficients), node by node in the file's topological order, refusing with the node's name whatever a
// Sibyl network cannot compute. What it does with each operator (ONNX operator specs, opsets 7 on):
//   Conv                 conv (square kernel, equal strides and pads, group 1, dilation 1); a bias is
//                        folded into the batch norm that follows, or kept by an identity batch norm
//                        (torch.onnx.export folds batch norm into the convolution in eval mode)
//   BatchNormalization   batch norm; its epsilon is moved into the running variance (Sibyl uses 1e-5)
//   Relu, Mul, Add, Sub, Div, Neg, Pow, Constant   element-wise activations (ChannelFunction.swift)
//   Add of two tensors   residual add
//   AveragePool, GlobalAveragePool, ReduceMean over H and W   pooling
//   Flatten, Reshape to [N, -1], Squeeze of H and W   flatten before the classifier
//   Gemm, MatMul (+ Add of a bias)   dense
//   Identity, Dropout (inference)    nothing
import Foundation
import NetworkPlan
import OnnxFormat

/// A network read from an ONNX file, before it is matched to one of Sibyl's architectures. Graph names are
/// the reader's own (`n<index>`, slots `a<k>`); `origin` says which ONNX node each graph node came from.
struct ImportedGraph {
    var graph: NetworkGraph
    var weights: WeightTable
    var activations: [String: SlotChoice]
    var coefficients: [String: SlotCoefficients]
    var origin: [String]
}

struct OnnxGraphReader {
    /// Sibyl's batch norms all use this epsilon (Tensors.BatchNormStatistics).
    static let epsilon: Float = 1e-5
    static let operators = ["Conv", "BatchNormalization", "Relu", "Add", "Sub", "Mul", "Div", "Neg", "Pow", "Constant",
                            "AveragePool", "GlobalAveragePool", "ReduceMean", "Flatten", "Reshape", "Squeeze", "Gemm",
                            "MatMul", "Identity", "Dropout"]

    /// What to do about operators that common exports contain.
    static let hints = [
        "Shape": "it comes from reshaping by a computed size (x.view(x.size(0), -1)): use torch.flatten(x, 1) or nn.Flatten",
        "Gather": "it comes from reshaping by a computed size (x.view(x.size(0), -1)): use torch.flatten(x, 1) or nn.Flatten",
        "Pad": "zero-padded (option A) shortcuts are not Sibyl's ResNets: use 1x1 convolution shortcuts with batch norm",
        "Slice": "zero-padded (option A) shortcuts are not Sibyl's ResNets: use 1x1 convolution shortcuts with batch norm",
        "MaxPool": "Sibyl's networks pool by averaging (a maximum costs garbled circuits): use AveragePool and retrain",
    ]

    enum Value {
        case constant(OnnxConstant)
        case tensor(Int)
        /// A node's output flattened to [N, C*H*W] (C-H-W order, as Sibyl's dense layer reads it).
        case flat(Int)
        case function(ChannelFunction)
    }

    var nodes: [GraphNode] = []
    var shapes: [TensorShape] = []
    var origin: [String] = []
    var weights: WeightTable = [:]
    var activations: [String: SlotChoice] = [:]
    var coefficients: [String: SlotCoefficients] = [:]
    var values: [String: Value] = [:]
    var consumers: [String: [Onnx_NodeProto]] = [:]
    /// Convolutions whose bias waits for the batch norm that follows them.
    var pendingBias: [Int: [Float]] = [:]
    /// Dense nodes from MatMul, whose bias (if any) comes with the next Add.
    var unbiasedDense: Set<Int> = []

    static func read(_ model: Onnx_ModelProto) throws -> ImportedGraph {
        var reader = OnnxGraphReader()
        return try reader.run(model)
    }

    private mutating func run(_ model: Onnx_ModelProto) throws -> ImportedGraph {
        try Self.checkOpsets(model)
        guard model.hasGraph else { throw OnnxError.model("the file holds no graph") }
        let graph = model.graph
        guard graph.sparseInitializer.isEmpty else {
            throw OnnxError.model("the graph has sparse initializers; save it with dense tensors")
        }
        for tensor in graph.initializer {
            values[tensor.name] = .constant(try OnnxConstant(tensor, what: "initializer '\(tensor.name)'"))
        }
        for node in graph.node {
            for input in node.input where !input.isEmpty { consumers[input, default: []].append(node) }
        }
        try readInput(graph)
        for node in graph.node { try read(node) }
        guard graph.output.count == 1 else {
            throw OnnxError.model("the graph has \(graph.output.count) outputs; Sibyl's networks have one (the logits)")
        }
        let outputName = graph.output[0].name
        guard case .tensor(let last)? = values[outputName], case .dense = nodes[last].op else {
            throw OnnxError.model("the output '\(outputName)' is not the result of a dense (Gemm or MatMul) layer: Sibyl's "
                                  + "networks end in their classifier's logits (remove a final Softmax or other post-processing)")
        }
        return try pruned(to: last)
    }

    // MARK: - Model, input

    static func checkOpsets(_ model: Onnx_ModelProto) throws {
        guard model.functions.isEmpty else {
            throw OnnxError.model("the model defines local functions; export it with them inlined")
        }
        let standard = model.opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }
        guard let version = standard?.version else { throw OnnxError.model("the model imports no standard ONNX opset") }
        guard version >= 7 else {
            throw OnnxError.model("opset \(version) is older than 7; convert it (onnx.version_converter.convert_version(model, 13))")
        }
    }

    private mutating func readInput(_ graph: Onnx_GraphProto) throws {
        let initialized = Set(graph.initializer.map(\.name))
        let inputs = graph.input.filter { !initialized.contains($0.name) }
        guard inputs.count == 1, let input = inputs.first else {
            throw OnnxError.model("the graph has \(inputs.count) inputs besides its weights; Sibyl's networks take one image batch")
        }
        guard Int(input.type.tensorType.elemType) == Onnx_TensorProto.DataType.float.rawValue else {
            throw OnnxError.model("input '\(input.name)' is not float32; export the model with a float32 input")
        }
        let dims = input.type.tensorType.shape.dim
        let fixed: [Int?] = dims.map { if case .dimValue(let v)? = $0.value { return Int(v) } else { return nil } }
        let expected = [3, 32, 32]
        guard dims.count == 4, Array(fixed.dropFirst()) == expected.map({ Optional($0) }), fixed[0] == nil || fixed[0] == 1 else {
            let shown = zip(dims, fixed).map { dim, value in value.map(String.init) ?? (dim.dimParam.isEmpty ? "?" : dim.dimParam) }
            throw OnnxError.model("input '\(input.name)' has shape [\(shown.joined(separator: ", "))]; Sibyl's networks take "
                                  + "[N, 3, 32, 32] images (N free or 1; the other dimensions fixed, not dynamic)")
        }
        try append(GraphNode(.input(TensorShape(channels: 3, height: 32, width: 32)), inputs: []), from: "input '\(input.name)'")
        values[input.name] = .tensor(0)
    }

    // MARK: - Nodes

    static func describe(_ node: Onnx_NodeProto) -> String {
        "'\(node.name.isEmpty ? (node.output.first ?? "?") : node.name)' (\(node.opType))"
    }

    private mutating func read(_ node: Onnx_NodeProto) throws {
        let name = Self.describe(node)
        func fail(_ reason: String) -> OnnxError { .node(name, reason: reason) }
        guard node.domain.isEmpty || node.domain == "ai.onnx" else {
            throw fail("operator domain '\(node.domain)' is not the standard ONNX domain")
        }
        let result: Value
        switch node.opType {
        case "Constant": result = .constant(try constantAttribute(node, fail))
        case "Identity": result = try value(node, 0, fail)
        case "Dropout":
            if node.input.count > 2, !node.input[2].isEmpty, case .constant(let training) = try value(node, 2, fail),
               training.values.contains(where: { $0 != 0 }) {
                throw fail("Dropout in training mode; export the model in eval mode (model.eval())")
            }
            try requireUnused(node, outputsAfter: 1, fail)
            result = try value(node, 0, fail)
        case "Conv": result = .tensor(try conv(node, fail))
        case "BatchNormalization": result = .tensor(try batchNorm(node, fail))
        case "Relu":
            let f = try function(of: value(node, 0, fail), channelsLike: nil, fail)
            guard f.isIdentity else { throw fail("Relu of a polynomial or of a ReLU is no activation Sibyl computes") }
            result = .function(ChannelFunction(base: f.base, poly: Array(repeating: [0], count: f.channels),
                                               relu: Array(repeating: 1, count: f.channels)))
        case "Add", "Sub", "Mul", "Div": result = try arithmetic(node, fail)
        case "Neg":
            let f = try function(of: value(node, 0, fail), channelsLike: nil, fail)
            result = .function(f.scaled(Array(repeating: -1, count: f.channels)))
        case "Pow":
            let f = try function(of: value(node, 0, fail), channelsLike: nil, fail)
            guard case .constant(let e) = try value(node, 1, fail), e.count == 1, let exponent = Int(exactly: e.values[0]),
                  (1...6).contains(exponent) else { throw fail("Pow needs a constant integer exponent 1...6") }
            var power = f
            for _ in 1..<exponent {
                guard let next = power.multiplied(by: f) else { throw fail("a power of a ReLU is no activation Sibyl computes") }
                power = next
            }
            result = .function(power)
        case "GlobalAveragePool":
            result = .tensor(try append(GraphNode(.globalAveragePool, inputs: [tensor(node, 0, fail)]), from: name))
        case "ReduceMean": result = try reduceMean(node, fail)
        case "AveragePool": result = .tensor(try averagePool(node, fail))
        case "Flatten":
            guard (int(node, "axis") ?? 1) == 1 else { throw fail("Flatten with an axis other than 1") }
            result = .flat(try tensor(node, 0, fail))
        case "Reshape": result = try reshape(node, fail)
        case "Squeeze": result = try squeeze(node, fail)
        case "Gemm": result = .tensor(try gemm(node, fail))
        case "MatMul": result = .tensor(try matMul(node, fail))
        case "Softmax", "LogSoftmax":
            throw fail("Sibyl's networks output logits; export the model without its final \(node.opType) (top-1 is the same)")
        default:
            throw fail("\(node.opType) is not an operator Sibyl's networks use (supported: \(Self.operators.joined(separator: ", "))); "
                       + (Self.hints[node.opType] ?? "replace it in the model (e.g. MaxPool by AveragePool) and retrain or fine-tune"))
        }
        guard let output = node.output.first, !output.isEmpty else { throw fail("the node has no output") }
        values[output] = result
    }

    func requireUnused(_ node: Onnx_NodeProto, outputsAfter first: Int, _ fail: (String) -> OnnxError) throws {
        for output in node.output.dropFirst(first) where !output.isEmpty && consumers[output] != nil {
            throw fail("output '\(output)' (a training-mode output) is used; export the model in eval mode")
        }
    }

    // MARK: - Values

    func value(_ node: Onnx_NodeProto, _ index: Int, _ fail: (String) -> OnnxError) throws -> Value {
        guard index < node.input.count, !node.input[index].isEmpty else { throw fail("input \(index) is missing") }
        guard let value = values[node.input[index]] else {
            throw fail("input '\(node.input[index])' is produced by no earlier node (the graph must be topologically sorted)")
        }
        return value
    }

    func constant(_ node: Onnx_NodeProto, _ index: Int, _ fail: (String) -> OnnxError) throws -> OnnxConstant {
        guard case .constant(let c) = try value(node, index, fail) else {
            throw fail("input \(index) ('\(node.input[index])') must be a constant (an initializer), not computed")
        }
        return c
    }

    /// The graph node holding input `index`, adding the activation slot an element-wise chain ends in.
    mutating func tensor(_ node: Onnx_NodeProto, _ index: Int, _ fail: (String) -> OnnxError) throws -> Int {
        switch try value(node, index, fail) {
        case .tensor(let n): return n
        case .flat: throw fail("input '\(node.input[index])' was flattened; only the classifier (Gemm, MatMul) may read it")
        case .constant: throw fail("input '\(node.input[index])' is a constant where Sibyl expects the image's activations")
        case .function(let f):
            let n = try materialize(f, from: Self.describe(node))
            values[node.input[index]] = .tensor(n)
            return n
        }
    }

    private func function(of value: Value, channelsLike other: Value?, _ fail: (String) -> OnnxError) throws -> ChannelFunction {
        switch value {
        case .tensor(let n): return .identity(base: n, channels: shapes[n].channels)
        case .function(let f): return f
        case .flat: throw fail("element-wise arithmetic on a flattened tensor (only a classifier bias may follow the flatten)")
        case .constant(let c):
            guard let other, let like = try? function(of: other, channelsLike: nil, fail) else {
                throw fail("arithmetic on constants only; fold constants before exporting (onnxsim, or do_constant_folding=True)")
            }
            return .constant(try perChannel(c, channels: like.channels, fail), base: like.base)
        }
    }

    /// A constant that broadcasts channel by channel over [N, C, H, W]: one value, or C values shaped [C, 1, 1] or [1, C, 1, 1].
    private func perChannel(_ c: OnnxConstant, channels: Int, _ fail: (String) -> OnnxError) throws -> [Double] {
        // ONNX broadcasts from the last axis: over [N, C, H, W] only [C, 1, 1] and [1, C, 1, 1] line up with channels.
        if c.count == 1, c.dims.count <= 4 { return Array(repeating: c.values[0], count: channels) }
        guard c.dims == [channels, 1, 1] || c.dims == [1, channels, 1, 1] else {
            throw fail("constant of shape \(c.dims) does not broadcast per channel over \(channels) channels "
                       + "(use one value, or shape [\(channels), 1, 1] / [1, \(channels), 1, 1])")
        }
        return c.values
    }

    private mutating func arithmetic(_ node: Onnx_NodeProto, _ fail: (String) -> OnnxError) throws -> Value {
        let a = try value(node, 0, fail), b = try value(node, 1, fail)
        // A classifier's bias: MatMul followed by Add of a constant.
        if node.opType == "Add" {
            for (x, y) in [(a, b), (b, a)] {
                if case .tensor(let n) = x, unbiasedDense.contains(n), case .constant(let bias) = y {
                    guard case .dense(let name, let out, _) = nodes[n].op, bias.count == out || bias.count == 1 else {
                        throw fail("bias of \(bias.count) values for a classifier of \(shapes[n].channels) outputs")
                    }
                    weights["\(name).bias"] = bias.count == 1 ? Array(repeating: Float(bias.values[0]), count: out) : bias.floats
                    unbiasedDense.remove(n)
                    return .tensor(n)
                }
            }
        }
        let f = try function(of: a, channelsLike: b, fail), g = try function(of: b, channelsLike: a, fail)
        if f.base != g.base {
            guard node.opType == "Add" else {
                throw fail("\(node.opType) of two different tensors is no layer Sibyl computes (only Add, as a residual connection)")
            }
            // Through `tensor`, so that an operand read again later (a block's input) is the same node.
            let left = try tensor(node, 0, fail), right = try tensor(node, 1, fail)
            return .tensor(try append(GraphNode(.add, inputs: [left, right]), from: Self.describe(node)))
        }
        switch node.opType {
        case "Add": return .function(f.adding(g))
        case "Sub": return .function(f.adding(g.scaled(Array(repeating: -1, count: g.channels))))
        case "Mul":
            guard let product = f.multiplied(by: g) else { throw fail("a product with a ReLU is no activation Sibyl computes") }
            return .function(product)
        default:
            guard let k = g.constantTerms, k.allSatisfy({ $0 != 0 }) else {
                throw fail("Div only by a non-zero constant")
            }
            return .function(f.scaled(k.map { 1 / $0 }))
        }
    }

    /// The graph node computing `f`: its base if it is the identity, else a new activation slot.
    private mutating func materialize(_ f: ChannelFunction, from name: String) throws -> Int {
        if f.isIdentity { return f.base }
        func fail(_ reason: String) -> OnnxError { .node(name, reason: "its input " + reason) }
        let degree = f.degree
        var reluChannels: [Int] = [], polynomialChannels: [Int] = []
        for c in 0..<f.channels {
            if f.relu[c] == 1, ChannelFunction.degree(of: f.poly[c]) < 0 { reluChannels.append(c); continue }
            guard f.relu[c] == 0 else {
                throw fail("is \(f.relu[c]) x max(x, 0) + a polynomial in channel \(c): a channel is either a ReLU or a polynomial")
            }
            guard ChannelFunction.degree(of: f.poly[c]) >= 1 else {
                throw fail("is constant in channel \(c): an activation must depend on its input")
            }
            polynomialChannels.append(c)
        }
        let slot = "a\(activations.count)"
        if polynomialChannels.isEmpty {
            activations[slot] = .relu
        } else {
            guard PlanManifest.supportedPolynomialDegrees.contains(degree) else {
                throw fail("is a polynomial of degree \(degree); Sibyl evaluates degrees \(PlanManifest.supportedPolynomialDegrees)")
            }
            activations[slot] = reluChannels.isEmpty ? .polynomial(degree: degree)
                : .mixed(polynomialChannels: polynomialChannels, degree: degree)
            coefficients[slot] = f.poly.map { terms in (0...degree).map { Float($0 < terms.count ? terms[$0] : 0) } }
        }
        return try append(GraphNode(.activation(slot: slot), inputs: [f.base]), from: name)
    }

    @discardableResult
    mutating func append(_ node: GraphNode, from name: String) throws -> Int {
        nodes.append(node)
        origin.append(name)
        do { shapes = try NetworkGraph(nodes: nodes).validate() } catch {
            throw OnnxError.node(name, reason: "\(error)")
        }
        return nodes.count - 1
    }
}
