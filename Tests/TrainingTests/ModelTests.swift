import XCTest
import Tensors
import Training

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

    func testUnknownModelNameIsAReadableError() {
        XCTAssertThrowsError(try ModelKind.parse("resnet9")) { error in
            XCTAssertTrue("\(error)".contains("--model") && "\(error)".contains("resnet32"), "\(error)")
        }
    }
}
