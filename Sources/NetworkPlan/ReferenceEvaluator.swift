// A slow, obvious float evaluator of a network graph: the reference every faster or secure evaluation
// of a plan is checked against. Float64 accumulation, naive loops, one image at a time.

/// Parameter values by dataset name (`stem.conv.weight`, ...), flattened in the layouts NetworkGraph
/// documents; shapes come from `NetworkGraph.expectedParameters()`.
public typealias WeightTable = [String: [Float]]

/// Per-channel polynomial coefficients of a slot: `coefficients[c]` = [a0, a1, a2, ...] for channel c.
public typealias SlotCoefficients = [[Float]]

public enum ReferenceEvaluator {
    /// Logits (or the last node's values) for one image given in C-H-W order.
    public static func evaluate(graph: NetworkGraph, weights: WeightTable, activations: [String: SlotChoice],
                                coefficients: [String: SlotCoefficients], input: [Float]) throws -> [Double] {
        let shapes = try graph.validate()
        var values: [[Double]] = []
        values.reserveCapacity(graph.nodes.count)
        for (index, node) in graph.nodes.enumerated() {
            let shape = shapes[index]
            let x = node.inputs.first.map { values[$0] } ?? []
            let inShape = node.inputs.first.map { shapes[$0] }
            func weight(_ name: String) throws -> [Float] {
                guard let w = weights[name] else { throw PlanError.invalid("weights lack \(name)") }
                return w
            }
            switch node.op {
            case .input(let s):
                guard input.count == s.elements else {
                    throw PlanError.invalid("input has \(input.count) values, the graph expects \(s)")
                }
                values.append(input.map(Double.init))
            case .conv(let name, let out, let k, let stride, let padding, let hasBias):
                let w = try weight("\(name).weight"), b = hasBias ? try weight("\(name).bias") : []
                values.append(convolve(x, shape: inShape!, weight: w.map(Double.init), bias: b.map(Double.init),
                                       outChannels: out, kernel: k, stride: stride, padding: padding))
            case .batchNorm(let name, let epsilon):
                let gamma = try weight("\(name).gamma"), beta = try weight("\(name).beta")
                let mean = try weight("\(name).running_mean"), variance = try weight("\(name).running_var")
                let plane = shape.height * shape.width
                var y = x
                for c in 0..<shape.channels {
                    let scale = Double(gamma[c]) / (Double(variance[c]) + Double(epsilon)).squareRoot()
                    for i in c * plane..<(c + 1) * plane { y[i] = (x[i] - Double(mean[c])) * scale + Double(beta[c]) }
                }
                values.append(y)
            case .activation(let slot):
                let choice = activations[slot] ?? .relu
                let plane = shape.height * shape.width
                var y = x
                for c in 0..<shape.channels {
                    let isPolynomial: Bool
                    switch choice {
                    case .relu: isPolynomial = false
                    case .polynomial: isPolynomial = true
                    case .mixed(let channels, _): isPolynomial = channels.contains(c)
                    }
                    let polynomial = isPolynomial ? coefficients[slot]?[c] : nil
                    if isPolynomial && polynomial == nil {
                        throw PlanError.invalid("slot \(slot) is polynomial but has no coefficients for channel \(c)")
                    }
                    for i in c * plane..<(c + 1) * plane {
                        if let p = polynomial {
                            var acc = 0.0, power = 1.0
                            for a in p { acc += Double(a) * power; power *= x[i] }
                            y[i] = acc
                        } else {
                            y[i] = max(0, x[i])
                        }
                    }
                }
                values.append(y)
            case .add:
                let other = values[node.inputs[1]]
                values.append(zip(x, other).map { $0 + $1 })
            case .averagePool(let k, let stride):
                let s = inShape!
                var y = [Double](repeating: 0, count: shape.elements)
                for c in 0..<shape.channels {
                    for oy in 0..<shape.height {
                        for ox in 0..<shape.width {
                            var acc = 0.0
                            for dy in 0..<k { for dx in 0..<k {
                                acc += x[(c * s.height + oy * stride + dy) * s.width + ox * stride + dx]
                            } }
                            y[(c * shape.height + oy) * shape.width + ox] = acc / Double(k * k)
                        }
                    }
                }
                values.append(y)
            case .globalAveragePool:
                let plane = inShape!.height * inShape!.width
                values.append((0..<shape.channels).map { c in
                    x[c * plane..<(c + 1) * plane].reduce(0, +) / Double(plane)
                })
            case .dense(let name, let out, let hasBias):
                let w = try weight("\(name).weight"), b = hasBias ? try weight("\(name).bias") : []
                values.append((0..<out).map { o in
                    var acc = hasBias ? Double(b[o]) : 0
                    for i in 0..<x.count { acc += Double(w[o * x.count + i]) * x[i] }
                    return acc
                })
            }
        }
        return values.last ?? []
    }

