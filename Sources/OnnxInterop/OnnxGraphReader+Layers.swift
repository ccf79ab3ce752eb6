// The layers of an ONNX graph that become graph nodes: convolution, batch norm, pooling, flatten and the
// classifier; and the constants and attributes they read (ONNX operator specs, opsets 7 on).
import Foundation
import NetworkPlan
import OnnxFormat

extension OnnxGraphReader {
    // MARK: - Attributes

    func attribute(_ node: Onnx_NodeProto, _ name: String) -> Onnx_AttributeProto? { node.attribute.first { $0.name == name } }
    func int(_ node: Onnx_NodeProto, _ name: String) -> Int? { attribute(node, name).map { Int($0.i) } }
    func ints(_ node: Onnx_NodeProto, _ name: String) -> [Int]? { attribute(node, name).map { $0.ints.map { Int($0) } } }
    func float(_ node: Onnx_NodeProto, _ name: String) -> Float? { attribute(node, name).map(\.f) }
    func string(_ node: Onnx_NodeProto, _ name: String) -> String? {
        attribute(node, name).map { String(decoding: $0.s, as: UTF8.self) }
    }

    func constantAttribute(_ node: Onnx_NodeProto, _ fail: (String) -> OnnxError) throws -> OnnxConstant {
        if let t = attribute(node, "value") { return try OnnxConstant(t.t, what: "Constant \(Self.describe(node))") }
        if let f = attribute(node, "value_float") { return OnnxConstant(dims: [], values: [Double(f.f)], isFloat: true) }
        if let f = attribute(node, "value_floats") { return OnnxConstant(dims: [f.floats.count], values: f.floats.map(Double.init), isFloat: true) }
        if let i = attribute(node, "value_int") { return OnnxConstant(dims: [], values: [Double(i.i)], isFloat: false) }
        if let i = attribute(node, "value_ints") { return OnnxConstant(dims: [i.ints.count], values: i.ints.map(Double.init), isFloat: false) }
        throw fail("a Constant of a kind Sibyl does not read (sparse or string)")
    }

    /// Axes given as an attribute (older opsets) or as a constant second input (ReduceMean 18, Squeeze 13).
    func axes(_ node: Onnx_NodeProto, rank: Int, _ fail: (String) -> OnnxError) throws -> Set<Int>? {
        var list = ints(node, "axes")
        if list == nil, node.input.count > 1, !node.input[1].isEmpty { list = try Self.integers(constant(node, 1, fail), fail) }
        return list.map { Set($0.map { $0 < 0 ? $0 + rank : $0 }) }
    }

    /// An int64 constant's values as Ints (axes, shapes), refusing values no Int holds.
    static func integers(_ c: OnnxConstant, _ fail: (String) -> OnnxError) throws -> [Int] {
        try c.values.map { value in
            guard let n = Int(exactly: value) else { throw fail("integer constant \(value) is out of range") }
            return n
        }
    }

    // MARK: - Convolution and batch norm

