// Which of Sibyl's architectures an imported graph is. Sibyl trains, plans and securely evaluates a fixed
// set of networks (ResNet-8...56, MiniONN, the tiny test net), whose parameter names the whole toolkit uses,
// so an ONNX graph is matched node for node against each one's graph (NetworkExport.graph), walking back
// from the logits: same operators, channels, kernels, strides and padding, inputs matching inputs (a
// residual Add in either order). The node order of the file does not matter; its structure does.
import NetworkPlan
import Training

struct ArchitectureMatch {
    let template: [GraphNode]
    let imported: [GraphNode]
    /// Template node -> imported node.
    private(set) var map: [Int: Int] = [:]
    private var used: [Int: Int] = [:]
    /// The first difference seen: template node, imported node.
    private(set) var difference: (template: Int, imported: Int)?

    init(template: NetworkGraph, imported: NetworkGraph) {
        self.template = template.nodes
        self.imported = imported.nodes
    }

    /// Matches the two graphs; on success `map` pairs every node.
    mutating func run() -> Bool {
        guard template.count == imported.count else { return false }
        return match(template.count - 1, imported.count - 1) && map.count == template.count
    }

    private mutating func match(_ t: Int, _ i: Int) -> Bool {
        if let paired = map[t] { return paired == i }
        guard used[i] == nil, Self.same(template[t].op, imported[i].op),
              template[t].inputs.count == imported[i].inputs.count else {
            if difference == nil { difference = (t, i) }
            return false
        }
        map[t] = i
        used[i] = t
        let a = template[t].inputs, b = imported[i].inputs
        if case .add = template[t].op {
            let saved = (map, used)
            if match(a[0], b[0]) && match(a[1], b[1]) { return true }
            (map, used) = saved
            if match(a[0], b[1]) && match(a[1], b[0]) { return true }
            (map, used) = saved
        } else {
            var ok = true
            for (x, y) in zip(a, b) where ok { ok = match(x, y) }
            if ok { return true }
        }
        map[t] = nil
        used[i] = nil
        return false
    }

    /// Same layer up to names (and a convolution's bias, which import moves into the batch norm).
    static func same(_ a: LayerOp, _ b: LayerOp) -> Bool {
        switch (a, b) {
        case let (.input(x), .input(y)): return x == y
        case let (.conv(_, o1, k1, s1, p1, _), .conv(_, o2, k2, s2, p2, _)): return (o1, k1, s1, p1) == (o2, k2, s2, p2)
        case (.batchNorm, .batchNorm), (.activation, .activation), (.add, .add), (.globalAveragePool, .globalAveragePool): return true
        case let (.averagePool(k1, s1), .averagePool(k2, s2)): return (k1, s1) == (k2, s2)
        case let (.dense(_, o1, _), .dense(_, o2, _)): return o1 == o2
        default: return false
        }
    }

    /// "conv 32 3x3 stride 2 pad 1"-style description of a node for messages.
    static func describe(_ op: LayerOp) -> String {
        switch op {
        case .input(let s): return "input \(s)"
        case let .conv(name, out, k, s, p, _): return "conv \(name) (\(out) channels, \(k)x\(k), stride \(s), padding \(p))"
        case .batchNorm(let name, _): return "batch norm \(name)"
        case .activation(let slot): return "activation \(slot)"
        case .add: return "residual add"
        case let .averagePool(k, s): return "average pool \(k)x\(k) stride \(s)"
        case .globalAveragePool: return "global average pool"
        case let .dense(name, out, _): return "dense \(name) (\(out) outputs)"
        }
    }
}

extension ArchitectureMatch {
    /// The architecture `imported` is, with the template pairing; or an error naming the closest one and
    /// where the file differs from it.
    static func find(_ imported: ImportedGraph, classes: Int) throws -> (ModelKind, Network, ArchitectureMatch) {
        var closest: (kind: ModelKind, nodes: Int, match: ArchitectureMatch)?
        for kind in ModelKind.allCases {
            var rng = RandomGenerator(seed: 1)
            let network = makeNetwork(kind, classes: classes, rng: &rng)
            guard let graph = try? NetworkExport.graph(of: network) else { continue }
            var match = ArchitectureMatch(template: graph, imported: imported.graph)
            if match.run() { return (kind, network, match) }
            let distance = abs(graph.nodes.count - imported.graph.nodes.count)
            if closest == nil || distance < abs(closest!.nodes - imported.graph.nodes.count) {
                closest = (kind, graph.nodes.count, match)
            }
        }
        let names = ModelKind.allCases.map(\.rawValue).joined(separator: ", ")
        guard let closest else { throw OnnxError.architecture("none of Sibyl's architectures (\(names)) could be built") }
        var reason = "it is none of Sibyl's architectures (\(names)). Closest: \(closest.kind.rawValue)"
        if closest.nodes != imported.graph.nodes.count {
            reason += ", which has \(closest.nodes) layers where the file has \(imported.graph.nodes.count)"
                + " (\(counts(closest.match.template)); the file: \(counts(imported.graph.nodes)))"
        } else if let (t, i) = closest.match.difference {
            reason += ", whose \(describe(closest.match.template[t].op)) is \(describe(imported.graph.nodes[i].op)) in the file "
                + "(\(imported.origin[i]))"
        }
        throw OnnxError.architecture(reason + ". Sibyl plans and evaluates only these networks; train one of them "
                                     + "(in PyTorch with the same layers, or with `sibyl train`)")
    }

    private static func counts(_ nodes: [GraphNode]) -> String {
        var counts: [String: Int] = [:]
        for node in nodes { counts[node.op.kindName, default: 0] += 1 }
        return counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
    }
}
