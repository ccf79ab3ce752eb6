// plan.json's encoding. Schema 3 writes plain types (Plans/FORMAT.md): graph nodes as
// {"op": "conv", "inputs": [0], "name": ..., "out_channels": ...}, activation choices as
// {"kind": "relu"} / {"kind": "polynomial", "degree": 4} / {"kind": "mixed", ...}, the input's layout and
// pixel scaling named. Schemas 1 and 2 used the Swift types' own encodings ({"op": {"conv": {...}}},
// {"relu": {}}); they are still read. The digest hashes the in-memory values, not this encoding.

extension PlanManifest {
    enum CodingKeys: String, CodingKey {
        case schemaVersion, name, graph, activations, fixedPoint, input, classNames, accuracy, predicted, provenance,
             digest, program, overflow
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decode(Int.self, forKey: .schemaVersion)
        name = try c.decode(String.self, forKey: .name)
        if schemaVersion < 3 && c.contains(.program) {
            throw DecodingError.dataCorruptedError(forKey: .schemaVersion, in: c, debugDescription:
                "schema \(schemaVersion) plans have no program, yet this one has: the schema version was edited")
        }
        if schemaVersion >= 3 {
            graph = try NetworkGraph(nodes: c.decode([PlainNode].self, forKey: .graph).enumerated().map { try $1.node(index: $0) })
            activations = try c.decode([String: PlainChoice].self, forKey: .activations).mapValues { try $0.choice() }
            input = try c.decode(PlainInput.self, forKey: .input).spec()
        } else {
            graph = try c.decode(NetworkGraph.self, forKey: .graph)
            activations = try c.decode([String: SlotChoice].self, forKey: .activations)
            input = try c.decode(InputSpec.self, forKey: .input)
        }
        fixedPoint = try c.decode(FixedPointConfig.self, forKey: .fixedPoint)
        classNames = try c.decode([String].self, forKey: .classNames)
        accuracy = try c.decode([AccuracyRecord].self, forKey: .accuracy)
        predicted = try c.decodeIfPresent(PredictedCost.self, forKey: .predicted)
        provenance = try c.decode(Provenance.self, forKey: .provenance)
        digest = try c.decodeIfPresent(PlanDigest.self, forKey: .digest)
        program = try c.decodeIfPresent(ProgramDocument.self, forKey: .program)
        overflow = try c.decodeIfPresent([OverflowRecord].self, forKey: .overflow)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(name, forKey: .name)
        if schemaVersion >= 3 {
            try c.encode(graph.nodes.map(PlainNode.init), forKey: .graph)
            try c.encode(activations.mapValues(PlainChoice.init), forKey: .activations)
            try c.encode(PlainInput(input), forKey: .input)
        } else {
            try c.encode(graph, forKey: .graph)
            try c.encode(activations, forKey: .activations)
            try c.encode(input, forKey: .input)
        }
        try c.encode(fixedPoint, forKey: .fixedPoint)
        try c.encode(classNames, forKey: .classNames)
        try c.encode(accuracy, forKey: .accuracy)
        try c.encodeIfPresent(predicted, forKey: .predicted)
        try c.encode(provenance, forKey: .provenance)
        try c.encodeIfPresent(digest, forKey: .digest)
        try c.encodeIfPresent(program, forKey: .program)
        try c.encodeIfPresent(overflow, forKey: .overflow)
    }
}

/// A graph node in schema 3: the operation as a string and its parameters as plain fields.
struct PlainNode: Codable {
    var op: String
    var inputs: [Int]
    var name: String?
    /// input: [C, H, W].
    var shape: [Int]?
    var outChannels: Int?
    var outFeatures: Int?
    var kernel: Int?
    var stride: Int?
    var padding: Int?
    var bias: Bool?
    var epsilon: Float?
    var slot: String?

