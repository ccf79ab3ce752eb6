// Throughput and size figures for fixed-key AES and garbled circuits (one thread). Timings take the
// best of several repetitions, since the machine is shared; sizes are exact counts.
import Foundation

public enum GarblingBenchmark {
    /// Best wall time of `repetitions` runs of `body`, in seconds.
    static func bestTime(_ repetitions: Int, _ body: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<repetitions {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            let end = DispatchTime.now().uptimeNanoseconds
            best = min(best, Double(end - start) * 1e-9)
        }
        return best
    }

    /// Runs the benchmarks at k' = `valueBits`, f = `truncationBits`, on `relus` ReLUs per batch.
    /// Keys: aes_blocks_per_second (fixed-key AES, batched, best implementation), aes_ni_blocks_per_second,
    /// garble_and_gates_per_second and evaluate_and_gates_per_second (the half-gates kernels on a batch of
    /// ReLU circuits, XOR/NOT gates and label transposition included), relu_garble_and_gates_per_second and
    /// relu_evaluate_and_gates_per_second (whole ReLU batches end to end: masks, labels, decoding),
    /// relu_and_gates, relu_garbled_bytes (offline, without OT), relu_offline_bytes (with 48 bytes of IKNP
    /// per OT'd label, an estimate), relu_online_bytes, relu_value_bits, relu_truncation_bits.
    public static func run(valueBits: Int = ReLUCircuit.defaultValueBits, truncationBits: Int = 12,
                           relus: Int = 8192, repetitions: Int = 5) -> [String: Double] {
        var result: [String: Double] = [:]
        guard let relu = try? ReLUCircuit(valueBits: valueBits, truncationBits: truncationBits) else { return result }
        let circuit = relu.circuit
        result["relu_value_bits"] = Double(valueBits)
        result["relu_truncation_bits"] = Double(truncationBits)
        result["relu_and_gates"] = Double(circuit.andCount)
        result["relu_garbled_bytes"] = Double(relu.garbledBytesPerReLU)
        result["relu_offline_bytes"] = Double(relu.offlineBytesPerReLU(otBytesPerLabel: 48))
        result["relu_online_bytes"] = Double(relu.onlineBytesPerReLU)

        // Fixed-key AES.
        var blocks = [Block](repeating: .zero, count: 1 << 16)
        var prg = AESPRG()
        blocks.withUnsafeMutableBufferPointer { prg.fill($0) }
        for (key, impl) in [("aes_blocks_per_second", AES128.Implementation.automatic), ("aes_ni_blocks_per_second", .aesni)]
        where impl.isAvailable {
            let aes = AES128(key: FixedKeyAES.publicKey, implementation: impl)
            let t = bestTime(repetitions) { blocks.withUnsafeMutableBufferPointer { aes.encrypt($0) } }
            result[key] = Double(blocks.count) / t
        }

        // Half-gates kernels on `relus` copies of the ReLU circuit.
        var delta = prg.nextBlock()
        delta.lo |= 1
        var inputs = [Block](repeating: .zero, count: relus * circuit.inputCount)
        inputs.withUnsafeMutableBufferPointer { prg.fill($0) }
        var tables = [Block](repeating: .zero, count: relus * circuit.andCount * 2)
        var outputs = [Block](repeating: .zero, count: relus * circuit.outputs.count)
        let ands = Double(relus * circuit.andCount)
        let tg = bestTime(repetitions) {
            inputs.withUnsafeBufferPointer { inp in
                tables.withUnsafeMutableBufferPointer { tab in
                    outputs.withUnsafeMutableBufferPointer { out in
                        HalfGates.garble(circuit, delta: delta, firstCopy: 0, copies: relus, inputZeroLabels: inp,
                                         tables: tab, outputZeroLabels: out)
                    }
                }
            }
        }
        result["garble_and_gates_per_second"] = ands / tg
        let te = bestTime(repetitions) {
            inputs.withUnsafeBufferPointer { inp in
                tables.withUnsafeBufferPointer { tab in
                    outputs.withUnsafeMutableBufferPointer { out in
                        HalfGates.evaluate(circuit, firstCopy: 0, copies: relus, inputLabels: inp, tables: tab, outputLabels: out)
                    }
                }
            }
        }
        result["evaluate_and_gates_per_second"] = ands / te

        // Whole ReLU batches, end to end (one party's computation; no network).
        var garbler = ReLUGarbler(relu)
        let evaluator = ReLUEvaluator(relu)
        var last: (batch: GarbledBatch, state: ReLUGarblerBatch)? = nil
        let trg = bestTime(repetitions) { last = try? garbler.garbleOffline(count: relus) }
        result["relu_garble_and_gates_per_second"] = ands / trg
        if let (batch, state) = last {
            let shares = (0..<relus).map { _ in prg.nextUInt64() }
            let choices = evaluator.choiceBits(clientShares: shares)
            let (zero, one) = state.evaluatorInputLabelPairs()
            let ot = choices.indices.map { choices[$0] ? one[$0] : zero[$0] }
            let online = (try? state.onlineLabels(serverShares: shares)) ?? []
            let tre = bestTime(repetitions) { _ = try? evaluator.evaluate(batch, evaluatorLabels: ot, garblerLabels: online) }
            result["relu_evaluate_and_gates_per_second"] = ands / tre
            result["relu_batch_serialized_bytes_per_relu"] = Double(batch.serializedByteCount) / Double(relus)
        }
        return result
    }
}
