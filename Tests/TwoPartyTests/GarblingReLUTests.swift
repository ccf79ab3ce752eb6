// The ReLU circuit over additive shares in Z_(2^64): AND counts, clear semantics, and full garbled runs
// whose output shares reconstruct to ReLU(x) >> f exactly (negative x gives 0).
import TwoParty
import XCTest

final class GarblingReLUTests: XCTestCase {
    func testAndCounts() throws {
        for encoding in [OutputEncoding.gatedShares, .additiveShares, .bits] {
            for k in [8, 20, 32, 40, 44, 64] {
                for f in [0, 1, 8, 12, k - 2, k - 1] where f >= 0 && f < k {
                    let relu = try ReLUCircuit(valueBits: k, truncationBits: f, outputEncoding: encoding)
                    XCTAssertEqual(relu.circuit.andCount,
                                   ReLUCircuit.expectedAndCount(valueBits: k, truncationBits: f, outputEncoding: encoding),
                                   "k'=\(k) f=\(f) \(encoding)")
                }
            }
        }
        // The default: the multiplexer's ANDs sit in the output tables, only the adder's remain.
        XCTAssertEqual(try ReLUCircuit(valueBits: 40, truncationBits: 0).circuit.andCount, 39)
        XCTAssertEqual(try ReLUCircuit(valueBits: 40, truncationBits: 12).circuit.andCount, 39)
        XCTAssertEqual(try ReLUCircuit(valueBits: 40, truncationBits: 0, outputEncoding: .additiveShares).circuit.andCount, 78)
        XCTAssertEqual(try ReLUCircuit(valueBits: 40, truncationBits: 12, outputEncoding: .additiveShares).circuit.andCount, 66)
        XCTAssertEqual(try ReLUCircuit(valueBits: 40, truncationBits: 0, outputEncoding: .bits).circuit.andCount, 141)
        XCTAssertEqual(try ReLUCircuit(valueBits: 40, truncationBits: 12, outputEncoding: .bits).circuit.andCount, 129)
        XCTAssertLessThanOrEqual(try ReLUCircuit(valueBits: 44, outputEncoding: .bits).circuit.andCount, 200)
        XCTAssertEqual(try ReLUCircuit(valueBits: 40, truncationBits: 12).garbledBytesPerReLU, 39 * 32 + 27 * 24)
        XCTAssertEqual(try ReLUCircuit(valueBits: 40, truncationBits: 12, outputEncoding: .additiveShares).garbledBytesPerReLU, 66 * 32 + 27 * 16)
        XCTAssertEqual(try ReLUCircuit(valueBits: 40, truncationBits: 12, outputEncoding: .bits).garbledBytesPerReLU, 129 * 32 + 8)
        XCTAssertThrowsError(try ReLUCircuit(valueBits: 1))
        XCTAssertThrowsError(try ReLUCircuit(valueBits: 65))
        XCTAssertThrowsError(try ReLUCircuit(valueBits: 40, truncationBits: 40))
        XCTAssertThrowsError(try ReLUCircuit(valueBits: 40, truncationBits: -1))
    }

    /// Values x with |x| < 2^(k'-1): edges and random ones.
    func testValues(_ relu: ReLUCircuit, _ rng: inout AESPRG, random: Int) -> [Int64] {
        let k = relu.valueBits, f = relu.truncationBits
        let top = k == 64 ? Int64.max : (Int64(1) << Int64(k - 1)) - 1
        let bottom = k == 64 ? Int64.min : -(Int64(1) << Int64(k - 1))
        var xs: [Int64] = [0, 1, -1, 2, -2, top, bottom, top - 1, bottom + 1]
        if f < 62 {
            let p = Int64(1) << Int64(f)
            xs += [p - 1, p, p + 1, -p - 1, -p, -p + 1].filter { $0 <= top && $0 >= bottom }
        }
        for _ in 0..<random {
            let r = Int64(bitPattern: rng.nextUInt64())
            xs.append(k == 64 ? r : r >> Int64(64 - k)) // uniform in [bottom, top]
        }
        return xs
    }

