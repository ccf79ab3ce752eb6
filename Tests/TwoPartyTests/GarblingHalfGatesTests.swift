// The fast half-gates kernels (every AES implementation this CPU has, across chunk boundaries) produce
// exactly the tables and labels of the slow reference; garbled batches survive serialization and reject
// malformed bytes; wrong labels give garbage.
import TwoParty
import XCTest

final class GarblingHalfGatesTests: XCTestCase {
    /// A circuit with every gate kind: a 16-bit adder, comparator and mux.
    func sampleCircuit() -> Circuit {
        let b = CircuitBuilder()
        let x = b.garblerInputs(16), y = b.evaluatorInputs(16)
        let sum = b.add(x, y)
        let lt = b.unsignedLessThan(x, y)
        return b.build(outputs: b.mux(lt, sum, b.not(x)) + [lt])
    }

    func testKernelsMatchReference() {
        let seed = freshSeed()
        var rng = AESPRG(seed: seed)
        let circuit = sampleCircuit()
        var delta = rng.nextBlock()
        delta.lo |= 1
        for copies in [1, 5, 77] {
            let firstCopy = rng.nextUInt64() >> 20
            var inputs = [Block](repeating: .zero, count: copies * circuit.inputCount)
            inputs.withUnsafeMutableBufferPointer { rng.fill($0) }
            let reference = HalfGatesReference.garble(circuit, delta: delta, firstCopy: firstCopy, copies: copies,
                                                      inputZeroLabels: inputs)
            // Active labels for random input bits.
            let choice = randomBits(inputs.count, &rng)
            let active = zip(inputs, choice).map { $0 ^ delta.masked(by: $1) }
            let referenceOut = HalfGatesReference.evaluate(circuit, firstCopy: firstCopy, copies: copies,
                                                           inputLabels: active, tables: reference.tables)
            for impl in AES128.Implementation.allCases where impl.isAvailable {
                var tables = [Block](repeating: .zero, count: copies * circuit.andCount * 2)
                var outZero = [Block](repeating: .zero, count: copies * circuit.outputs.count)
                inputs.withUnsafeBufferPointer { inp in
                    tables.withUnsafeMutableBufferPointer { tab in
                        outZero.withUnsafeMutableBufferPointer { out in
                            HalfGates.garble(circuit, delta: delta, firstCopy: firstCopy, copies: copies, inputZeroLabels: inp,
                                             tables: tab, outputZeroLabels: out, implementation: impl)
                        }
                    }
                }
                XCTAssertEqual(tables, reference.tables, "garble tables, \(impl), copies \(copies), seed \(seed)")
                XCTAssertEqual(outZero, reference.outputZeroLabels, "garble outputs, \(impl), seed \(seed)")
                var outActive = [Block](repeating: .zero, count: copies * circuit.outputs.count)
                active.withUnsafeBufferPointer { inp in
                    tables.withUnsafeBufferPointer { tab in
                        outActive.withUnsafeMutableBufferPointer { out in
                            HalfGates.evaluate(circuit, firstCopy: firstCopy, copies: copies, inputLabels: inp, tables: tab,
                                               outputLabels: out, implementation: impl)
                        }
                    }
                }
                XCTAssertEqual(outActive, referenceOut, "evaluate, \(impl), seed \(seed)")
            }
            // The evaluated labels are the right ones of the two: W0 ⊕ v·Δ for the clear value v.
            let outs = circuit.outputs.count
            for c in 0..<copies {
                let ins = circuit.inputCount
                let clear = circuit.evaluate(garblerInputs: Array(choice[(c * ins)..<(c * ins + circuit.garblerInputCount)]),
                                             evaluatorInputs: Array(choice[(c * ins + circuit.garblerInputCount)..<((c + 1) * ins)]))
                for o in 0..<outs {
                    XCTAssertEqual(referenceOut[c * outs + o], reference.outputZeroLabels[c * outs + o] ^ delta.masked(by: clear[o]),
                                   "seed \(seed)")
                }
            }
        }
    }