    /// Naive convolution, input C-H-W, weight [out][in][k][k].
    public static func convolve(_ x: [Double], shape: TensorShape, weight: [Double], bias: [Double], outChannels: Int,
                                kernel: Int, stride: Int, padding: Int) -> [Double] {
        let outH = (shape.height + 2 * padding - kernel) / stride + 1
        let outW = (shape.width + 2 * padding - kernel) / stride + 1
        var y = [Double](repeating: 0, count: outChannels * outH * outW)
        for o in 0..<outChannels {
            for oy in 0..<outH {
                for ox in 0..<outW {
                    var acc = bias.isEmpty ? 0 : bias[o]
                    for c in 0..<shape.channels {
                        for ky in 0..<kernel {
                            let iy = oy * stride + ky - padding
                            guard iy >= 0 && iy < shape.height else { continue }
                            for kx in 0..<kernel {
                                let ix = ox * stride + kx - padding
                                guard ix >= 0 && ix < shape.width else { continue }
                                acc += weight[((o * shape.channels + c) * kernel + ky) * kernel + kx]
                                    * x[(c * shape.height + iy) * shape.width + ix]
                            }
                        }
                    }
                    y[(o * outH + oy) * outW + ox] = acc
                }
            }
        }
        return y
    }
}

/// Folds every batch norm that directly follows a convolution (its only consumer) into that convolution:
/// w' = w * gamma / sqrt(var + eps), b' = (b - mean) * gamma / sqrt(var + eps) + beta. The result has no
/// batch-norm nodes and every folded convolution has a bias. A batch norm after anything else is an error.
public func foldBatchNorms(graph: NetworkGraph, weights: WeightTable) throws -> (NetworkGraph, WeightTable) {
    try graph.validate()
    var consumers = [Int](repeating: 0, count: graph.nodes.count)
    for node in graph.nodes { for input in node.inputs { consumers[input] += 1 } }
    var nodes: [GraphNode] = []
    var newIndex: [Int] = []   // old index -> new index
    var result = weights
    for node in graph.nodes {
        guard case .batchNorm(let name, let epsilon) = node.op else {
            nodes.append(GraphNode(node.op, inputs: node.inputs.map { newIndex[$0] }))
            newIndex.append(nodes.count - 1)
            continue
        }
        let source = node.inputs[0]
        guard case .conv(let convName, let out, let k, let stride, let padding, let hasBias) = graph.nodes[source].op,
              consumers[source] == 1 else {
            throw PlanError.invalid("batch norm \(name) does not directly follow a convolution it alone consumes")
        }
        guard let w = weights["\(convName).weight"], let gamma = weights["\(name).gamma"],
              let beta = weights["\(name).beta"], let mean = weights["\(name).running_mean"],
              let variance = weights["\(name).running_var"] else {
            throw PlanError.invalid("weights lack parameters of \(convName) or \(name)")
        }
        let perOut = w.count / out
        var folded = w
        var bias = hasBias ? (weights["\(convName).bias"] ?? []) : [Float](repeating: 0, count: out)
        for o in 0..<out {
            let scale = Double(gamma[o]) / (Double(variance[o]) + Double(epsilon)).squareRoot()
            for i in o * perOut..<(o + 1) * perOut { folded[i] = Float(Double(w[i]) * scale) }
            bias[o] = Float((Double(bias[o]) - Double(mean[o])) * scale + Double(beta[o]))
        }
        result["\(convName).weight"] = folded
        result["\(convName).bias"] = bias
        for part in ["gamma", "beta", "running_mean", "running_var"] { result.removeValue(forKey: "\(name).\(part)") }
        // The convolution (already emitted) gains a bias; the batch norm disappears.
        let convIndex = newIndex[source]
        nodes[convIndex] = GraphNode(.conv(name: convName, outChannels: out, kernel: k, stride: stride,
                                           padding: padding, bias: true), inputs: nodes[convIndex].inputs)
        newIndex.append(convIndex)
    }
    let folded = NetworkGraph(nodes: nodes)
    try folded.validate()
    return (folded, result)
}