    func testClearCircuitMatchesReLU() throws {
        let seed = freshSeed()
        var rng = AESPRG(seed: seed)
        for (k, f) in [(8, 0), (8, 3), (32, 12), (40, 0), (40, 12), (64, 16)] {
            let masked = try ReLUCircuit(valueBits: k, truncationBits: f, outputEncoding: .bits)
            let plain = try ReLUCircuit(valueBits: k, truncationBits: f, outputEncoding: .additiveShares)
            for x in testValues(masked, &rng, random: 20) {
                let xc = rng.nextUInt64(), xs = UInt64(bitPattern: x) &- xc, m = rng.nextUInt64()
                XCTAssertEqual(masked.value(clientShare: xc, serverShare: xs), x)
                let out = masked.circuit.evaluate(garblerInputs: bits(xs, k) + bits(m, 64), evaluatorInputs: bits(xc, k))
                XCTAssertEqual(word(out[...]), masked.plaintext(x) &+ m, "x=\(x) k'=\(k) f=\(f) seed \(seed)")
                XCTAssertEqual(masked.reference(clientShare: xc, serverShare: xs, mask: m), masked.plaintext(x) &+ m)
                let y = plain.circuit.evaluate(garblerInputs: bits(xs, k), evaluatorInputs: bits(xc, k))
                XCTAssertEqual(word(y[...]), plain.plaintext(x), "x=\(x) k'=\(k) f=\(f) seed \(seed)")
            }
        }
    }

    func testGarbledReLUReconstructs() throws {
        let seed = freshSeed()
        var rng = AESPRG(seed: seed)
        for encoding in [OutputEncoding.gatedShares, .additiveShares, .bits] {
            for (k, f) in [(8, 0), (8, 7), (20, 4), (32, 12), (40, 0), (40, 12), (44, 8), (64, 0), (64, 20)] {
                let relu = try ReLUCircuit(valueBits: k, truncationBits: f, outputEncoding: encoding)
                let xs = testValues(relu, &rng, random: 60)
                // Shares drawn at random over all of Z_(2^64); ideal OT: the client receives the labels its share
                // bits choose.
                let g = try garble(relu, xs, &rng)
                let (batch, state, evaluator, otLabels) = (g.batch, g.state, g.evaluator, g.otLabels)
                let online = try state.onlineLabels(serverShares: g.serverShares)
                XCTAssertEqual(online.count * 16, xs.count * relu.onlineBytesPerReLU)
                let wire = try GarbledBatch(serialized: batch.serialized())
                XCTAssertEqual(wire, batch)
                let clientOut = try evaluator.evaluate(wire, evaluatorLabels: otLabels, garblerLabels: online)
                for i in xs.indices {
                    XCTAssertEqual(clientOut[i] &+ state.outputShares[i], relu.plaintext(xs[i]),
                                   "x=\(xs[i]) k'=\(k) f=\(f) \(encoding) seed \(seed)")
                }
                XCTAssertEqual(batch.payloadByteCount, xs.count * relu.garbledBytesPerReLU + (encoding == .bits ? 16 : 0))
            }
        }
    }

    /// The online message streamed in frames (`ReLUEvaluator.frames`, as the secure sessions send it): each
    /// frame's labels evaluated alone give the shares of the whole batch, for every output encoding, batches
    /// smaller than, equal to and not a multiple of a frame (the last frame partial); ranges must start on a
    /// group of 16 copies.
    func testFramesEvaluateToTheWholeBatch() throws {
        let seed = freshSeed()
        var rng = AESPRG(seed: seed)
        for encoding in [OutputEncoding.gatedShares, .additiveShares, .bits] {
            let relu = try ReLUCircuit(valueBits: 34, truncationBits: 12, outputEncoding: encoding)
            for count in [1, 37, ReLUEvaluator.frameCopies, 2 * ReLUEvaluator.frameCopies + 77] {
                let xs = (0..<count).map { _ in Int64(bitPattern: rng.nextUInt64()) >> 32 }
                let g = try garble(relu, xs, &rng)
                let (batch, state, evaluator, otLabels, serverShares) = (g.batch, g.state, g.evaluator, g.otLabels, g.serverShares)
                let whole = try evaluator.evaluate(batch, evaluatorLabels: otLabels,
                                                   garblerLabels: try state.onlineLabels(serverShares: serverShares))
                var framed: [UInt64] = []
                for frame in ReLUEvaluator.frames(count: count) {
                    framed += try evaluator.evaluate(batch, evaluatorLabels: otLabels,
                                                     garblerLabels: try state.onlineLabels(serverShares: serverShares, copies: frame),
                                                     copies: frame)
                }
                XCTAssertEqual(framed, whole, "\(encoding), \(count) ReLUs, seed \(seed)")
                for i in xs.indices where framed[i] &+ state.outputShares[i] != relu.plaintext(xs[i]) {
                    XCTFail("ReLU \(i) of \(count), \(encoding), seed \(seed)")
                    break
                }
                if count > 16 {
                    XCTAssertThrowsError(try evaluator.evaluate(batch, evaluatorLabels: otLabels,
                                                                garblerLabels: try state.onlineLabels(serverShares: serverShares, copies: 8..<count),
                                                                copies: 8..<count))
                }
            }
        }
    }

