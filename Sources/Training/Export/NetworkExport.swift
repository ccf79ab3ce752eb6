// The training network as a weights-free graph plus its weights, polynomial coefficients and slot
// choices: what `sibyl export` turns into a plan. Node and parameter names are exactly the network's
// parameter names (`stage1.block0.conv1.weight`, `stem.bn.running_mean`, ...), so the weight table lines
// up with `NetworkGraph.expectedParameters()`. Batch norms stay as nodes here; folding happens after.
import NetworkPlan
import Tensors

/// A network ready to become a plan.
public struct ExportedNetwork: Sendable {
    /// The architecture with batch-norm nodes (unfolded).
    public var graph: NetworkGraph
    /// Every parameter and batch-norm statistic by dataset name (coefficients are separate).
    public var weights: WeightTable
    /// What each slot computes now.
    public var activations: [String: SlotChoice]
    /// Per-channel coefficients [a0, a1, a2, ...] of every slot that has them (shared ones broadcast).
    public var coefficients: [String: SlotCoefficients]
}

public enum NetworkExport {
    /// Graph, weights, choices and coefficients of `network` in one call.
    public static func export(_ network: Network) throws -> ExportedNetwork {
        ExportedNetwork(graph: try graph(of: network), weights: weightTable(of: network),
                        activations: try slotChoices(of: network), coefficients: coefficients(of: network))
    }

    /// The network's architecture: input 3x32x32, then its layers in forward order.
    public static func graph(of network: Network) throws -> NetworkGraph {
        var builder = GraphBuilder()
        switch network {
        case let net as TinyNet:
            var x = builder.convBlock(net.conv1, "conv1", net.bn1, "bn1", input: 0)
            x = builder.activation(net.act1, input: x)
            x = builder.add(.averagePool(kernel: 2, stride: 2), [x])
            x = builder.convBlock(net.conv2, "conv2", net.bn2, "bn2", input: x)
            x = builder.activation(net.act2, input: x)
            x = builder.add(.globalAveragePool, [x])
            builder.dense(net.fc, "fc", input: x)
        case let net as MiniONN:
            var x = 0
            for i in 0..<net.convs.count {
                x = builder.convBlock(net.convs[i], "conv\(i + 1)", net.bns[i], "bn\(i + 1)", input: x)
                x = builder.activation(net.acts[i], input: x)
                if i == 1 || i == 3 { x = builder.add(.averagePool(kernel: 2, stride: 2), [x]) }
            }
            builder.dense(net.fc, "fc", input: x)
        case let net as ResNet:
            var x = builder.convBlock(net.stemConv, "stem.conv", net.stemBN, "stem.bn", input: 0)
            x = builder.activation(net.stemAct, input: x)
            for (index, block) in net.blocks.enumerated() {
                let name = resNetBlockName(net, index)
                var y = builder.convBlock(block.conv1, name + ".conv1", block.bn1, name + ".bn1", input: x)
                y = builder.activation(block.act1, input: y)
                let z = builder.convBlock(block.conv2, name + ".conv2", block.bn2, name + ".bn2", input: y)
                var s = x
                if let shortcut = block.shortcut {
                    s = builder.convBlock(shortcut.conv, name + ".shortcut.conv", shortcut.bn, name + ".shortcut.bn", input: x)
                }
                x = builder.add(.add, [z, s])
                x = builder.activation(block.act2, input: x)
            }
            x = builder.add(.globalAveragePool, [x])
            builder.dense(net.fc, "fc", input: x)
        default:
            throw ExportError.unsupportedNetwork(String(describing: type(of: network)))
        }
        return NetworkGraph(nodes: builder.nodes)
    }

    /// Every learned parameter except slot coefficients, plus the batch-norm running statistics.
    public static func weightTable(of network: Network) -> WeightTable {
        var table: WeightTable = [:]
        for p in network.namedParameters where !p.name.hasSuffix(".coefficients") {
            table[p.name] = p.parameter.value.array
        }
        for b in network.namedBuffers { table[b.name] = b.tensor.array }
        return table
    }

