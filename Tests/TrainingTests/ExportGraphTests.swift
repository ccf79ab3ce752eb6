// The exported graph, weights and coefficients must compute what the engine computes: for every model
// kind, random weights and batch-norm statistics, some slots polynomial (shared and per-channel
// coefficients), the float reference evaluator on the exported graph equals the eval-mode forward pass.
import NetworkPlan
import Tensors
import Training
import XCTest

final class ExportGraphTests: XCTestCase {
    /// Random weights, random BN statistics, polynomial slots at every third slot (alternately shared and
    /// per-channel coefficients), then engine vs reference.
    func check(_ kind: ModelKind, seed: UInt64) throws {
        var rng = RandomGenerator(seed: seed)
        let network = makeNetwork(kind, classes: 10, rng: &rng)
        for p in network.namedParameters {
            let scale: Float = p.name.hasSuffix("gamma") ? 0.5 : 1
            let values = p.parameter.value.array.map { v -> Float in
                p.name.hasSuffix("gamma") ? 0.6 + scale * rng.uniform()
                    : p.name.hasSuffix("beta") ? 0.4 * rng.uniform() - 0.2 : v
            }
            p.parameter.value.assign(Tensor(shape: p.parameter.shape, values: values))
        }
        for b in network.namedBuffers {
            let values = b.tensor.array.map { _ -> Float in
                b.name.hasSuffix("running_var") ? 0.5 + 1.5 * rng.uniform() : 0.4 * rng.uniform() - 0.2
            }
            b.tensor.assign(Tensor(shape: b.tensor.shape, values: values))
        }
        // At most three polynomial slots: squares compound, and a deep stack of them overflows Float32.
        for (index, slot) in network.slots.enumerated() where index % 3 == 1 && index < 9 {
            let base: [Float] = [0.1 + 0.1 * rng.uniform(), 0.4 + 0.2 * rng.uniform(), 0.05 + 0.1 * rng.uniform()]
            slot.setPolynomial(coefficients: base, perChannel: index % 2 == 0)
            if index % 2 == 0, let c = slot.coefficients {
                let jittered = c.value.array.map { $0 * (0.9 + 0.2 * rng.uniform()) }
                c.value.assign(Tensor(shape: c.shape, values: jittered))
            }
        }
        let exported = try NetworkExport.export(network)
        let expected = try exported.graph.expectedParameters()
        XCTAssertEqual(Set(expected.keys), Set(exported.weights.keys), "\(kind) seed \(seed): weight names")
        for (name, shape) in expected {
            XCTAssertEqual(exported.weights[name]?.count, shape.reduce(1, *), "\(kind): \(name)")
        }
        let slots = try exported.graph.slots()
        XCTAssertEqual(slots.map(\.name), network.slots.map(\.name))
        XCTAssertEqual(slots.map(\.elements), network.slots.map(\.elementsPerImage))
        XCTAssertTrue(exported.activations.values.contains(.polynomial(degree: 2)))

        let images = 2
        let input = (0..<images * 3072).map { _ in rng.normal() }
        let tape = Tape(recording: false)
        let logits = network.forward(tape.constant(Tensor(shape: [images, 3, 32, 32], values: input)),
                                     tape: tape, training: false).value.array
        var references: [[Double]] = []
        for i in 0..<images {
            let reference = try ReferenceEvaluator.evaluate(
                graph: exported.graph, weights: exported.weights, activations: exported.activations,
                coefficients: exported.coefficients, input: Array(input[i * 3072..<(i + 1) * 3072]))
            references.append(reference)
            let engine = logits[i * 10..<(i + 1) * 10].map(Double.init)
            let magnitude = max(1e-6, reference.map(abs).max()!)
            let error = zip(reference, engine).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(error / magnitude, 1e-3, "\(kind) seed \(seed) image \(i): engine \(engine) reference \(reference)")
        }
        XCTAssertNotEqual(references[0], references[1], "\(kind) seed \(seed): logits do not depend on the input")
    }

    func testEveryModelKindMatchesTheEngine() throws {
        for (offset, kind) in ModelKind.allCases.enumerated() {
            try check(kind, seed: 100 + UInt64(offset))
        }
    }

    func testBlendedSlotIsAnErrorUnlessFinished() throws {
        var rng = RandomGenerator(seed: 7)
        let network = makeNetwork(.tiny, classes: 10, rng: &rng)
        network.slots[0].setBlended(alpha: 0.5)
        XCTAssertThrowsError(try NetworkExport.slotChoices(of: network)) { error in
            XCTAssertEqual(error as? ExportError, .blendedSlot(slot: "act1", alpha: 0.5))
        }
        network.slots[0].setAlpha(0)
        XCTAssertEqual(try NetworkExport.slotChoices(of: network)["act1"], .polynomial(degree: 2))
        network.slots[0].setAlpha(1)
        XCTAssertEqual(try NetworkExport.slotChoices(of: network)["act1"], .relu)
    }

    func testSharedCoefficientsAreBroadcast() throws {
        var rng = RandomGenerator(seed: 8)
        let network = makeNetwork(.tiny, classes: 10, rng: &rng)
        network.slots[1].setPolynomial(coefficients: [0.3, 0.2, 0.1])
        let coefficients = NetworkExport.coefficients(of: network)
        XCTAssertNil(coefficients["act1"])
        XCTAssertEqual(coefficients["act2"], Array(repeating: [0.3, 0.2, 0.1], count: 16))
    }
}