    /// The ReLU circuit has enough wires that 150 copies span several kernel chunks and a partial table group.
    func testKernelsMatchReferenceAcrossChunks() throws {
        let seed = freshSeed()
        var rng = AESPRG(seed: seed)
        let circuit = try ReLUCircuit(valueBits: 40, truncationBits: 12).circuit
        let copies = 150
        var delta = rng.nextBlock()
        delta.lo |= 1
        var inputs = [Block](repeating: .zero, count: copies * circuit.inputCount)
        inputs.withUnsafeMutableBufferPointer { rng.fill($0) }
        let reference = HalfGatesReference.garble(circuit, delta: delta, firstCopy: 3, copies: copies, inputZeroLabels: inputs)
        var tables = [Block](repeating: .zero, count: copies * circuit.andCount * 2)
        var outZero = [Block](repeating: .zero, count: copies * circuit.outputs.count)
        inputs.withUnsafeBufferPointer { inp in
            tables.withUnsafeMutableBufferPointer { tab in
                outZero.withUnsafeMutableBufferPointer { out in
                    HalfGates.garble(circuit, delta: delta, firstCopy: 3, copies: copies, inputZeroLabels: inp,
                                     tables: tab, outputZeroLabels: out)
                }
            }
        }
        XCTAssertEqual(tables, reference.tables, "seed \(seed)")
        XCTAssertEqual(outZero, reference.outputZeroLabels, "seed \(seed)")
        // Table groups: the first group's tables are contiguous and gate-major.
        XCTAssertEqual(HalfGates.tableIndex(copy: 1, andGate: 0, copies: copies, andCount: circuit.andCount), 2)
        XCTAssertEqual(HalfGates.tableIndex(copy: 0, andGate: 1, copies: copies, andCount: circuit.andCount), 32)
        XCTAssertEqual(HalfGates.tableIndex(copy: 16, andGate: 0, copies: copies, andCount: circuit.andCount), 32 * circuit.andCount)
        XCTAssertEqual(HalfGates.tableIndex(copy: 145, andGate: 1, copies: copies, andCount: circuit.andCount),
                       2 * (144 * circuit.andCount + 6 + 1)) // last group holds 6 copies
    }

    func testManyCopiesAcrossChunksAndStreamingBatches() throws {
        let seed = freshSeed()
        var rng = AESPRG(seed: seed)
        let circuit = sampleCircuit()
        var garbler = Garbler(circuit: circuit)
        let evaluator = Evaluator(circuit: circuit)
        // Two batches from one garbler (distinct copy numbers, hence distinct tweaks), evaluated in reverse order.
        var sent: [(GarbledBatch, GarblerBatchState, [Bool], [Bool])] = []
        for copies in [1500, 33] {
            let (batch, state) = try garbler.garble(copies: copies, knownInputValues: [])
            sent.append((batch, state, randomBits(copies * 16, &rng), randomBits(copies * 16, &rng)))
        }
        XCTAssertEqual(sent[1].0.firstCopy, 1500)
        for (batch, state, g, e) in sent.reversed() {
            let (zero, one) = state.evaluatorInputLabelPairs()
            let labels = evaluatorLabels(e, copies: batch.copies, zero: zero, one: one)
            let out = try evaluator.evaluate(batch, evaluatorLabels: labels, garblerOnlineLabels: try state.onlineInputLabels(values: g))
            let outs = circuit.outputs.count
            for c in 0..<batch.copies {
                let clear = circuit.evaluate(garblerInputs: Array(g[(c * 16)..<((c + 1) * 16)]), evaluatorInputs: Array(e[(c * 16)..<((c + 1) * 16)]))
                XCTAssertEqual(Array(out[(c * outs)..<((c + 1) * outs)]), clear, "copy \(c) seed \(seed)")
            }
        }
    }

    func testWrongLabelsGiveGarbage() throws {
        let seed = freshSeed()
        var rng = AESPRG(seed: seed)
        let circuit = sampleCircuit()
        var garbler = Garbler(circuit: circuit)
        let copies = 200
        let (batch, state) = try garbler.garble(copies: copies, knownInputValues: [])
        let g = randomBits(copies * 16, &rng), e = randomBits(copies * 16, &rng)
        let (zero, one) = state.evaluatorInputLabelPairs()
        var labels = evaluatorLabels(e, copies: copies, zero: zero, one: one)
        // Replace the evaluator's labels for input bit 0 of every copy by random blocks (input-major: row 0).
        for c in 0..<copies { labels[c] = rng.nextBlock() }
        let out = try Evaluator(circuit: circuit).evaluate(batch, evaluatorLabels: labels,
                                                           garblerOnlineLabels: try state.onlineInputLabels(values: g))
        let outs = circuit.outputs.count
        var wrong = 0
        for c in 0..<copies {
            let clear = circuit.evaluate(garblerInputs: Array(g[(c * 16)..<((c + 1) * 16)]), evaluatorInputs: Array(e[(c * 16)..<((c + 1) * 16)]))
            if Array(out[(c * outs)..<((c + 1) * outs)]) != clear { wrong += 1 }
        }
        // A random label makes every dependent output bit a fair coin: nearly every copy comes out wrong.
        XCTAssertGreaterThan(wrong, copies * 9 / 10, "seed \(seed)")
    }