    /// A correlated OT fixes the client's zero-labels and hands it zero ⊕ bit·Δ; the garbler garbles with them.
    func testGarbledReLUWithCorrelatedOTLabels() throws {
        let seed = freshSeed()
        var rng = AESPRG(seed: seed)
        let relu = try ReLUCircuit(valueBits: 32, truncationBits: 8)
        let n = 90
        let xs = (0..<n).map { _ in Int64(bitPattern: rng.nextUInt64()) >> 33 }
        let cs = xs.map { _ in rng.nextUInt64() }
        let ss = zip(xs, cs).map { UInt64(bitPattern: $0) &- $1 }
        var garbler = ReLUGarbler(relu)
        let delta = garbler.labelOffset
        XCTAssertTrue(delta.lsb)
        var zeros = [Block](repeating: .zero, count: n * 32)
        zeros.withUnsafeMutableBufferPointer { rng.fill($0) } // stand-in for the OT's random pads
        XCTAssertThrowsError(try garbler.garbleOffline(count: n, evaluatorZeroLabels: Array(zeros.dropLast())))
        let (batch, state) = try garbler.garbleOffline(count: n, evaluatorZeroLabels: zeros)
        XCTAssertEqual(state.evaluatorInputLabelPairs().zero, zeros)
        let evaluator = ReLUEvaluator(relu)
        let choices = evaluator.choiceBits(clientShares: cs)
        let received = choices.indices.map { zeros[$0] ^ delta.masked(by: choices[$0]) }
        let out = try evaluator.evaluate(batch, evaluatorLabels: received, garblerLabels: try state.onlineLabels(serverShares: ss))
        for i in 0..<n {
            XCTAssertEqual(out[i] &+ state.outputShares[i], relu.plaintext(xs[i]), "x=\(xs[i]) seed \(seed)")
        }
    }

    /// Two ReLU layers garbled with the correlated OT's own Δ as offset (as a session garbles): the client's
    /// labels are its COT outputs with no message of their own, both layers reconstruct, and their tweaks
    /// (AND gates g = copy · andCount + j, outputs copy · outputWires + i) do not overlap.
    func testLayersGarbledUnderTheOTDeltaUseDisjointTweaks() throws {
        var rng = AESPRG(seed: freshSeed())
        var space = TweakSpace()
        var gateRanges: [Range<UInt64>] = [], outputRanges: [Range<UInt64>] = []
        for (k, f, n) in [(36, 13, 70), (33, 13, 50), (40, 0, 30)] {
            let relu = try ReLUCircuit(valueBits: k, truncationBits: f)
            let xs = (0..<n).map { _ in Int64(bitPattern: rng.nextUInt64()) >> UInt64(65 - k) }
            let cs = xs.map { _ in rng.nextUInt64() }
            let ss = zip(xs, cs).map { UInt64(bitPattern: $0) &- $1 }
            let evaluator = ReLUEvaluator(relu)
            let choices = ChoiceBits(evaluator.choiceBits(clientShares: cs))
            let first = space.reserve(copies: n, of: relu.circuit)
            let a = UInt64(relu.circuit.andCount), w = UInt64(relu.circuit.outputWireCount)
            gateRanges.append((first * a)..<((first + UInt64(n)) * a))
            outputRanges.append((first * w)..<((first + UInt64(n)) * w))
            let (garbled, labels) = try runTwoParties(
                first: { channel -> (GarbledBatch, ReLUGarblerBatch) in
                    let ot = try IKNPSender(channel: channel)
                    XCTAssertTrue(ot.delta.lsb)
                    var garbler = ReLUGarbler(relu, otDelta: ot.delta, firstCopy: first)
                    return try garbler.garbleOffline(count: n, evaluatorZeroLabels: try ot.correlated(count: n * k))
                },
                second: { channel in try IKNPReceiver(channel: channel).correlated(choices: choices) })
            let out = try evaluator.evaluate(garbled.0, evaluatorLabels: labels, garblerLabels: try garbled.1.onlineLabels(serverShares: ss))
            for i in 0..<n { XCTAssertEqual(out[i] &+ garbled.1.outputShares[i], relu.plaintext(xs[i]), "k \(k) x=\(xs[i])") }
        }
        for i in gateRanges.indices {
            for j in gateRanges.indices where j > i {
                XCTAssertFalse(gateRanges[i].overlaps(gateRanges[j]), "AND tweaks of layers \(i) and \(j)")
                XCTAssertFalse(outputRanges[i].overlaps(outputRanges[j]), "output tweaks of layers \(i) and \(j)")
            }
        }
    }

