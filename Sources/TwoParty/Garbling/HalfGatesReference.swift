// The slow, obvious half-gates garbler and evaluator (Zahur-Rosulek-Evans, Eurocrypt 2015, Figure 2),
// one copy and one gate at a time through FixedKeyAES.hash(_:tweak:). The fast kernels must produce
// exactly the same tables and labels.

public enum HalfGatesReference {
    /// Same conventions as `HalfGates.garble`, on arrays.
    public static func garble(_ circuit: Circuit, delta: Block, firstCopy: UInt64, copies: Int,
                              inputZeroLabels: [Block]) -> (tables: [Block], outputZeroLabels: [Block]) {
        let h = FixedKeyAES.shared
        var tables = [Block](repeating: .zero, count: copies * circuit.andCount * 2)
        var outputs: [Block] = []
        for c in 0..<copies {
            var w0 = Array(inputZeroLabels[(c * circuit.inputCount)..<((c + 1) * circuit.inputCount)])
            var j: UInt64 = 0
            for gate in circuit.gates {
                let a0 = w0[Int(gate.a.index)], b0 = w0[Int(gate.b.index)]
                switch gate.kind {
                case .xor: w0.append(a0 ^ b0)
                case .not: w0.append(a0 ^ delta)
                case .and:
                    let g = (firstCopy + UInt64(c)) * UInt64(circuit.andCount) + j
                    let a1 = a0 ^ delta, b1 = b0 ^ delta
                    let pa = a0.lsb, pb = b0.lsb
                    // Generator half gate: a ∧ pb, where the garbler knows pb.
                    let tg = h.hash(a0, tweak: 2 * g) ^ h.hash(a1, tweak: 2 * g) ^ delta.masked(by: pb)
                    let wg = h.hash(a0, tweak: 2 * g) ^ tg.masked(by: pa)
                    // Evaluator half gate: a ∧ (b ⊕ pb), where the evaluator knows b ⊕ pb (its label's lsb).
                    let te = h.hash(b0, tweak: 2 * g + 1) ^ h.hash(b1, tweak: 2 * g + 1) ^ a0
                    let we = h.hash(b0, tweak: 2 * g + 1) ^ (te ^ a0).masked(by: pb)
                    let t = HalfGates.tableIndex(copy: c, andGate: Int(j), copies: copies, andCount: circuit.andCount)
                    tables[t] = tg
                    tables[t + 1] = te
                    w0.append(wg ^ we)
                    j += 1
                }
            }
            for o in circuit.outputs {
                if case .wire(let w) = o { outputs.append(w0[Int(w.index)]) } else { outputs.append(.zero) }
            }
        }
        return (tables, outputs)
    }

    /// Same conventions as `HalfGates.evaluate`, on arrays.
    public static func evaluate(_ circuit: Circuit, firstCopy: UInt64, copies: Int,
                                inputLabels: [Block], tables: [Block]) -> [Block] {
        let h = FixedKeyAES.shared
        var outputs: [Block] = []
        for c in 0..<copies {
            var w = Array(inputLabels[(c * circuit.inputCount)..<((c + 1) * circuit.inputCount)])
            var j: UInt64 = 0
            for gate in circuit.gates {
                let a = w[Int(gate.a.index)], b = w[Int(gate.b.index)]
                switch gate.kind {
                case .xor: w.append(a ^ b)
                case .not: w.append(a)
                case .and:
                    let g = (firstCopy + UInt64(c)) * UInt64(circuit.andCount) + j
                    let t = HalfGates.tableIndex(copy: c, andGate: Int(j), copies: copies, andCount: circuit.andCount)
                    let tg = tables[t], te = tables[t + 1]
                    let wg = h.hash(a, tweak: 2 * g) ^ tg.masked(by: a.lsb)
                    let we = h.hash(b, tweak: 2 * g + 1) ^ (te ^ a).masked(by: b.lsb)
                    w.append(wg ^ we)
                    j += 1
                }
            }
            for o in circuit.outputs {
                if case .wire(let wire) = o { outputs.append(w[Int(wire.index)]) } else { outputs.append(.zero) }
            }
        }
        return outputs
    }
}