    /// Additive-share outputs of a generic circuit (with a constant output) add up to the weighted bits.
    func testAdditiveShareOutputs() throws {
        let seed = freshSeed()
        var rng = AESPRG(seed: seed)
        let b = CircuitBuilder()
        let x = b.garblerInputs(8), y = b.evaluatorInputs(8)
        let circuit = b.build(outputs: b.add(x, y) + [Bit.one, b.unsignedLessThan(x, y)]) // 10 outputs, bit 8 constant
        var garbler = Garbler(circuit: circuit, outputEncoding: .additiveShares)
        let copies = 70
        let (batch, state) = try garbler.garble(copies: copies, knownInputValues: [])
        XCTAssertEqual(batch.outputEncoding, .additiveShares)
        XCTAssertEqual(batch.payloadByteCount, copies * (circuit.andCount * 32 + 9 * 16))
        let g = randomBits(copies * 8, &rng), e = randomBits(copies * 8, &rng)
        let (zero, one) = state.evaluatorInputLabelPairs()
        let labels = evaluatorLabels(e, copies: copies, zero: zero, one: one)
        let online = try state.onlineInputLabels(values: g)
        let evaluator = Evaluator(circuit: circuit, outputEncoding: .additiveShares)
        let wire = try GarbledBatch(serialized: batch.serialized())
        XCTAssertEqual(wire, batch)
        let shares = try evaluator.evaluatePacked(wire, evaluatorLabels: labels, garblerOnlineLabels: online)
        for c in 0..<copies {
            let clear = circuit.evaluate(garblerInputs: Array(g[(c * 8)..<((c + 1) * 8)]), evaluatorInputs: Array(e[(c * 8)..<((c + 1) * 8)]))
            XCTAssertEqual(shares[c] &+ state.outputShares![c], word(clear[...]), "copy \(c) seed \(seed)")
        }
        // Decoding bits are not available in this mode, and a bits-mode evaluator rejects the batch.
        XCTAssertThrowsError(try evaluator.evaluate(wire, evaluatorLabels: labels, garblerOnlineLabels: online))
        XCTAssertThrowsError(try Evaluator(circuit: circuit).evaluatePacked(wire, evaluatorLabels: labels, garblerOnlineLabels: online))
    }

    func testSerializationRejectsMalformedBatches() throws {
        var garbler = Garbler(circuit: sampleCircuit())
        let (batch, _) = try garbler.garble(copies: 3, knownInputValues: [])
        let bytes = batch.serialized()
        XCTAssertEqual(bytes.count, batch.serializedByteCount)
        XCTAssertEqual(try GarbledBatch(serialized: bytes), batch)
        XCTAssertThrowsError(try GarbledBatch(serialized: Array(bytes.dropLast()))) { error in
            guard case GarblingError.malformedBatch = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try GarbledBatch(serialized: Array(bytes.prefix(10))))
        var badVersion = bytes
        badVersion[0] = 9
        XCTAssertThrowsError(try GarbledBatch(serialized: badVersion))
        for flags: UInt8 in [6, 7, 8] {   // additive and gated at once, unknown bits
            var bad = bytes
            bad[1] = flags
            XCTAssertThrowsError(try GarbledBatch(serialized: bad), "flags \(flags)")
        }
        var huge = bytes
        huge[12] = 0xFF; huge[13] = 0xFF; huge[14] = 0xFF; huge[15] = 0xFF // 4 billion copies announced
        XCTAssertThrowsError(try GarbledBatch(serialized: huge))
        // A batch for another circuit and wrong label counts are errors, not crashes.
        let other = CircuitBuilder()
        let circuit2 = other.build(outputs: [other.and(other.garblerInput(), other.evaluatorInput())])
        XCTAssertThrowsError(try Evaluator(circuit: circuit2).evaluate(batch, evaluatorLabels: [], garblerOnlineLabels: []))
        XCTAssertThrowsError(try Evaluator(circuit: sampleCircuit()).evaluate(batch, evaluatorLabels: [], garblerOnlineLabels: []))
    }
}