    mutating func conv(_ node: Onnx_NodeProto, _ fail: (String) -> OnnxError) throws -> Int {
        let x = try tensor(node, 0, fail)
        let w = try constant(node, 1, fail)
        guard w.isFloat, w.dims.count == 4, w.dims[2] == w.dims[3] else {
            throw fail("weight of shape \(w.dims); Sibyl's convolutions have float32 [out, in, k, k] weights (square kernels)")
        }
        let (out, kernel) = (w.dims[0], w.dims[2])
        let group = int(node, "group") ?? 1
        guard group == 1 else { throw fail("group \(group): grouped and depthwise convolutions are not layers Sibyl computes") }
        guard w.dims[1] == shapes[x].channels else {
            throw fail("weight reads \(w.dims[1]) channels but its input has \(shapes[x].channels)")
        }
        if let shape = ints(node, "kernel_shape"), shape != [kernel, kernel] { throw fail("kernel_shape \(shape) differs from the weight's") }
        guard (ints(node, "dilations") ?? [1, 1]).allSatisfy({ $0 == 1 }) else { throw fail("dilated convolutions are not layers Sibyl computes") }
        let strides = ints(node, "strides") ?? [1, 1]
        guard strides.count == 2, strides[0] == strides[1], strides[0] >= 1 else { throw fail("strides \(strides); Sibyl needs equal strides") }
        var pads = ints(node, "pads") ?? [0, 0, 0, 0]
        switch string(node, "auto_pad") ?? "NOTSET" {
        case "NOTSET", "": break
        case "VALID": pads = [0, 0, 0, 0]
        case "SAME_UPPER" where strides[0] == 1 && kernel % 2 == 1, "SAME_LOWER" where strides[0] == 1 && kernel % 2 == 1: pads = Array(repeating: (kernel - 1) / 2, count: 4)
        case let mode: throw fail("auto_pad \(mode) with stride \(strides[0]) and kernel \(kernel) pads unevenly; give explicit pads")
        }
        guard pads.count == 4, Set(pads).count == 1, pads[0] >= 0 else { throw fail("pads \(pads); Sibyl needs the same padding on every side") }
        var bias: [Float]?
        if node.input.count > 2, !node.input[2].isEmpty {
            let b = try constant(node, 2, fail)
            guard b.isFloat, b.count == out else { throw fail("bias of \(b.count) values for \(out) output channels") }
            bias = b.floats
        }
        let name = "n\(nodes.count)"
        weights[name + ".weight"] = w.floats
        let c = try append(GraphNode(.conv(name: name, outChannels: out, kernel: kernel, stride: strides[0], padding: pads[0], bias: false),
                                     inputs: [x]), from: Self.describe(node))
        let users = consumers[node.output.first ?? ""] ?? []
        if users.count == 1, users[0].opType == "BatchNormalization", users[0].input.first == node.output.first {
            pendingBias[c] = bias ?? Array(repeating: 0, count: out)
            return c
        }
        // No batch norm of its own (torch.onnx.export folds it into the convolution): an identity batch norm
        // carries the bias, since Sibyl's convolutions are bias-free and always followed by one.
        let bn = "n\(nodes.count)"
        weights[bn + ".gamma"] = Array(repeating: 1, count: out)
        weights[bn + ".beta"] = bias ?? Array(repeating: 0, count: out)
        weights[bn + ".running_mean"] = Array(repeating: 0, count: out)
        weights[bn + ".running_var"] = Array(repeating: 1 - Self.epsilon, count: out)
        return try append(GraphNode(.batchNorm(name: bn, epsilon: Self.epsilon), inputs: [c]), from: Self.describe(node))
    }

    mutating func batchNorm(_ node: Onnx_NodeProto, _ fail: (String) -> OnnxError) throws -> Int {
        let x = try tensor(node, 0, fail)
        let channels = shapes[x].channels
        let parts = try (1...4).map { try constant(node, $0, fail) }
        for (index, part) in parts.enumerated() where !part.isFloat || part.count != channels {
            throw fail("input \(index + 1) holds \(part.count) values for \(channels) channels (float32 expected)")
        }
        guard (int(node, "training_mode") ?? 0) == 0, (int(node, "spatial") ?? 1) == 1 else {
            throw fail("a training-mode or non-spatial batch norm; export the model in eval mode")
        }
        try requireUnused(node, outputsAfter: 1, fail)
        let epsilon = Double(float(node, "epsilon") ?? 1e-5)
        var mean = parts[2].values
        if let bias = pendingBias.removeValue(forKey: x) {
            for c in 0..<channels { mean[c] -= Double(bias[c]) }
        }
        // Sibyl's epsilon is fixed; var + epsilon is what the layer divides by, so the difference moves into var.
        let variance = parts[3].values.map { $0 + epsilon - Double(Self.epsilon) }
        guard variance.allSatisfy({ $0.isFinite && Float($0) + Self.epsilon > 0 }) else {
            throw fail("running variance + epsilon is not positive")
        }
        let name = "n\(nodes.count)"
        weights[name + ".gamma"] = parts[0].floats
        weights[name + ".beta"] = parts[1].floats
        weights[name + ".running_mean"] = mean.map { Float($0) }
        weights[name + ".running_var"] = zip(parts[3].values, variance).map { $0.0 == $0.1 ? Float($0.0) : Float($0.1) }
        return try append(GraphNode(.batchNorm(name: name, epsilon: Self.epsilon), inputs: [x]), from: Self.describe(node))
    }

