// Benchmarks of OT extension and OT-based correlations, as a dictionary of figures for
// `sibyl bench crypto --json`. Every figure is measured here (best of several repetitions; the machine
// is shared, so these are figures under load); byte counts come from the channels' own counters.
import Foundation
import Lattice
import NetworkCost
import Transport

/// Measures IKNP and the multiplication correlations; keys are stable for JSON consumers.
public enum TwoPartyOTBenchmark {
    /// Runs all measurements (about 10-20 s) and returns the figures:
    /// - `ot_extensions_per_second`: random OTs (IKNP + TCCR hash, 128-bit messages) per second, both
    ///   parties computed on ONE thread over an in-memory channel (the one-thread target)
    /// - `ot_cot_per_second_one_thread`: the same for correlated OT (choice bits only, no hashing)
    /// - `ot_receiver_cot_per_second`, `ot_sender_cot_per_second`: each side's extension alone
    /// - `ot_extensions_per_second_two_threads`, `ot_extensions_per_second_tcp`: random OTs with each
    ///   party on its own thread, in-memory channel / TCP over 127.0.0.1 (wall clock)
    /// - `ot_bytes_per_extension`: bytes both directions per chosen-message OT of 128-bit messages
    /// - `ot_bytes_per_cot`: bytes both directions per correlated OT (choice-bit-only COT)
    /// - `ot_bytes_per_correlated_label`: bytes per free-XOR input label (`sendCorrelatedLabels`)
    /// - `base_ot_ms`: the 128 Chou-Orlandi base OTs of an IKNP session (two threads, wall clock)
    /// - `ot_transpose_128x128_ns`: one 128x128 bit-matrix transpose
    /// - `square_pairs_per_second`, `square_pair_bytes`, `square_pair_rounds`; `beaver_triples_per_second`,
    ///   `beaver_triple_bytes`; `ole_per_second`, `ole_bytes`: whole generation with IKNP (base OTs
    ///   excluded) over an in-memory channel, the two parties on two threads; bytes both directions
    ///   per correlation, rounds = one-way flights per batch; the same rates with `_lan` / `_wan`
    ///   appended add the `NetworkProfile.lan` / `.wan` prediction for the counted traffic to the compute time;
    ///   `square_pair_bytes_silent`, `square_pair_rounds_silent`, `ole_bytes_silent`,
    ///   `polynomial4_offline_bytes_silent`: the same correlations' traffic over silent OT (its random COTs'
    ///   share included, its one-time setup not); no rates (see the code)
    /// - `silent_cot_per_second`: random COTs of one silent-OT extension iteration (128-bit parameters, 10.2 M
    ///   served) per second, each party on its own thread (one core each), wall clock; `silent_cot_bits`:
    ///   traffic per random COT (both directions); `silent_chosen_cot_bits`: per chosen-choice COT (the random
    ///   COT's bits plus its derandomisation, measured on 2^20 COTs); `silent_setup_ms`: base OTs, IKNP bootstrap and the setup iteration
    /// - `drelu_ot_per_second`, `drelu_ot_bytes`, `drelu_ot_rounds`: the sign of 2^16 40-bit values over silent OT;
    ///   `relu_ot_per_second`, `relu_ot_bytes`, `relu_ot_rounds`: the whole OT-based ReLU (OTReLU: sign, exact
    ///   truncation by 12 bits, multiplexer with silent OT both ways) on 2^16 values of k' = 40 bits; bytes
    ///   both directions per element, rounds = one-way flights for the whole batch (a layer)
    public static func run() -> [String: Double] {
        var results: [String: Double] = [:]
        do {
            try measureExtension(into: &results)
            try measureThreaded(into: &results)
            try measureCorrelations(into: &results)
            try measureSilent(into: &results)
        } catch {
            results["error"] = 1
        }
        results["ot_transpose_128x128_ns"] = measureTranspose()
        return results
    }

    // MARK: Helpers

    private static func now() -> Double { Date().timeIntervalSince1970 }

