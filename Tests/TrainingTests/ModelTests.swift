import XCTest
import Tensors
import Training
import PlanStore

final class ModelTests: XCTestCase {
    func testResNet32SlotsMatchDelphi() {
        var rng = RandomGenerator(seed: 1)
        let net = makeNetwork(.resnet32, classes: 100, rng: &rng)
        XCTAssertEqual(net.slots.count, 31)
        XCTAssertEqual(net.reluCount, 303_104)
        XCTAssertEqual(net.slots.first?.name, "stem.act")
        XCTAssertEqual(net.slots[1].name, "stage1.block0.act1")
        XCTAssertEqual(net.slots.last?.name, "stage3.block4.act2")
        let names = net.namedParameters.map(\.name)
        XCTAssertEqual(Set(names).count, names.count, "parameter names are unique")
        for expected in ["stem.conv.weight", "stage1.block0.conv1.weight", "stage1.block0.bn1.gamma", "stage1.block0.bn1.beta",
                         "stage2.block0.shortcut.conv.weight", "stage2.block0.shortcut.bn.gamma", "fc.weight", "fc.bias"] {
            XCTAssertTrue(names.contains(expected), expected)
        }
        XCTAssertTrue(net.namedBuffers.map(\.name).contains("stage1.block0.bn1.running_var"))
        XCTAssertFalse(names.contains("stage1.block0.shortcut.conv.weight"), "no projection where shapes match")
    }

    func testDepthsAndOutputs() {
        var rng = RandomGenerator(seed: 2)
        for (kind, slots) in [(ModelKind.resnet8, 7), (.resnet14, 13), (.resnet20, 19), (.resnet56, 55), (.minionn, 7), (.tiny, 2)] {
            let net = makeNetwork(kind, classes: 10, rng: &rng)
            XCTAssertEqual(net.slots.count, slots, kind.rawValue)
            if kind == .resnet56 { continue }
            let tape = Tape(recording: false)
            let x = tape.constant(Tensor(shape: [2, 3, 32, 32], values: (0..<6144).map { _ in rng.normal() }))
            XCTAssertEqual(net.forward(x, tape: tape, training: false).shape, [2, 10], kind.rawValue)
        }
    }

    /// Evaluation on a tape that records nothing runs conv -> batch norm [-> + shortcut] [-> ReLU] fused
    /// (`Tape.convBatchNormInference`, in the direct kernels' stores where they fit, one pass elsewhere); a recording
    /// tape in evaluation mode runs the separate ops. Same logits up to rounding, with ReLU slots and with a
    /// polynomial slot in a residual block (the shortcut added without the ReLU), after the running statistics
    /// have moved (a few training-mode forwards).
    func testFusedEvaluationEqualsTheSeparateOps() {
        var rng = RandomGenerator(seed: 4)
        for kind in [ModelKind.resnet8, .minionn, .tiny] {
            let net = makeNetwork(kind, classes: 10, rng: &rng)
            let x = Tensor(shape: [3, 3, 32, 32], values: (0..<9216).map { _ in rng.normal() })
            for _ in 0..<3 {
                let warm = Tape()
                _ = net.forward(warm.constant(Tensor(shape: [4, 3, 32, 32], values: (0..<12288).map { _ in rng.normal() })),
                                tape: warm, training: true)
            }
            func logits(fused: Bool) -> [Float] {
                let tape = Tape(recording: !fused)
                return net.forward(tape.constant(x), tape: tape, training: false).value.array
            }
            for polynomial in [false, true] {
                if polynomial {
                    net.slots[net.slots.count / 2].setPolynomial(coefficients: ActivationSlot.delphiQuadratic, perChannel: true)
                    net.slots.last?.setPolynomial(coefficients: ActivationSlot.delphiQuadratic)
                }
                let fused = logits(fused: true), separate = logits(fused: false)
                let worst = zip(fused, separate).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 1
                XCTAssertLessThan(worst, 1e-4, "\(kind.rawValue) polynomial \(polynomial)")
                XCTAssertEqual(fused.count, 30)
            }
        }
    }

