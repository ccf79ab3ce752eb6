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
    /// Copies per table group: the tables of a group of consecutive copies are contiguous and gate-major
    /// inside, so a kernel reading one gate for consecutive copies reads consecutive bytes.
    public static let tableGroup = 16

    /// Index (in blocks) of the first of the two ciphertexts of AND gate `andGate` of copy `copy` in a
    /// batch of `copies` copies: groups of `tableGroup` copies (the last may be smaller), gate-major inside.
    /// A prefix of whole groups of a batch is a contiguous prefix of its tables (streaming).
    public static func tableIndex(copy: Int, andGate: Int, copies: Int, andCount: Int) -> Int {
        let g0 = copy - copy % tableGroup
        let size = min(tableGroup, copies - g0)
        return 2 * (g0 * andCount + andGate * size + (copy - g0))
    }

    /// Copies per kernel call: enough for long runs of independent AES calls, few enough that the
    /// wire-major label buffer (wireCount × copies × 16 bytes) stays near `chunkBudget`, in cache.
    /// A multiple of 16, the widest step of the VAES kernels and the table group (chunks start on group
    /// boundaries, so each chunk's tables are the contiguous range after the previous chunk's).
    static func chunkSize(_ circuit: Circuit) -> Int {
        let fit = chunkBudget / max(1, circuit.wireCount * 16)
        return max(16, min(1024, fit / 16 * 16))
    }

    /// Measured on Zen 5 (1 MiB L2): 768 KiB beat 256, 512 and 1536 KiB for the ReLU circuit.
    static let chunkBudget = 768 * 1024

    static func hasher(_ implementation: AES128.Implementation) -> FixedKeyAES {
        implementation == .automatic ? .shared : FixedKeyAES(key: FixedKeyAES.publicKey, implementation: implementation)
    }

    /// Garbles `copies` copies of `circuit` under the free-XOR offset `delta` (lsb 1).
    /// - inputZeroLabels: copy-major, `copies × circuit.inputCount` (garbler inputs, then evaluator inputs).
    /// - tables: receives `copies × andCount × 2` ciphertexts, laid out as `tableIndex` says.
    /// - outputZeroLabels: receives `copies × outputs.count` zero-labels, copy-major (`.zero` for constant outputs).
    public static func garble(_ circuit: Circuit, delta: Block, firstCopy: UInt64, copies: Int,
                              inputZeroLabels: UnsafeBufferPointer<Block>,
                              tables: UnsafeMutableBufferPointer<Block>,
                              outputZeroLabels: UnsafeMutableBufferPointer<Block>,
                              implementation: AES128.Implementation = .automatic) {
        precondition(inputZeroLabels.count == copies * circuit.inputCount, "input label count")
        precondition(tables.count == copies * circuit.andCount * 2, "table count")
        precondition(outputZeroLabels.count == copies * circuit.outputs.count, "output label count")
        garbleChunks(circuit, delta: delta, firstCopy: firstCopy, copies: copies, tables: tables.baseAddress,
                     implementation: implementation,
                     fill: { labels, start, n in copyInputs(circuit, inputZeroLabels, labels, start, n) },
                     read: { labels, start, n in copyOutputs(circuit, labels, outputZeroLabels, start, n) })
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
        evaluateChunks(circuit, firstCopy: firstCopy, copies: copies, tables: tables.baseAddress,
                       implementation: implementation,
                       fill: { labels, start, n in copyInputs(circuit, inputLabels, labels, start, n) },
                       read: { labels, start, n in copyOutputs(circuit, labels, outputLabels, start, n) })
    }

    /// Copy-major input labels of copies start..<start+n into the rows of a wire-major chunk buffer.
    static func copyInputs(_ circuit: Circuit, _ inputs: UnsafeBufferPointer<Block>, _ labels: UnsafeMutablePointer<Block>,
                           _ start: Int, _ n: Int) {
        let ins = circuit.inputCount
        for c0 in stride(from: 0, to: n, by: 4) { // tiles of 4 copies: whole cache lines of each row
            for i in 0..<ins {
                let row = labels + i * n + c0
                for q in 0..<min(4, n - c0) { row[q] = inputs[(start + c0 + q) * ins + i] }
            }
        }
    }

    /// Output wires' labels of a chunk, copy-major into `outputs`.
    static func copyOutputs(_ circuit: Circuit, _ labels: UnsafeMutablePointer<Block>, _ outputs: UnsafeMutableBufferPointer<Block>,
                            _ start: Int, _ n: Int) {
        let outs = circuit.outputs.count
        for c0 in stride(from: 0, to: n, by: 4) { // tiles of 4 copies
            let t = min(4, n - c0)
            for (o, output) in circuit.outputs.enumerated() {
                if case .wire(let w) = output {
                    let row = labels + Int(w.index) * n + c0
                    for q in 0..<t { outputs[(start + c0 + q) * outs + o] = row[q] }
                } else {
                    for q in 0..<t { outputs[(start + c0 + q) * outs + o] = .zero }
                }
            }
        }
    }

    /// The garbling pipeline: for each chunk of copies, `fill(labels, firstCopyOfChunk, copiesInChunk)` writes
    /// the input wires' zero-labels into the wire-major buffer (row of wire w: labels[w·n ..< w·n + n]), the
    /// kernel garbles every gate, and `read` takes what it needs (outputs) from the buffer.
    static func garbleChunks(_ circuit: Circuit, delta: Block, firstCopy: UInt64, copies: Int,
                             tables: UnsafeMutablePointer<Block>?, implementation: AES128.Implementation,
                             fill: (UnsafeMutablePointer<Block>, Int, Int) -> Void,
                             read: (UnsafeMutablePointer<Block>, Int, Int) -> Void) {
        precondition(delta.lsb, "the free-XOR offset must have lsb 1 (point-and-permute)")
        let aes = hasher(implementation)
        var d = delta
        chunks(circuit, copies: copies, fill: fill, read: read) { labels, start, n in
            withUnsafeBytes(of: &d) { dp in
                circuit.kernelGates.withUnsafeBufferPointer { gates in
                    caes_halfgates_garble(aes.cipher.roundKeyPointer, gates.baseAddress, gates.count, labels, n,
                                          dp.baseAddress, (firstCopy &+ UInt64(start)) &* UInt64(circuit.andCount),
                                          circuit.andCount, tables.map { $0 + 2 * circuit.andCount * start },
                                          aes.cipher.code)
                }
            }
        }
    }

    /// The evaluation pipeline, as `garbleChunks` with active labels.
    static func evaluateChunks(_ circuit: Circuit, firstCopy: UInt64, copies: Int,
                               tables: UnsafePointer<Block>?, implementation: AES128.Implementation,
                               fill: (UnsafeMutablePointer<Block>, Int, Int) -> Void,
                               read: (UnsafeMutablePointer<Block>, Int, Int) -> Void) {
        let aes = hasher(implementation)
        chunks(circuit, copies: copies, fill: fill, read: read) { labels, start, n in
            circuit.kernelGates.withUnsafeBufferPointer { gates in
                caes_halfgates_evaluate(aes.cipher.roundKeyPointer, gates.baseAddress, gates.count, labels, n,
                                        (firstCopy &+ UInt64(start)) &* UInt64(circuit.andCount),
                                        circuit.andCount, tables.map { $0 + 2 * circuit.andCount * start },
                                        aes.cipher.code)
            }
        }
    }

    private static func chunks(_ circuit: Circuit, copies: Int,
                               fill: (UnsafeMutablePointer<Block>, Int, Int) -> Void,
                               read: (UnsafeMutablePointer<Block>, Int, Int) -> Void,
                               kernel: (UnsafeMutablePointer<Block>, Int, Int) -> Void) {
        guard copies > 0 else { return }
        let chunk = min(copies, chunkSize(circuit))
        let labels = UnsafeMutablePointer<Block>.allocate(capacity: max(1, circuit.wireCount * chunk))
        defer { labels.deallocate() }
        var start = 0
        while start < copies {
            let n = min(chunk, copies - start)
            fill(labels, start, n)
            kernel(labels, start, n)
            read(labels, start, n)
            start += n
        }
    }
}
