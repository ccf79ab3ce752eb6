// The weights-free architecture of a network: a DAG of layers, shared by the training side (which builds
// it from a model) and the secure runtime (which compiles it into per-layer protocols). Weights are
// addressed by name and live in weights.h5 (module PlanStore).

/// Channels x height x width of one image's tensor at a node (the batch dimension is implicit).
public struct TensorShape: Codable, Hashable, Sendable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    public var elements: Int { channels * height * width }
    public var description: String { "\(channels)x\(height)x\(width)" }
}

/// One layer. Parameter names refer to datasets in the weights file (`<name>.weight`, `<name>.bias`).
public enum LayerOp: Codable, Hashable, Sendable {
    /// The network input (CIFAR: 3x32x32).
    case input(TensorShape)
    /// 2-D convolution; weight layout [out][in][kh][kw].
    case conv(name: String, outChannels: Int, kernel: Int, stride: Int, padding: Int, bias: Bool)
    /// Batch normalisation with parameters `<name>.gamma`, `.beta`, `.running_mean`, `.running_var`.
    /// Present in graphs built from training models; folded into the preceding convolution at export.
    case batchNorm(name: String, epsilon: Float)
    /// An activation slot; what it computes is the plan's choice for `slot`.
    case activation(slot: String)
    /// Element-wise sum of the two inputs (residual connection).
    case add
    /// Average pooling with a square window.
    case averagePool(kernel: Int, stride: Int)
    /// Mean over height and width: C x H x W -> C x 1 x 1.
    case globalAveragePool
    /// Fully connected layer on the flattened input; weight layout [out][in], in in C-H-W order.
    case dense(name: String, outFeatures: Int, bias: Bool)

    public var kindName: String {
        switch self {
        case .input: return "input"
        case .conv: return "conv"
        case .batchNorm: return "batch_norm"
        case .activation: return "activation"
        case .add: return "add"
        case .averagePool: return "average_pool"
        case .globalAveragePool: return "global_average_pool"
        case .dense: return "dense"
        }
    }

    public var isLinear: Bool {
        switch self {
        case .activation, .input: return false
        default: return true
        }
    }
}

public struct GraphNode: Codable, Hashable, Sendable {
    public var op: LayerOp
    /// Indices of earlier nodes this node reads.
    public var inputs: [Int]

    public init(_ op: LayerOp, inputs: [Int]) {
        self.op = op
        self.inputs = inputs
    }
}

public enum NetworkGraphError: Error, CustomStringConvertible, Equatable {
    case invalid(node: Int, reason: String)

    public var description: String {
        switch self {
        case .invalid(let node, let reason): return "network graph, node \(node): \(reason)"
        }
    }
}

/// Nodes in topological order (every input index is smaller than the node's own); the last node is the
/// output. `validate` checks arity and shapes and returns the shape of every node.
public struct NetworkGraph: Codable, Hashable, Sendable {
    public var nodes: [GraphNode]

    public init(nodes: [GraphNode]) { self.nodes = nodes }

    /// Output shape of every node, or a precise error.
    @discardableResult
    public func validate() throws -> [TensorShape] {
        guard case .input = nodes.first?.op else {
            throw NetworkGraphError.invalid(node: 0, reason: "the first node must be the input")
        }
        var shapes: [TensorShape] = []
        var slots: Set<String> = []
        var names: Set<String> = []
        for (index, node) in nodes.enumerated() {
            func fail(_ reason: String) -> NetworkGraphError { .invalid(node: index, reason: reason) }
            for input in node.inputs where input < 0 || input >= index {
                throw fail("input \(input) is not an earlier node")
            }
            let ins = node.inputs.map { shapes[$0] }
            func expectInputs(_ count: Int) throws {
                guard ins.count == count else { throw fail("\(node.op.kindName) needs \(count) input(s), has \(ins.count)") }
            }
            func claim(_ name: String) throws {
                guard names.insert(name).inserted else { throw fail("parameter name \(name) is used twice") }
            }
            let shape: TensorShape
            switch node.op {
            case .input(let s):
                guard index == 0, ins.isEmpty else { throw fail("only node 0 may be the input") }
                guard s.elements > 0 else { throw fail("input shape \(s) is empty") }
                shape = s
            case .conv(let name, let out, let kernel, let stride, let padding, _):
                try expectInputs(1)
                try claim(name)
                guard out > 0, kernel > 0, stride > 0, padding >= 0 else {
                    throw fail("conv \(name): channels, kernel and stride must be positive, padding non-negative")
                }
                let h = (ins[0].height + 2 * padding - kernel) / stride + 1
                let w = (ins[0].width + 2 * padding - kernel) / stride + 1
                guard h > 0, w > 0 else { throw fail("conv \(name): kernel \(kernel) larger than padded input \(ins[0])") }
                shape = TensorShape(channels: out, height: h, width: w)
            case .batchNorm(let name, let epsilon):
                try expectInputs(1)
                try claim(name)
                guard epsilon > 0 else { throw fail("batch norm \(name): epsilon must be positive") }
                shape = ins[0]
            case .activation(let slot):
                try expectInputs(1)
                guard slots.insert(slot).inserted else { throw fail("activation slot \(slot) appears twice") }
                shape = ins[0]
            case .add:
                try expectInputs(2)
                guard ins[0] == ins[1] else { throw fail("add of different shapes \(ins[0]) and \(ins[1])") }
                shape = ins[0]
            case .averagePool(let kernel, let stride):
                try expectInputs(1)
                guard kernel > 0, stride > 0, ins[0].height >= kernel, ins[0].width >= kernel else {
                    throw fail("average pool \(kernel)/\(stride) does not fit input \(ins[0])")
                }
                shape = TensorShape(channels: ins[0].channels, height: (ins[0].height - kernel) / stride + 1,
                                    width: (ins[0].width - kernel) / stride + 1)
            case .globalAveragePool:
                try expectInputs(1)
                shape = TensorShape(channels: ins[0].channels, height: 1, width: 1)
            case .dense(let name, let out, _):
                try expectInputs(1)
                try claim(name)
                guard out > 0 else { throw fail("dense \(name): output features must be positive") }
                shape = TensorShape(channels: out, height: 1, width: 1)
            }
            shapes.append(shape)
        }
        return shapes
    }

    /// Activation slots in graph order, with their sizes.
    public func slots() throws -> [SlotDescriptor] {
        let shapes = try validate()
        return nodes.enumerated().compactMap { index, node in
            guard case .activation(let slot) = node.op else { return nil }
            let shape = shapes[index]
            return SlotDescriptor(name: slot, channels: shape.channels, elements: shape.elements)
        }
    }

    /// Parameter datasets each layer expects, with their shapes: what a weights file must provide.
    public func expectedParameters() throws -> [String: [Int]] {
        let shapes = try validate()
        var result: [String: [Int]] = [:]
        for node in nodes {
            let input = node.inputs.first.map { shapes[$0] }
            switch node.op {
            case .conv(let name, let out, let kernel, _, _, let bias):
                result["\(name).weight"] = [out, input!.channels, kernel, kernel]
                if bias { result["\(name).bias"] = [out] }
            case .batchNorm(let name, _):
                for part in ["gamma", "beta", "running_mean", "running_var"] { result["\(name).\(part)"] = [input!.channels] }
            case .dense(let name, let out, let bias):
                result["\(name).weight"] = [out, input!.elements]
                if bias { result["\(name).bias"] = [out] }
            default:
                break
            }
        }
        return result
    }
}
