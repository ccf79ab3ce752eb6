// Throughput and size figures for fixed-key AES and garbled circuits (one thread). Timings take the
// best of several repetitions, since the machine is shared; sizes are exact counts.
import Foundation

public enum GarblingBenchmark {
    /// This thread's CPU time in seconds (excludes time the thread waited for a core).
    static func threadCPUTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Best wall time and best thread CPU time of `repetitions` runs of `body`, in seconds.
    static func bestTimes(_ repetitions: Int, _ body: () -> Void) -> (wall: Double, cpu: Double) {
        var wall = Double.infinity, cpu = Double.infinity
        for _ in 0..<repetitions {
            let start = DispatchTime.now().uptimeNanoseconds
            let cpuStart = threadCPUTime()
            body()
            cpu = min(cpu, threadCPUTime() - cpuStart)
            wall = min(wall, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        return (wall, cpu)
    }

    static func record(_ result: inout [String: Double], _ key: String, _ count: Double, _ times: (wall: Double, cpu: Double)) {
        result[key + "_per_second"] = count / times.wall
        result[key + "_per_cpu_second"] = count / times.cpu
    }

    /// Runs the benchmarks on the ReLU circuit at k' = `valueBits`, f = `truncationBits`, garbling and
    /// evaluating `batches` consecutive batches of `batchSize` ReLUs (streaming), best of `repetitions`.
    ///
    /// Every throughput comes twice: `…_per_second` from the best wall-clock time, `…_per_cpu_second` from
    /// the best thread CPU time (the same work, not counting time spent waiting for a core on a shared
    /// machine). Keys:
    /// - garble_and_gates_per_second, evaluate_and_gates_per_second: whole ReLU batches, end to end on one
    ///   party's side (masks, input labels, half-gates, output decoding bits / decoding; no network, no OT).
    /// - garble_aesni_and_gates_per_second, evaluate_aesni_and_gates_per_second: the same with the AES-NI
    ///   kernels (8 or more blocks in flight) instead of VAES.
    /// - garble_kernel_and_gates_per_second, evaluate_kernel_and_gates_per_second: `HalfGates` alone on one
    ///   batch of ReLU circuits with given input labels.
    /// - aes_blocks_per_second (fixed-key AES, batched, fastest implementation on this CPU),
    ///   aes_ni_blocks_per_second (AES-NI, 8 blocks in flight), aes_software_blocks_per_second,
    ///   tccr_hash_blocks_per_second (FixedKeyAES.hash(_:firstTweak:), batched).
    /// - garble_relus_per_second, evaluate_relus_per_second: the same end-to-end runs counted in ReLUs
    ///   (their time includes the output projection gates, which the AND-gate rates do not count).
    /// - relu_and_gates, relu_garbled_bytes (offline per ReLU without OT: tables and output rows),
    ///   relu_offline_bytes (the same plus k' OT'd labels at 32 bytes each: IKNP with correlated labels),
    ///   relu_offline_bytes_chosen_message_ot (at 48 bytes per label),
    ///   relu_online_bytes (k' garbler labels), relu_value_bits, relu_truncation_bits, relu_batch_size,
    ///   relu_bits_output_and_gates and relu_bits_output_garbled_bytes (the same ReLU with the mask added
    ///   in the circuit and 1-bit output decoding, OutputEncoding.bits).
    public static func run(valueBits: Int = ReLUCircuit.defaultValueBits, truncationBits: Int = 12,
                           batchSize: Int = 1024, batches: Int = 8, repetitions: Int = 5) -> [String: Double] {
        var result: [String: Double] = [:]
        guard batchSize > 0, batches > 0,
              let relu = try? ReLUCircuit(valueBits: valueBits, truncationBits: truncationBits) else { return result }
        let circuit = relu.circuit
        result["relu_value_bits"] = Double(valueBits)
        result["relu_truncation_bits"] = Double(truncationBits)
        result["relu_batch_size"] = Double(batchSize)
        result["relu_and_gates"] = Double(circuit.andCount)
        result["relu_garbled_bytes"] = Double(relu.garbledBytesPerReLU)
        // The client's labels by IKNP: 32 bytes per label with correlated-label OT (16-byte column +
        // 16-byte correction, the OT module's sendCorrelatedLabels), 48 with chosen-message OT.
        result["relu_offline_bytes"] = Double(relu.offlineBytesPerReLU(otBytesPerLabel: 32))
        result["relu_offline_bytes_chosen_message_ot"] = Double(relu.offlineBytesPerReLU(otBytesPerLabel: 48))
        result["relu_online_bytes"] = Double(relu.onlineBytesPerReLU)
        if let masked = try? ReLUCircuit(valueBits: valueBits, truncationBits: truncationBits, outputEncoding: .bits) {
            result["relu_bits_output_and_gates"] = Double(masked.circuit.andCount)
            result["relu_bits_output_garbled_bytes"] = Double(masked.garbledBytesPerReLU)
        }

        // Fixed-key AES on 64 Ki blocks (1 MiB, in L2/L3).
        var blocks = [Block](repeating: .zero, count: 1 << 16)
        var prg = AESPRG()
        blocks.withUnsafeMutableBufferPointer { prg.fill($0) }
        for (key, impl, count) in [("aes_blocks", AES128.Implementation.automatic, 1 << 16),
                                   ("aes_ni_blocks", .aesni, 1 << 16),
                                   ("aes_software_blocks", .software, 1 << 10)] where impl.isAvailable {
            let aes = AES128(key: FixedKeyAES.publicKey, implementation: impl)
            let t = bestTimes(repetitions) {
                blocks.withUnsafeMutableBufferPointer { aes.encrypt(UnsafeMutableBufferPointer(rebasing: $0[0..<count])) }
            }
            record(&result, key, Double(count), t)
        }

        // The tweakable hash that half-gates (and IKNP) call, batched, in place.
        let tccr = bestTimes(repetitions) {
            blocks.withUnsafeMutableBufferPointer { FixedKeyAES.shared.hash($0, firstTweak: 1) }
        }
        record(&result, "tccr_hash_blocks", Double(blocks.count), tccr)

        // Half-gates kernels on one batch of ReLU circuits.
        var delta = prg.nextBlock()
        delta.lo |= 1
        var inputs = [Block](repeating: .zero, count: batchSize * circuit.inputCount)
        inputs.withUnsafeMutableBufferPointer { prg.fill($0) }
        var tables = [Block](repeating: .zero, count: batchSize * circuit.andCount * 2)
        var outputs = [Block](repeating: .zero, count: batchSize * circuit.outputs.count)
        let batchAnds = Double(batchSize * circuit.andCount)
        let tg = bestTimes(repetitions) {
            inputs.withUnsafeBufferPointer { inp in
                tables.withUnsafeMutableBufferPointer { tab in
                    outputs.withUnsafeMutableBufferPointer { out in
                        HalfGates.garble(circuit, delta: delta, firstCopy: 0, copies: batchSize, inputZeroLabels: inp,
                                         tables: tab, outputZeroLabels: out)
                    }
                }
            }
        }
        record(&result, "garble_kernel_and_gates", batchAnds, tg)
        let te = bestTimes(repetitions) {
            inputs.withUnsafeBufferPointer { inp in
                tables.withUnsafeBufferPointer { tab in
                    outputs.withUnsafeMutableBufferPointer { out in
                        HalfGates.evaluate(circuit, firstCopy: 0, copies: batchSize, inputLabels: inp, tables: tab,
                                           outputLabels: out)
                    }
                }
            }
        }
        record(&result, "evaluate_kernel_and_gates", batchAnds, te)

        // Whole ReLU batches, streamed: `batches` batches garbled one after the other into one reused batch
        // buffer, as a sender that sends each before garbling the next; then `batches` distinct batches
        // (together larger than the caches) evaluated, as if just received.
        var garbler = ReLUGarbler(relu)
        let evaluator = ReLUEvaluator(relu)
        let allAnds = Double(batches) * batchAnds
        var reused = GarbledBatch.empty
        let trg = bestTimes(repetitions) {
            for _ in 0..<batches { _ = try? garbler.garbleOffline(count: batchSize, into: &reused) }
        }
        record(&result, "garble_and_gates", allAnds, trg)
        record(&result, "garble_relus", Double(batches * batchSize), trg)
        var sent: [(batch: GarbledBatch, ot: [Block], online: [Block])] = []
        for _ in 0..<batches {
            guard let (batch, state) = try? garbler.garbleOffline(count: batchSize) else { return result }
            let shares = (0..<batchSize).map { _ in prg.nextUInt64() }
            let choices = evaluator.choiceBits(clientShares: shares)
            let (zero, one) = state.evaluatorInputLabelPairs()
            let ot = choices.indices.map { choices[$0] ? one[$0] : zero[$0] }
            guard let online = try? state.onlineLabels(serverShares: shares) else { return result }
            sent.append((batch, ot, online))
        }
        let tre = bestTimes(repetitions) {
            for s in sent { _ = try? evaluator.evaluate(s.batch, evaluatorLabels: s.ot, garblerLabels: s.online) }
        }
        record(&result, "evaluate_and_gates", allAnds, tre)
        record(&result, "evaluate_relus", Double(batches * batchSize), tre)

        // The same two end-to-end figures with the AES-NI kernels (what a CPU without VAES gets).
        if AES128.Implementation.aesni.isAvailable {
            var garblerNI = ReLUGarbler(relu, implementation: .aesni)
            let evaluatorNI = ReLUEvaluator(relu, implementation: .aesni)
            let tgn = bestTimes(repetitions) {
                for _ in 0..<batches { _ = try? garblerNI.garbleOffline(count: batchSize, into: &reused) }
            }
            record(&result, "garble_aesni_and_gates", allAnds, tgn)
            let ten = bestTimes(repetitions) {
                for s in sent { _ = try? evaluatorNI.evaluate(s.batch, evaluatorLabels: s.ot, garblerLabels: s.online) }
            }
            record(&result, "evaluate_aesni_and_gates", allAnds, ten)
        }
        return result
    }
}
