// Boolean circuits for garbling: XOR, AND and NOT gates over wires in topological (SSA) order.
// With free-XOR (Kolesnikov-Schneider, ICALP 2008) XOR and NOT cost nothing; only AND gates are
// garbled (half-gates: two ciphertexts each).
import CAES

/// A wire of a circuit. Wires are numbered: the garbler's inputs first, then the evaluator's inputs,
/// then one wire per gate output in gate order.
public struct Wire: Hashable, Sendable, Comparable {
    public let index: Int32
    public init(_ index: Int32) { self.index = index }
    public static func < (a: Wire, b: Wire) -> Bool { a.index < b.index }
}

public enum GateKind: Sendable, Hashable {
    case xor, and, not
}

public struct Gate: Hashable, Sendable {
    public let kind: GateKind
    public let a: Wire
    /// The second input; equals `a` for NOT.
    public let b: Wire
    public let output: Wire

    public init(kind: GateKind, a: Wire, b: Wire, output: Wire) {
        self.kind = kind
        self.a = a
        self.b = b
        self.output = output
    }
}

/// An output of a circuit: a wire, or a public constant the topology already fixes (no label needed).
public enum CircuitOutput: Hashable, Sendable {
    case wire(Wire)
    case constant(Bool)
}

/// A circuit's public topology. Everything here is known to both parties: a garbler's secret constant
/// must enter as a garbler input, never as a `CircuitOutput.constant` or a folded constant.
public struct Circuit: Sendable {
    public let garblerInputCount: Int
    public let evaluatorInputCount: Int
    public let gates: [Gate]
    public let outputs: [CircuitOutput]
    public let wireCount: Int
    public let andCount: Int
    /// The gates in the layout the C kernels read.
    let kernelGates: [caes_gate]

    public var inputCount: Int { garblerInputCount + evaluatorInputCount }
    public func garblerInput(_ i: Int) -> Wire { Wire(Int32(i)) }
    public func evaluatorInput(_ i: Int) -> Wire { Wire(Int32(garblerInputCount + i)) }
    /// Outputs that are wires (each needs one decoding bit), in output order.
    public var outputWireCount: Int { outputs.reduce(0) { n, o in if case .wire = o { return n + 1 } else { return n } } }

    /// Checks the topology (inputs numbered first, each gate output fresh and in order, inputs defined
    /// before use); a malformed topology is a programmer error.
    public init(garblerInputCount: Int, evaluatorInputCount: Int, gates: [Gate], outputs: [CircuitOutput]) {
        precondition(garblerInputCount >= 0 && evaluatorInputCount >= 0)
        let inputs = garblerInputCount + evaluatorInputCount
        var next = Int32(inputs)
        var ands = 0
        for g in gates {
            precondition(g.output.index == next, "gate outputs must be numbered consecutively after the inputs")
            precondition(g.a.index >= 0 && g.a.index < next && g.b.index >= 0 && g.b.index < next,
                         "gate inputs must be defined before the gate")
            if g.kind == .and { ands += 1 }
            next += 1
        }
        for case .wire(let w) in outputs {
            precondition(w.index >= 0 && w.index < next, "output wire \(w.index) does not exist")
        }
        self.garblerInputCount = garblerInputCount
        self.evaluatorInputCount = evaluatorInputCount
        self.gates = gates
        self.outputs = outputs
        self.wireCount = Int(next)
        self.andCount = ands
        self.kernelGates = gates.map { g in
            let kind: Int32
            switch g.kind {
            case .xor: kind = Int32(CAES_GATE_XOR)
            case .and: kind = Int32(CAES_GATE_AND)
            case .not: kind = Int32(CAES_GATE_NOT)
            }
            return caes_gate(kind: kind, a: g.a.index, b: g.b.index, out: g.output.index)
        }
    }

    /// Clear (plaintext) evaluation: the reference every garbled evaluation is tested against.
    public func evaluate(garblerInputs: [Bool], evaluatorInputs: [Bool]) -> [Bool] {
        precondition(garblerInputs.count == garblerInputCount && evaluatorInputs.count == evaluatorInputCount,
                     "expected \(garblerInputCount) garbler and \(evaluatorInputCount) evaluator inputs")
        var value = garblerInputs + evaluatorInputs
        value.reserveCapacity(wireCount)
        for g in gates {
            let a = value[Int(g.a.index)], b = value[Int(g.b.index)]
            switch g.kind {
            case .xor: value.append(a != b)
            case .and: value.append(a && b)
            case .not: value.append(!a)
            }
        }
        return outputs.map { o in
            switch o {
            case .wire(let w): return value[Int(w.index)]
            case .constant(let c): return c
            }
        }
    }
}