    func testSlotModesChangeTheFunctionAndExposeCoefficients() {
        var rng = RandomGenerator(seed: 3)
        let net = makeNetwork(.tiny, classes: 4, rng: &rng)
        let x = Tensor(shape: [2, 3, 32, 32], values: (0..<6144).map { _ in rng.normal() })
        func logits() -> [Float] {
            let tape = Tape(recording: false)
            return net.forward(tape.constant(x), tape: tape, training: false).value.array
        }
        let relu = logits()
        let slot = net.slot(named: "act2")!
        slot.setPolynomial(coefficients: ActivationSlot.delphiQuadratic, perChannel: true)
        XCTAssertEqual(slot.coefficients?.shape, [16, 3])
        XCTAssertTrue(net.namedParameters.map(\.name).contains("act2.coefficients"))
        XCTAssertNotEqual(logits(), relu)
        slot.setBlended(alpha: 1)
        XCTAssertEqual(logits(), relu, "alpha 1 is exactly ReLU")
        slot.setAlpha(0.25)
        XCTAssertEqual(slot.mode, .blended(alpha: 0.25))
        slot.setReLU()
        XCTAssertEqual(logits(), relu)
        XCTAssertEqual(net.reluCount, 8 * 32 * 32 + 16 * 8 * 8)
    }

    /// Input bounds clamp the polynomial in training only, add a range penalty there, and survive a
    /// checkpoint round trip; malformed stored bounds are a readable error.
    func testSlotInputBoundsClampInTrainingAndRoundTrip() throws {
        var rng = RandomGenerator(seed: 4)
        let net = makeNetwork(.tiny, classes: 4, rng: &rng)
        let x = Tensor(shape: [2, 3, 32, 32], values: (0..<6144).map { _ in 3 * rng.normal() })
        let slot = net.slot(named: "act1")!
        slot.setPolynomial(coefficients: ActivationSlot.delphiQuadratic, perChannel: true)
        let free = { (training: Bool) -> [Float] in
            let tape = Tape(recording: false)
            return net.forward(tape.constant(x), tape: tape, training: training).value.array
        }
        let unboundedTrain = free(true)
        XCTAssertNil(slot.lastPenalty)
        let bounds = [Float](repeating: 0.05, count: 8)
        slot.setInputBounds(bounds)
        slot.rangePenaltyWeight = 1
        // (A training pass also updates batch-norm statistics, so compare like with like.)
        XCTAssertNotEqual(free(true), unboundedTrain, "training clamps")
        XCTAssertGreaterThan(slot.lastPenalty?.value[flat: 0] ?? 0, 0)
        let boundedEval = free(false)
        XCTAssertNil(slot.lastPenalty)
        slot.setInputBounds(nil)
        XCTAssertEqual(free(false), boundedEval, "inference does not clamp")
        slot.setInputBounds(bounds)

        var contents = CheckpointContents()
        TrainingCheckpoint.encode(net, into: &contents)
        var rng2 = RandomGenerator(seed: 9)
        let copy = makeNetwork(.tiny, classes: 4, rng: &rng2)
        try TrainingCheckpoint.restore(copy, from: contents, path: "memory")
        XCTAssertEqual(copy.slot(named: "act1")!.inputBounds?.array, [Float](repeating: 0.05, count: 8))
        XCTAssertNil(copy.slot(named: "act2")!.inputBounds)
        contents.arrays["slot_bounds/act1"] = StoredArray(shape: [8], values: [Float](repeating: -1, count: 8))
        XCTAssertThrowsError(try TrainingCheckpoint.restore(copy, from: contents, path: "m.h5")) { error in
            XCTAssertTrue("\(error)".contains("slot_bounds/act1") && "\(error)".contains("m.h5"), "\(error)")
        }
        slot.setReLU()
        XCTAssertNil(slot.inputBounds)
    }

    func testUnknownModelNameIsAReadableError() {
        XCTAssertThrowsError(try ModelKind.parse("resnet9")) { error in
            XCTAssertTrue("\(error)".contains("--model") && "\(error)".contains("resnet32"), "\(error)")
        }
    }
}