    /// Holds a result produced on another thread.
    private final class Slot<T>: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var result: Result<T, any Error>?
        func set(_ value: Result<T, any Error>) { result = value; done.signal() }
        func get() throws -> T { done.wait(); return try result!.get() }
    }

    /// Runs `second` on a new thread and `first` on this one; returns both results.
    private static func pair<A, B>(_ a: any Channel, _ b: any Channel,
                                   first: (any Channel) throws -> A,
                                   second: @escaping @Sendable (any Channel) throws -> B) throws -> (A, B) {
        let slot = Slot<B>()
        Thread.detachNewThread { slot.set(Result { try second(b) }) }
        let resultA: A
        do { resultA = try first(a) } catch { a.close(); _ = try? slot.get(); throw error }
        return (resultA, try slot.get())
    }

    /// Makes an IKNP sender/receiver pair over `a` (sender) and `b` (receiver); returns the setup time.
    private static func iknpPair(_ a: any Channel, _ b: any Channel) throws -> (IKNPSender, IKNPReceiver, Double) {
        let slot = Slot<IKNPReceiver>()
        let start = now()
        Thread.detachNewThread { slot.set(Result { try IKNPReceiver(channel: b) }) }
        let sender = try IKNPSender(channel: a)
        let receiver = try slot.get()
        return (sender, receiver, now() - start)
    }

    // MARK: Measurements

    private static func measureSilent(into results: inout [String: Double]) throws {
        let (a, b) = InMemoryChannel.makePair(timeout: 120)
        defer { a.close(); b.close() }
        let slot = Slot<SilentOTReceiver>()
        var start = now()
        Thread.detachNewThread { slot.set(Result { try SilentOTReceiver(channel: b) }) }
        let sender = try SilentOTSender(channel: a)
        let receiver = try slot.get()
        results["silent_setup_ms"] = (now() - start) * 1e3
        var best = Double.infinity, served = 0
        for _ in 0..<3 {
            a.resetStats()
            start = now()
            let (count, _) = try pair(a, b, first: { _ in try sender.generate() }, second: { _ in try receiver.generate() })
            best = min(best, now() - start)
            served = count
        }
        results["silent_cot_per_second"] = Double(served) / best
        results["silent_cot_bits"] = Double((a.stats.bytesSent + a.stats.bytesReceived) * 8) / Double(served)
        a.resetStats()
        let count = 1 << 20
        var generator = AESPRG()
        let choices = ChoiceBits(randomCount: count, using: &generator)
        _ = try pair(a, b, first: { _ in try sender.correlated(count: count) }, second: { _ in try receiver.correlated(choices: choices) })
        results["silent_chosen_cot_bits"] = results["silent_cot_bits"]! + Double((a.stats.bytesSent + a.stats.bytesReceived) * 8) / Double(count)
        let elements = 1 << 16
        let shares = (0..<elements).map { _ in generator.nextUInt64() }
        a.resetStats()
        start = now()
        _ = try pair(a, b, first: { _ in try DReLU.send(shares, bits: 40, ot: sender) },
                     second: { _ in try DReLU.receive(shares, bits: 40, ot: receiver) })
        results["drelu_ot_per_second"] = Double(elements) / (now() - start)
        results["drelu_ot_bytes"] = Double(a.stats.bytesSent + a.stats.bytesReceived) / Double(elements)
        results["drelu_ot_rounds"] = Double(a.stats.totalRounds)
        // The reverse direction (the client as OT sender) for the multiplexer.
        let reverseSlot = Slot<SilentOTSender>()
        Thread.detachNewThread { reverseSlot.set(Result { try SilentOTSender(channel: b) }) }
        let reverseReceiver = try SilentOTReceiver(channel: a)
        let reverseSender = try reverseSlot.get()
        let clientShares = (0..<elements).map { _ in generator.nextUInt64() }
        a.resetStats()
        start = now()
        _ = try pair(a, b, first: { _ in
                        try OTReLU.server(shares, valueBits: 40, truncation: 12, forward: sender, reverse: reverseReceiver) },
                     second: { _ in
                        try OTReLU.client(clientShares, valueBits: 40, truncation: 12, forward: receiver, reverse: reverseSender) })
        results["relu_ot_per_second"] = Double(elements) / (now() - start)
        results["relu_ot_bytes"] = Double(a.stats.bytesSent + a.stats.bytesReceived) / Double(elements)
        results["relu_ot_rounds"] = Double(a.stats.totalRounds)
    }

    private static func measureExtension(into results: inout [String: Double]) throws {
        let (a, b) = InMemoryChannel.makePair(timeout: 120)
        defer { a.close(); b.close() }
        let (sender, receiver, setup) = try iknpPair(a, b)
        results["base_ot_ms"] = setup * 1e3
        let n = 1 << 20
        var generator = AESPRG()
        let choices = ChoiceBits(randomCount: n, using: &generator)
        var q = [Block](repeating: .zero, count: n)
        var t = [Block](repeating: .zero, count: n)
        var bestReceiver = Double.infinity, bestSender = Double.infinity, bestBoth = Double.infinity
        for _ in 0..<5 {
            let t0 = now()
            _ = try t.withUnsafeMutableBufferPointer { try receiver.extend(choices: choices, into: $0) }
            let t1 = now()
            _ = try q.withUnsafeMutableBufferPointer { try sender.extend(into: $0) }
            let t2 = now()
            bestReceiver = min(bestReceiver, t1 - t0)
            bestSender = min(bestSender, t2 - t1)
            bestBoth = min(bestBoth, t2 - t0)
        }
        results["ot_receiver_cot_per_second"] = Double(n) / bestReceiver
        results["ot_sender_cot_per_second"] = Double(n) / bestSender
        results["ot_cot_per_second_one_thread"] = Double(n) / bestBoth

        // Random OT through the public API (extension, hashing, allocation of the outputs).
        var bestRandom = Double.infinity
        for _ in 0..<5 {
            let t0 = now()
            let chosen = try receiver.random(choices: choices)
            let (m0, m1) = try sender.random(count: n)
            let elapsed = now() - t0
            precondition(chosen[0] == (choices[0] ? m1[0] : m0[0]), "random OT self-check failed")
            bestRandom = min(bestRandom, elapsed)
        }
        results["ot_extensions_per_second"] = Double(n) / bestRandom

        // Bytes: correlated OT and chosen 128-bit-message OT, both directions per OT.
        a.resetStats()
        let small = 1 << 16
        let smallChoices = ChoiceBits(randomCount: small, using: &generator)
        _ = try receiver.correlated(choices: smallChoices)
        _ = try sender.correlated(count: small)
        results["ot_bytes_per_cot"] = Double(a.stats.totalBytes) / Double(small)
        a.resetStats()
        let messages = (0..<small).map { _ in generator.nextBlock() }
        let pads = try receiver.random(choices: smallChoices)         // receiver streams its columns first
        try sender.send(messages0: messages, messages1: messages)
        let masked = try b.receiveMessage(expecting: OTMessage.chosenMessages)
        precondition(masked.count == 32 * small && pads.count == small, "chosen OT size self-check failed")
        results["ot_bytes_per_extension"] = Double(a.stats.totalBytes) / Double(small)
        a.resetStats()
        let pads2 = try receiver.random(choices: smallChoices)
        let labels = try sender.sendCorrelatedLabels(count: small, correlation: Block(lo: 1, hi: 0))
        let corrections = try b.receiveMessage(expecting: OTMessage.correlatedLabels)
        precondition(corrections.count == 16 * small && labels.count == pads2.count, "label OT size self-check failed")
        results["ot_bytes_per_correlated_label"] = Double(a.stats.totalBytes) / Double(small)
    }

    private static func measureThreaded(into results: inout [String: Double]) throws {
        let n = 1 << 21
        var generator = AESPRG()
        let choices = ChoiceBits(randomCount: n, using: &generator)
        for (key, useTCP) in [("ot_extensions_per_second_two_threads", false), ("ot_extensions_per_second_tcp", true)] {
            let a: any Channel, b: any Channel
            if useTCP {
                let listener = try TCPListener(host: "127.0.0.1", port: 0)
                let port = listener.port
                let slot = Slot<TCPChannel>()
                Thread.detachNewThread { slot.set(Result { try TCPChannel.connect(host: "127.0.0.1", port: port, timeout: 120) }) }
                a = try listener.accept(acceptTimeout: 30, timeout: 120)
                b = try slot.get()
            } else {
                (a, b) = InMemoryChannel.makePair(capacity: 64 << 20, timeout: 120)
            }
            defer { a.close(); b.close() }
            let (sender, receiver, _) = try iknpPair(a, b)
            var best = Double.infinity
            for _ in 0..<3 {
                let t0 = now()
                _ = try pair(a, b, first: { _ in try sender.random(count: n).messages0.count },
                             second: { _ in try receiver.random(choices: choices).count })
                best = min(best, now() - t0)
            }
            results[key] = Double(n) / best
        }
    }

    /// The OLE-based correlations over IKNP (keys as named) and over silent OT (`_silent` appended).
    private static func measureCorrelations(into results: inout [String: Double]) throws {
        do {
            let (a, b) = InMemoryChannel.makePair(timeout: 120)
            defer { a.close(); b.close() }
            let (sender, receiver, _) = try iknpPair(a, b)
            try measureCorrelations(sender, receiver, a, b, suffix: "", into: &results)
        }
        let (a, b) = InMemoryChannel.makePair(timeout: 120)
        defer { a.close(); b.close() }
        let slot = Slot<SilentOTReceiver>()
        Thread.detachNewThread { slot.set(Result { try SilentOTReceiver(channel: b) }) }
        let sender = try SilentOTSender(channel: a)
        try measureCorrelations(sender, try slot.get(), a, b, suffix: "_silent", into: &results)
    }

    private static func measureCorrelations(_ sender: any CorrelatedOTSender, _ receiver: any CorrelatedOTReceiver,
                                            _ a: any Channel, _ b: any Channel, suffix: String,
                                            into results: inout [String: Double]) throws {
        let oleSender = OLESender(ot: sender)
        let oleReceiver = OLEReceiver(ot: receiver)

        func measure(_ name: String, count: Int, bytesKey: String,
                     first: (OLESender) throws -> Int, second: @escaping @Sendable () throws -> Int) throws {
            var best = Double.infinity
            var stats = ChannelStats()
            for _ in 0..<3 {
                a.resetStats()
                let t0 = now()
                _ = try pair(a, b, first: { _ in try first(oleSender) }, second: { _ in try second() })
                best = min(best, now() - t0)
                stats = a.stats
            }
            results[bytesKey + suffix] = Double(stats.totalBytes) / Double(count)
            if name == "square_pairs_per_second" { results["square_pair_rounds" + suffix] = Double(stats.totalRounds) }
            // Rates over IKNP only: silent OT serves these batches partly from COTs its setup generated, so
            // a rate would leave generation out (that is `silent_cot_per_second`; whole runs: sibyl evaluate).
            guard suffix.isEmpty else { return }
            results[name] = Double(count) / best
            // Emulated networks: measured compute time plus the predicted transfer and latency.
            results[name + "_lan"] = Double(count) / (best + NetworkProfile.lan.predictedSeconds(for: stats))
            results[name + "_wan"] = Double(count) / (best + NetworkProfile.wan.predictedSeconds(for: stats))
        }

        // The offline correlation of one squared element (OneRoundSquare: an OLE with shift 1).
        let squares = 1 << 17
        var generator = AESPRG()
        let shares = (0..<squares).map { _ in generator.nextUInt64() }
        try measure("square_pairs_per_second", count: squares, bytesKey: "square_pair_bytes",
                    first: { _ in try OneRoundSquare.serverOffline(count: squares, ot: sender).count },
                    second: { try OneRoundSquare.clientOffline(shares: shares, ot: receiver).count })
        let products = 1 << 16
        let factors = (0..<products).map { _ in generator.nextUInt64() }
        try measure("ole_per_second", count: products, bytesKey: "ole_bytes",
                    first: { try $0.multiply(factors).count },
                    second: { try oleReceiver.multiply(Array(shares.prefix(products))).count })
        // The offline OLEs of one degree-4 polynomial element (OneRoundPolynomial: per plaintext prime, one
        // inner product of the client's four powers, by HE: no OT, so measured once), a 16x32x32 layer.
        guard suffix.isEmpty else { return }
        let elements = 1 << 14
        let context = try PrimeOLEContext()
        let oleClient = PrimeOLEClient(context: context)
        let oleServer = try PrimeOLEServer(context: context, setupMessage: try oleClient.setupMessage())
        let layer = (0..<elements).map { _ in generator.nextUInt64() }
        try measure("polynomial4_offline_per_second", count: elements, bytesKey: "polynomial4_offline_bytes",
                    first: { _ in try OneRoundPolynomial.serverOffline(count: elements, degree: 4, ole: oleServer, channel: a).count },
                    second: { try OneRoundPolynomial.clientOffline(shares: layer, degree: 4, ole: oleClient, channel: b).count })
    }

    private static func measureTranspose() -> Double {
        let groups = 64
        var generator = AESPRG()
        let columns = (0..<(128 * groups)).map { _ in generator.nextBlock() }
        var rows = [Block](repeating: .zero, count: 128 * groups)
        var best = Double.infinity
        for _ in 0..<5 {
            let t0 = now()
            for _ in 0..<100 {
                columns.withUnsafeBufferPointer { c in
                    rows.withUnsafeMutableBufferPointer { r in
                        BitTranspose.transposeColumns(c.baseAddress!, columnStride: groups, groups: groups,
                                                      into: r.baseAddress!, rowCount: 128 * groups)
                    }
                }
            }
            best = min(best, (now() - t0) / Double(100 * groups))
        }
        return best * 1e9
    }
}
