// Shared helpers for the garbling tests: seeded randomness and a garble-then-evaluate round trip with an
// ideal (in-memory) oblivious transfer.
import TwoParty
import XCTest

/// A fresh seed for a random test; print it in every failure message.
func freshSeed() -> Block { SystemRandom.block() }

func randomBits(_ count: Int, _ rng: inout AESPRG) -> [Bool] { (0..<count).map { _ in rng.nextUInt64() & 1 == 1 } }

/// The evaluator's labels for copy-major input values (`copies × perCopy`): the labels are input-major
/// (`GarblerBatchState.evaluatorInputLabelPairs`), input i of copy c at i · copies + c.
func evaluatorLabels(_ values: [Bool], copies: Int, zero: [Block], one: [Block]) -> [Block] {
    let perCopy = copies == 0 ? 0 : values.count / copies
    var labels = [Block](repeating: .zero, count: values.count)
    for c in 0..<copies {
        for i in 0..<perCopy {
            let j = i * copies + c
            labels[j] = values[c * perCopy + i] ? one[j] : zero[j]
        }
    }
    return labels
}

func bits(_ value: UInt64, _ count: Int) -> [Bool] { (0..<count).map { (value >> UInt64($0)) & 1 == 1 } }

func word(_ bits: ArraySlice<Bool>) -> UInt64 {
    var v: UInt64 = 0
    for (i, b) in bits.enumerated() where b { v |= 1 << UInt64(i) }
    return v
}

/// Garbles `copies` copies with a fresh garbler, hands the evaluator its labels as an ideal OT would,
/// evaluates, and returns the decoded outputs (copy-major). No known garbler inputs.
func garbleAndEvaluate(_ circuit: Circuit, garblerInputs: [Bool], evaluatorInputs: [Bool], copies: Int,
                       implementation: AES128.Implementation = .automatic) throws -> [Bool] {
    var garbler = Garbler(circuit: circuit, implementation: implementation)
    let (batch, state) = try garbler.garble(copies: copies, knownInputValues: [])
    let (zero, one) = state.evaluatorInputLabelPairs()
    let received = evaluatorLabels(evaluatorInputs, copies: copies, zero: zero, one: one)
    let online = try state.onlineInputLabels(values: garblerInputs)
    let evaluator = Evaluator(circuit: circuit, implementation: implementation)
    let wire = try GarbledBatch(serialized: batch.serialized())
    XCTAssertEqual(wire, batch)
    return try evaluator.evaluate(wire, evaluatorLabels: received, garblerOnlineLabels: online)
}