    /// Streaming into one reused batch: each batch evaluates correctly, and a copy kept by the caller is
    /// not overwritten by the next garbling (value semantics).
    func testGarblingIntoAReusedBatch() throws {
        let seed = freshSeed()
        var rng = AESPRG(seed: seed)
        for encoding in [OutputEncoding.gatedShares, .additiveShares, .bits] {
            let relu = try ReLUCircuit(valueBits: 24, truncationBits: 4, outputEncoding: encoding)
            var garbler = ReLUGarbler(relu)
            let evaluator = ReLUEvaluator(relu)
            var batch = GarbledBatch.empty
            var kept: [(GarbledBatch, ReLUGarblerBatch, [UInt64], [UInt64], [Int64])] = []
            for count in [40, 40, 17] {
                let xs = (0..<count).map { _ in Int64(bitPattern: rng.nextUInt64()) >> 41 }
                let cs = xs.map { _ in rng.nextUInt64() }
                let ss = zip(xs, cs).map { UInt64(bitPattern: $0) &- $1 }
                let state = try garbler.garbleOffline(count: count, into: &batch)
                kept.append((batch, state, cs, ss, xs))
            }
            for (b, state, cs, ss, xs) in kept {
                let choices = evaluator.choiceBits(clientShares: cs)
                let (zero, one) = state.evaluatorInputLabelPairs()
                let ot = choices.indices.map { choices[$0] ? one[$0] : zero[$0] }
                let out = try evaluator.evaluate(b, evaluatorLabels: ot, garblerLabels: try state.onlineLabels(serverShares: ss))
                for i in xs.indices {
                    XCTAssertEqual(out[i] &+ state.outputShares[i], relu.plaintext(xs[i]), "\(encoding) seed \(seed)")
                }
            }
        }
    }

    func testMasksAreFreshAndOutputSharesLookRandom() throws {
        let relu = try ReLUCircuit(valueBits: 40, truncationBits: 12)
        var garbler = ReLUGarbler(relu)
        let a = try garbler.garbleOffline(count: 64).state.outputShares
        let b = try garbler.garbleOffline(count: 64).state.outputShares
        XCTAssertEqual(Set(a + b).count, 128)
        var ones = 0
        for m in a + b { ones += m.nonzeroBitCount }
        XCTAssertLessThan(abs(ones - 4096), 450) // 8192 fair bits, 10 standard deviations
    }

    func testWrongServerLabelsGiveGarbage() throws {
        let seed = freshSeed()
        var rng = AESPRG(seed: seed)
        let relu = try ReLUCircuit(valueBits: 40, truncationBits: 12)
        let n = 100
        let xs = (0..<n).map { _ in Int64(bitPattern: rng.nextUInt64()) >> 30 }
        let g = try garble(relu, xs, &rng)
        let (batch, state, evaluator, ot) = (g.batch, g.state, g.evaluator, g.otLabels)
        var online = try state.onlineLabels(serverShares: g.serverShares)
        for i in 0..<n { online[39 * n + i] = rng.nextBlock() } // the top share bit of every ReLU (input-major labels)
        let out = try evaluator.evaluate(batch, evaluatorLabels: ot, garblerLabels: online)
        let right = (0..<n).filter { out[$0] &+ state.outputShares[$0] == relu.plaintext(xs[$0]) }.count
        XCTAssertLessThan(right, n / 10, "seed \(seed)")
    }

    /// A batch of ReLUs garbled for the values `xs` shared at random, and the client's labels by an ideal OT.
    struct Garbled {
        let batch: GarbledBatch, state: ReLUGarblerBatch, evaluator: ReLUEvaluator
        let otLabels: [Block], serverShares: [UInt64]
    }

    func garble(_ relu: ReLUCircuit, _ xs: [Int64], _ rng: inout AESPRG) throws -> Garbled {
        let clientShares = xs.map { _ in rng.nextUInt64() }
        let serverShares = zip(xs, clientShares).map { UInt64(bitPattern: $0) &- $1 }
        var garbler = ReLUGarbler(relu)
        let (batch, state) = try garbler.garbleOffline(count: xs.count)
        let evaluator = ReLUEvaluator(relu)
        let choices = evaluator.choiceBits(clientShares: clientShares)
        let (zero, one) = state.evaluatorInputLabelPairs()
        return Garbled(batch: batch, state: state, evaluator: evaluator,
                       otLabels: choices.indices.map { choices[$0] ? one[$0] : zero[$0] }, serverShares: serverShares)
    }
}
