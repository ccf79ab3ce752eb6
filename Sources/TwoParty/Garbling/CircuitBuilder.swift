// Builds circuits gate by gate with constant folding, so public constants never become wires and
// gates whose result is fixed cost nothing. Inputs may be declared in any order; `build` numbers the
// garbler's inputs first, then the evaluator's, as `Circuit` requires.

/// A bit inside a circuit under construction: a public constant or a wire.
public struct Bit: Hashable, Sendable {
    enum Storage: Hashable, Sendable {
        case constant(Bool)
        case node(Int32) // builder-internal numbering
    }

    let storage: Storage

    public static let zero = Bit(storage: .constant(false))
    public static let one = Bit(storage: .constant(true))
    public static func constant(_ value: Bool) -> Bit { value ? .one : .zero }

    /// The value when the bit is a public constant.
    public var constantValue: Bool? {
        if case .constant(let c) = storage { return c }
        return nil
    }
}

public final class CircuitBuilder {
    enum Node {
        case garblerInput(Int)
        case evaluatorInput(Int)
        case gate(GateKind, Int32, Int32)
    }

    var nodes: [Node] = []
    var garblerInputs = 0
    var evaluatorInputs = 0
    /// Number of AND gates so far.
    public private(set) var andCount = 0

    public init() {}

    private func add(_ node: Node) -> Bit {
        nodes.append(node)
        return Bit(storage: .node(Int32(nodes.count - 1)))
    }

    public func garblerInput() -> Bit {
        garblerInputs += 1
        return add(.garblerInput(garblerInputs - 1))
    }

    public func evaluatorInput() -> Bit {
        evaluatorInputs += 1
        return add(.evaluatorInput(evaluatorInputs - 1))
    }

    /// `count` garbler inputs, least significant bit first when used as a word.
    public func garblerInputs(_ count: Int) -> [Bit] { (0..<count).map { _ in garblerInput() } }
    public func evaluatorInputs(_ count: Int) -> [Bit] { (0..<count).map { _ in evaluatorInput() } }

    public func not(_ a: Bit) -> Bit {
        switch a.storage {
        case .constant(let c): return .constant(!c)
        case .node(let n):
            if case .gate(.not, let inner, _) = nodes[Int(n)] { return Bit(storage: .node(inner)) }
            return add(.gate(.not, n, n))
        }
    }

    public func xor(_ a: Bit, _ b: Bit) -> Bit {
        switch (a.storage, b.storage) {
        case (.constant(let x), .constant(let y)): return .constant(x != y)
        case (.constant(let x), .node): return x ? not(b) : b
        case (.node, .constant(let y)): return y ? not(a) : a
        case (.node(let x), .node(let y)):
            if x == y { return .zero }
            return add(.gate(.xor, x, y))
        }
    }

    public func and(_ a: Bit, _ b: Bit) -> Bit {
        switch (a.storage, b.storage) {
        case (.constant(let x), .constant(let y)): return .constant(x && y)
        case (.constant(let x), .node): return x ? b : .zero
        case (.node, .constant(let y)): return y ? a : .zero
        case (.node(let x), .node(let y)):
            if x == y { return a }
            andCount += 1
            return add(.gate(.and, x, y))
        }
    }

    /// a ∨ b = (a ⊕ b) ⊕ (a ∧ b): one AND.
    public func or(_ a: Bit, _ b: Bit) -> Bit { xor(xor(a, b), and(a, b)) }

    public func xnor(_ a: Bit, _ b: Bit) -> Bit { not(xor(a, b)) }

    /// `condition ? ifTrue : ifFalse` = ifFalse ⊕ condition ∧ (ifTrue ⊕ ifFalse): one AND.
    public func mux(_ condition: Bit, _ ifTrue: Bit, _ ifFalse: Bit) -> Bit {
        xor(ifFalse, and(condition, xor(ifTrue, ifFalse)))
    }

    /// Numbers the wires (garbler inputs, evaluator inputs, then gates) and drops gates no output needs.
    public func build(outputs: [Bit]) -> Circuit {
        // Liveness: keep only gates that some output depends on.
        var live = [Bool](repeating: false, count: nodes.count)
        for case .node(let n) in outputs.map(\.storage) { live[Int(n)] = true }
        for n in stride(from: nodes.count - 1, through: 0, by: -1) where live[n] {
            if case .gate(_, let a, let b) = nodes[n] {
                live[Int(a)] = true
                live[Int(b)] = true
            }
        }
        var wireOf = [Int32](repeating: -1, count: nodes.count)
        for (n, node) in nodes.enumerated() {
            switch node {
            case .garblerInput(let i): wireOf[n] = Int32(i)
            case .evaluatorInput(let i): wireOf[n] = Int32(garblerInputs + i)
            case .gate: break
            }
        }
        var gates: [Gate] = []
        var next = Int32(garblerInputs + evaluatorInputs)
        for (n, node) in nodes.enumerated() where live[n] {
            if case .gate(let kind, let a, let b) = node {
                wireOf[n] = next
                gates.append(Gate(kind: kind, a: Wire(wireOf[Int(a)]), b: Wire(wireOf[Int(b)]), output: Wire(next)))
                next += 1
            }
        }
        let outs: [CircuitOutput] = outputs.map { bit in
            switch bit.storage {
            case .constant(let c): return .constant(c)
            case .node(let n): return .wire(Wire(wireOf[Int(n)]))
            }
        }
        return Circuit(garblerInputCount: garblerInputs, evaluatorInputCount: evaluatorInputs, gates: gates, outputs: outs)
    }
}