    init(_ node: GraphNode) {
        op = node.op.kindName
        inputs = node.inputs
        switch node.op {
        case .input(let s): shape = [s.channels, s.height, s.width]
        case .conv(let name, let out, let k, let stride, let padding, let bias):
            self.name = name; outChannels = out; kernel = k; self.stride = stride; self.padding = padding; self.bias = bias
        case .batchNorm(let name, let epsilon): self.name = name; self.epsilon = epsilon
        case .activation(let slot): self.slot = slot
        case .add, .globalAveragePool: break
        case .averagePool(let k, let stride): kernel = k; self.stride = stride
        case .dense(let name, let out, let bias): self.name = name; outFeatures = out; self.bias = bias
        }
    }

    func node(index: Int) throws -> GraphNode {
        func need<T>(_ value: T?, _ field: String) throws -> T {
            guard let value else { throw PlanError.invalid("graph node \(index) (\(op)) lacks \"\(field)\"") }
            return value
        }
        let layer: LayerOp
        switch op {
        case "input":
            let s = try need(shape, "shape")
            guard s.count == 3 else { throw PlanError.invalid("graph node \(index): input shape must be [C, H, W]") }
            layer = .input(TensorShape(channels: s[0], height: s[1], width: s[2]))
        case "conv":
            layer = .conv(name: try need(name, "name"), outChannels: try need(outChannels, "out_channels"),
                          kernel: try need(kernel, "kernel"), stride: try need(stride, "stride"),
                          padding: try need(padding, "padding"), bias: try need(bias, "bias"))
        case "batch_norm": layer = .batchNorm(name: try need(name, "name"), epsilon: try need(epsilon, "epsilon"))
        case "activation": layer = .activation(slot: try need(slot, "slot"))
        case "add": layer = .add
        case "average_pool": layer = .averagePool(kernel: try need(kernel, "kernel"), stride: try need(stride, "stride"))
        case "global_average_pool": layer = .globalAveragePool
        case "dense":
            layer = .dense(name: try need(name, "name"), outFeatures: try need(outFeatures, "out_features"), bias: try need(bias, "bias"))
        default:
            throw PlanError.invalid("graph node \(index): unknown op \"\(op)\" (input, conv, batch_norm, activation, add, "
                + "average_pool, global_average_pool, dense)")
        }
        return GraphNode(layer, inputs: inputs)
    }
}

/// An activation choice in schema 3.
struct PlainChoice: Codable {
    /// "relu", "polynomial" or "mixed".
    var kind: String
    var degree: Int?
    /// mixed: the channels that are polynomials (sorted); the others are ReLU.
    var polynomialChannels: [Int]?

    init(_ choice: SlotChoice) {
        switch choice {
        case .relu: kind = "relu"
        case .polynomial(let degree): kind = "polynomial"; self.degree = degree
        case .mixed(let channels, let degree): kind = "mixed"; self.degree = degree; polynomialChannels = channels
        }
    }

    func choice() throws -> SlotChoice {
        switch (kind, degree, polynomialChannels) {
        case ("relu", _, _): return .relu
        case ("polynomial", let degree?, _): return .polynomial(degree: degree)
        case ("mixed", let degree?, let channels?): return .mixed(polynomialChannels: channels, degree: degree)
        default:
            throw PlanError.invalid("activation choice \"\(kind)\" is not relu, polynomial (with degree) or mixed (with degree and polynomial_channels)")
        }
    }
}

/// The input in schema 3: how a client turns an image into tensor 0.
struct PlainInput: Codable {
    /// [C, H, W].
    var shape: [Int]
    var layout: String
    var channelOrder: String
    /// Pixel bytes are divided by this, then normalised per channel: (x - mean) / std, in float32.
    var pixelDivisor: Int
    var mean: [Float]
    var std: [Float]

    init(_ spec: InputSpec) {
        shape = [spec.shape.channels, spec.shape.height, spec.shape.width]
        layout = "CHW"
        channelOrder = "RGB"
        pixelDivisor = 255
        mean = spec.mean
        std = spec.std
    }

    func spec() throws -> InputSpec {
        guard shape.count == 3, layout == "CHW", channelOrder == "RGB", pixelDivisor == 255 else {
            throw PlanError.invalid("input must be shape [C, H, W], layout CHW, channel_order RGB, pixel_divisor 255")
        }
        return InputSpec(shape: TensorShape(channels: shape[0], height: shape[1], width: shape[2]), mean: mean, std: std)
    }
}
