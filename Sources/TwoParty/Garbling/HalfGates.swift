// Half-gates garbling (Zahur, Rosulek, Evans, "Two Halves Make a Whole", Eurocrypt 2015) with free-XOR
// (Kolesnikov-Schneider, ICALP 2008), point-and-permute, and the fixed-key-AES tweakable circular
// correlation-robust hash MMO^σ of Guo, Katz, Wang, Yang (S&P 2020): two 16-byte ciphertexts per AND,
// four AES calls to garble and two to evaluate.
//
// Many copies of one circuit are processed in lockstep: gate by gate, all copies of the gate at once, so
// the C kernel always has 8 or more independent AES calls in flight. AND gate j of copy c (copies counted
// from `firstCopy`) uses the tweaks 2g and 2g+1 with g = (firstCopy + c) · andCount + j: every AND gate
// garbled under one Δ must get its own g, so a garbler numbers its copies without repeats.
import CAES

public enum HalfGates {
    /// Copies per kernel call: enough for long runs of independent AES calls, few enough that the
    /// wire-major label buffer (wireCount × copies × 16 bytes) stays near 512 KiB, in cache.
    static func chunkSize(_ circuit: Circuit) -> Int {
        let fit = (512 * 1024) / max(1, circuit.wireCount * 16)
        return max(8, min(1024, fit / 8 * 8))
    }

    static func hasher(_ implementation: AES128.Implementation) -> FixedKeyAES {
        implementation == .automatic ? .shared : FixedKeyAES(key: FixedKeyAES.publicKey, implementation: implementation)
    }

    /// Garbles `copies` copies of `circuit` under the free-XOR offset `delta` (lsb 1).
    /// - inputZeroLabels: copy-major, `copies × circuit.inputCount` (garbler inputs, then evaluator inputs).
    /// - tables: receives `copies × andCount × 2` ciphertexts, copy-major.
    /// - outputZeroLabels: receives `copies × outputs.count` zero-labels, copy-major (`.zero` for constant outputs).
    public static func garble(_ circuit: Circuit, delta: Block, firstCopy: UInt64, copies: Int,
                              inputZeroLabels: UnsafeBufferPointer<Block>,
                              tables: UnsafeMutableBufferPointer<Block>,
                              outputZeroLabels: UnsafeMutableBufferPointer<Block>,
                              implementation: AES128.Implementation = .automatic) {
        precondition(delta.lsb, "the free-XOR offset must have lsb 1 (point-and-permute)")
        precondition(inputZeroLabels.count == copies * circuit.inputCount, "input label count")
        precondition(tables.count == copies * circuit.andCount * 2, "table count")
        precondition(outputZeroLabels.count == copies * circuit.outputs.count, "output label count")
        let aes = hasher(implementation)
        var d = delta
        run(circuit, copies: copies, inputs: inputZeroLabels, outputs: outputZeroLabels) { labels, start, n in
            withUnsafeBytes(of: &d) { dp in
                circuit.kernelGates.withUnsafeBufferPointer { gates in
                    caes_halfgates_garble(aes.cipher.roundKeyPointer, gates.baseAddress, gates.count, labels, n,
                                          dp.baseAddress, (firstCopy &+ UInt64(start)) &* UInt64(circuit.andCount),
                                          circuit.andCount, tables.baseAddress! + 2 * circuit.andCount * start,
                                          aes.cipher.code)
                }
            }
        }
    }

    /// Evaluates `copies` garbled copies.
    /// - inputLabels: the active input labels, copy-major `copies × circuit.inputCount`.
    /// - tables: as produced by `garble`.
    /// - outputLabels: receives the active output labels, copy-major (`.zero` for constant outputs).
    public static func evaluate(_ circuit: Circuit, firstCopy: UInt64, copies: Int,
                                inputLabels: UnsafeBufferPointer<Block>,
                                tables: UnsafeBufferPointer<Block>,
                                outputLabels: UnsafeMutableBufferPointer<Block>,
                                implementation: AES128.Implementation = .automatic) {
        precondition(inputLabels.count == copies * circuit.inputCount, "input label count")
        precondition(tables.count == copies * circuit.andCount * 2, "table count")
        precondition(outputLabels.count == copies * circuit.outputs.count, "output label count")
        let aes = hasher(implementation)
        run(circuit, copies: copies, inputs: inputLabels, outputs: outputLabels) { labels, start, n in
            circuit.kernelGates.withUnsafeBufferPointer { gates in
                caes_halfgates_evaluate(aes.cipher.roundKeyPointer, gates.baseAddress, gates.count, labels, n,
                                        (firstCopy &+ UInt64(start)) &* UInt64(circuit.andCount),
                                        circuit.andCount, tables.baseAddress! + 2 * circuit.andCount * start,
                                        aes.cipher.code)
            }
        }
    }

    /// Moves copy-major input labels into a wire-major buffer chunk by chunk, runs `kernel(labels, firstCopyOfChunk,
    /// copiesInChunk)`, and moves the output wires' labels back out copy-major.
    private static func run(_ circuit: Circuit, copies: Int, inputs: UnsafeBufferPointer<Block>,
                            outputs: UnsafeMutableBufferPointer<Block>,
                            kernel: (UnsafeMutablePointer<Block>, Int, Int) -> Void) {
        guard copies > 0 else { return }
        let chunk = min(copies, chunkSize(circuit))
        let wires = circuit.wireCount, ins = circuit.inputCount, outs = circuit.outputs.count
        let labels = UnsafeMutablePointer<Block>.allocate(capacity: wires * chunk)
        defer { labels.deallocate() }
        let outputWires: [Int] = circuit.outputs.map { o in
            if case .wire(let w) = o { return Int(w.index) } else { return -1 }
        }
        var start = 0
        while start < copies {
            let n = min(chunk, copies - start)
            for c in 0..<n {
                let src = (start + c) * ins
                for i in 0..<ins { labels[i * n + c] = inputs[src + i] }
            }
            kernel(labels, start, n)
            for c in 0..<n {
                let dst = (start + c) * outs
                for o in 0..<outs {
                    let w = outputWires[o]
                    outputs[dst + o] = w >= 0 ? labels[w * n + c] : .zero
                }
            }
            start += n
        }
    }
}