    /// Per-channel coefficients of every slot that has coefficients (polynomial or blended).
    public static func coefficients(of network: Network) -> [String: SlotCoefficients] {
        var result: [String: SlotCoefficients] = [:]
        for slot in network.slots {
            guard let parameter = slot.coefficients, let values = slot.effectiveCoefficients else { continue }
            if parameter.shape.count == 2 {
                let terms = parameter.shape[1]
                result[slot.name] = (0..<slot.channels).map { Array(values[$0 * terms..<($0 + 1) * terms]) }
            } else {
                result[slot.name] = Array(repeating: values, count: slot.channels)
            }
        }
        return result
    }

    /// The current choice of every slot. A finished blend counts as what it became (alpha 1: ReLU,
    /// alpha 0: polynomial); a blend in progress is an error. A slot split by channel is `.mixed`.
    public static func slotChoices(of network: Network) throws -> [String: SlotChoice] {
        var result: [String: SlotChoice] = [:]
        for slot in network.slots {
            let terms = slot.coefficients?.shape.last ?? 0
            if !slot.isReLU, slot.polynomialChannels != nil || slot.channelAlphas != nil {
                let channels = slot.polynomialChannelIndices
                var modeAlpha: Float = 0
                if case .blended(let alpha) = slot.mode { modeAlpha = alpha }
                if let blending = channels.first(where: { (slot.channelAlphas?[$0] ?? modeAlpha) > 0 }) {
                    throw ExportError.blendedSlot(slot: "\(slot.name) channel \(blending)", alpha: slot.channelAlphas?[blending] ?? modeAlpha)
                }
                result[slot.name] = channels.count == slot.channels ? .polynomial(degree: terms - 1)
                    : channels.isEmpty ? .relu : .mixed(polynomialChannels: channels, degree: terms - 1)
                continue
            }
            switch slot.mode {
            case .relu:
                result[slot.name] = .relu
            case .polynomial:
                result[slot.name] = .polynomial(degree: terms - 1)
            case .blended(let alpha):
                if alpha >= 1 { result[slot.name] = .relu }
                else if alpha <= 0 { result[slot.name] = .polynomial(degree: terms - 1) }
                else { throw ExportError.blendedSlot(slot: slot.name, alpha: alpha) }
            }
        }
        return result
    }

    /// ResNet block names follow ResNet.swift: stage{1,2,3}.block{i}, n blocks per stage.
    static func resNetBlockName(_ net: ResNet, _ index: Int) -> String {
        let perStage = (net.depth - 2) / 6
        return "stage\(index / perStage + 1).block\(index % perStage)"
    }
}

/// Appends graph nodes in topological order.
struct GraphBuilder {
    var nodes: [GraphNode] = [GraphNode(.input(TensorShape(channels: 3, height: 32, width: 32)), inputs: [])]

    @discardableResult
    mutating func add(_ op: LayerOp, _ inputs: [Int]) -> Int {
        nodes.append(GraphNode(op, inputs: inputs))
        return nodes.count - 1
    }

    /// A bias-free convolution followed by its batch norm.
    mutating func convBlock(_ conv: Conv2DLayer, _ convName: String, _ bn: BatchNormLayer, _ bnName: String,
                            input: Int) -> Int {
        let shape = conv.weight.shape  // [out, in, k, k]
        let c = add(.conv(name: convName, outChannels: shape[0], kernel: shape[2], stride: conv.stride,
                          padding: conv.padding, bias: false), [input])
        return add(.batchNorm(name: bnName, epsilon: bn.statistics.epsilon), [c])
    }

    mutating func activation(_ slot: ActivationSlot, input: Int) -> Int {
        add(.activation(slot: slot.name), [input])
    }

    mutating func dense(_ layer: DenseLayer, _ name: String, input: Int) {
        add(.dense(name: name, outFeatures: layer.weight.shape[0], bias: true), [input])
    }
}