    // MARK: - Pooling and flattening

    mutating func averagePool(_ node: Onnx_NodeProto, _ fail: (String) -> OnnxError) throws -> Int {
        let x = try tensor(node, 0, fail)
        guard let kernel = ints(node, "kernel_shape"), kernel.count == 2, kernel[0] == kernel[1] else {
            throw fail("Sibyl's average pools have square windows")
        }
        let strides = ints(node, "strides") ?? [1, 1]
        guard strides.count == 2, strides[0] == strides[1] else { throw fail("strides \(strides); Sibyl needs equal strides") }
        guard (ints(node, "dilations") ?? [1, 1]).allSatisfy({ $0 == 1 }) else { throw fail("dilated average pooling is not a layer Sibyl computes") }
        guard (ints(node, "pads") ?? [0, 0, 0, 0]).allSatisfy({ $0 == 0 }), (int(node, "ceil_mode") ?? 0) == 0,
              ["NOTSET", "VALID", ""].contains(string(node, "auto_pad") ?? "NOTSET") else {
            throw fail("padded or ceil-mode average pooling; Sibyl's average pools read whole windows only")
        }
        // A window over the whole plane (F.avg_pool2d(x, x.size(3)) in many CIFAR ResNets) is the global pool.
        if kernel[0] == shapes[x].height, kernel[0] == shapes[x].width {
            return try append(GraphNode(.globalAveragePool, inputs: [x]), from: Self.describe(node))
        }
        return try append(GraphNode(.averagePool(kernel: kernel[0], stride: strides[0]), inputs: [x]), from: Self.describe(node))
    }

    mutating func reduceMean(_ node: Onnx_NodeProto, _ fail: (String) -> OnnxError) throws -> Value {
        guard try axes(node, rank: 4, fail) == [2, 3] else { throw fail("ReduceMean over other axes than height and width") }
        let pool = try append(GraphNode(.globalAveragePool, inputs: [tensor(node, 0, fail)]), from: Self.describe(node))
        return (int(node, "keepdims") ?? 1) == 1 ? .tensor(pool) : .flat(pool)
    }

    /// A node's output as the classifier reads it: flattened to [N, C*H*W].
    private func flattened(_ node: Onnx_NodeProto, _ fail: (String) -> OnnxError) throws -> Int {
        switch try value(node, 0, fail) {
        case .flat(let n): return n
        default: throw fail("the classifier's input must be flattened first (Flatten, or GlobalAveragePool then Flatten)")
        }
    }

    mutating func reshape(_ node: Onnx_NodeProto, _ fail: (String) -> OnnxError) throws -> Value {
        let shape = try Self.integers(constant(node, 1, fail), fail)
        let n: Int
        switch try value(node, 0, fail) {
        case .flat(let m): n = m
        default: n = try tensor(node, 0, fail)
        }
        let elements = shapes[n].elements
        guard shape.count == 2, [-1, 0, 1].contains(shape[0]) || shape[1] == -1, shape[1] == -1 || shape[1] == elements else {
            throw fail("Reshape to \(shape); Sibyl reads only a flatten to [N, \(elements)] here (torch.flatten(x, 1))")
        }
        return .flat(n)
    }

    mutating func squeeze(_ node: Onnx_NodeProto, _ fail: (String) -> OnnxError) throws -> Value {
        let n = try tensor(node, 0, fail)
        guard shapes[n].height == 1, shapes[n].width == 1, try axes(node, rank: 4, fail) ?? [2, 3] == [2, 3] else {
            throw fail("Squeeze other than of the 1 x 1 spatial axes after global pooling")
        }
        return .flat(n)
    }

    // MARK: - Classifier

    mutating func gemm(_ node: Onnx_NodeProto, _ fail: (String) -> OnnxError) throws -> Int {
        let x = try flattened(node, fail)
        let b = try constant(node, 1, fail)
        guard (int(node, "transA") ?? 0) == 0 else { throw fail("transA = 1 (the batch must be the first axis)") }
        let transposed = (int(node, "transB") ?? 0) == 1
        guard b.isFloat, b.dims.count == 2 else { throw fail("weight of shape \(b.dims) (a float32 matrix expected)") }
        let (out, inFeatures) = transposed ? (b.dims[0], b.dims[1]) : (b.dims[1], b.dims[0])
        guard inFeatures == shapes[x].elements else {
            throw fail("weight reads \(inFeatures) features but its input has \(shapes[x].elements)")
        }
        let alpha = Double(float(node, "alpha") ?? 1), beta = Double(float(node, "beta") ?? 1)
        var bias = [Float](repeating: 0, count: out)
        if node.input.count > 2, !node.input[2].isEmpty {
            let c = try constant(node, 2, fail)
            guard c.isFloat, c.count == out || c.count == 1 else { throw fail("bias of \(c.count) values for \(out) outputs") }
            bias = (0..<out).map { Float(beta * c.values[c.count == 1 ? 0 : $0]) }
        }
        return try dense(x, weight: b.values, out: out, inFeatures: inFeatures, transposed: !transposed, scale: alpha,
                         bias: bias, from: Self.describe(node))
    }

    mutating func matMul(_ node: Onnx_NodeProto, _ fail: (String) -> OnnxError) throws -> Int {
        let x = try flattened(node, fail)
        let b = try constant(node, 1, fail)
        guard b.isFloat, b.dims.count == 2, b.dims[0] == shapes[x].elements else {
            throw fail("weight of shape \(b.dims) for \(shapes[x].elements) input features ([in, out] float32 expected)")
        }
        let n = try dense(x, weight: b.values, out: b.dims[1], inFeatures: b.dims[0], transposed: true, scale: 1,
                          bias: Array(repeating: 0, count: b.dims[1]), from: Self.describe(node))
        unbiasedDense.insert(n)
        return n
    }

    /// A dense node; `weight` is [out][in], or [in][out] when `transposed`.
    private mutating func dense(_ x: Int, weight: [Double], out: Int, inFeatures: Int, transposed: Bool, scale: Double,
                                bias: [Float], from name: String) throws -> Int {
        let table = (0..<out * inFeatures).map { index -> Float in
            let (o, i) = (index / inFeatures, index % inFeatures)
            return Float(scale * weight[transposed ? i * out + o : index])
        }
        let layer = "n\(nodes.count)"
        weights[layer + ".weight"] = table
        weights[layer + ".bias"] = bias
        return try append(GraphNode(.dense(name: layer, outFeatures: out, bias: true), inputs: [x]), from: name)
    }

    // MARK: - Result

    /// The nodes the output depends on, renumbered in order (unused branches of the file are dropped).
    func pruned(to output: Int) throws -> ImportedGraph {
        var needed = Set([output])
        for index in stride(from: output, through: 0, by: -1) where needed.contains(index) {
            needed.formUnion(nodes[index].inputs)
        }
        var renumbered: [Int: Int] = [:]
        var kept: [GraphNode] = [], keptOrigin: [String] = []
        var names: Set<String> = []
        for index in 0...output where needed.contains(index) {
            var node = nodes[index]
            node.inputs = node.inputs.map { renumbered[$0]! }
            renumbered[index] = kept.count
            kept.append(node)
            keptOrigin.append(origin[index])
            switch node.op {
            case .conv(let name, _, _, _, _, _), .batchNorm(let name, _), .dense(let name, _, _): names.insert(name)
            case .activation(let slot): names.insert(slot)
            default: break
            }
        }
        let graph = NetworkGraph(nodes: kept)
        try graph.validate()
        return ImportedGraph(graph: graph,
                             weights: weights.filter { names.contains(String($0.key.split(separator: ".")[0])) },
                             activations: activations.filter { names.contains($0.key) },
                             coefficients: coefficients.filter { names.contains($0.key) }, origin: keptOrigin)
    }
}
