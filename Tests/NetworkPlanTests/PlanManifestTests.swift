import Foundation
import NetworkPlan
import XCTest
import TestSupport

/// A small residual network: conv-bn-act, a block with an identity shortcut, pooling, dense.
func smallGraph() -> NetworkGraph {
    NetworkGraph(nodes: [
        GraphNode(.input(TensorShape(channels: 3, height: 8, width: 8)), inputs: []),
        GraphNode(.conv(name: "stem.conv", outChannels: 4, kernel: 3, stride: 1, padding: 1, bias: true), inputs: [0]),
        GraphNode(.activation(slot: "stem.act"), inputs: [1]),
        GraphNode(.conv(name: "block.conv", outChannels: 4, kernel: 3, stride: 1, padding: 1, bias: true), inputs: [2]),
        GraphNode(.add, inputs: [3, 2]),
        GraphNode(.activation(slot: "block.act"), inputs: [4]),
        GraphNode(.averagePool(kernel: 2, stride: 2), inputs: [5]),
        GraphNode(.globalAveragePool, inputs: [6]),
        GraphNode(.dense(name: "fc", outFeatures: 10, bias: true), inputs: [7]),
    ])
}

func smallManifest() -> PlanManifest {
    PlanManifest(name: "small", graph: smallGraph(),
                 activations: ["stem.act": .relu, "block.act": .polynomial(degree: 2)],
                 fixedPoint: FixedPointConfig(fractionalBits: 8, reluValueBits: ["stem.act": 32]),
                 input: InputSpec(shape: TensorShape(channels: 3, height: 8, width: 8), mean: [0.5, 0.5, 0.5],
                                  std: [0.25, 0.25, 0.25]),
                 classNames: (0..<10).map { "class\($0)" },
                 accuracy: [AccuracyRecord(arithmetic: .float, split: "test", images: 100, top1: 0.5)],
                 predicted: PredictedCost(relus: 256, polynomialActivations: 256, onlineSecondsLan: 0.01),
                 provenance: Provenance(checkpointSha256: String(repeating: "ab", count: 32), checkpoint: "x.h5",
                                        command: "sibyl export", created: "2026-11-22T00:00:00Z"))
}

final class NetworkGraphTests: XCTestCase {
    func testShapesSlotsAndParameters() throws {
        let shapes = try smallGraph().validate()
        XCTAssertEqual(shapes[6], TensorShape(channels: 4, height: 4, width: 4))
        XCTAssertEqual(shapes.last, TensorShape(channels: 10, height: 1, width: 1))
        XCTAssertEqual(try smallGraph().slots().map(\.name), ["stem.act", "block.act"])
        XCTAssertEqual(try smallGraph().slots().map(\.elements), [256, 256])
        let parameters = try smallGraph().expectedParameters()
        XCTAssertEqual(parameters["stem.conv.weight"], [4, 3, 3, 3])
        XCTAssertEqual(parameters["fc.weight"], [10, 4])
        XCTAssertEqual(parameters.count, 6)
    }

    func testInvalidGraphsAreRejectedWithTheNode() {
        var graph = smallGraph()
        graph.nodes[4] = GraphNode(.add, inputs: [3, 0]) // 4x8x8 + 3x8x8
        XCTAssertThrowsError(try graph.validate()) { error in
            XCTAssertTrue("\(error)".contains("node 4"), "\(error)")
        }
        graph = smallGraph()
        graph.nodes[3].inputs = [5] // forward reference
        XCTAssertThrowsError(try graph.validate())
        graph = smallGraph()
        graph.nodes[5] = GraphNode(.activation(slot: "stem.act"), inputs: [4])
        XCTAssertThrowsError(try graph.validate()) { XCTAssertTrue("\($0)".contains("twice")) }
    }
}

final class PlanManifestTests: XCTestCase {
    /// Schema 3 in plain types (ops and choices as strings, shapes as arrays), schema 2 in the Swift types'
    /// own encoding: both decode to the same manifest.
    func testRoundTripIsLossless() throws {
        var manifest = smallManifest()
        manifest.activations["stem.act"] = .mixed(polynomialChannels: [1, 2], degree: 4)
        manifest.program = ProgramDocument(fractionalBits: 8, tensors: [.init(shape: [3, 8, 8], scale: 8)], steps: [], output: 0)
        let data = try manifest.encoded()
        let text = String(decoding: data, as: UTF8.self)
        for fragment in ["\"schema_version\" : 3", "\"checkpoint_sha256\"", "\"op\" : \"conv\"", "\"kind\" : \"mixed\"",
                         "\"polynomial_channels\" : [", "\"shape\" : [", "\"pixel_divisor\" : 255", "\"encoding\" : \"round_half_away_from_zero\""] {
            XCTAssertTrue(text.contains(fragment), "lacks \(fragment): \(text)")
        }
        XCTAssertFalse(text.contains("_0"), text)
        XCTAssertEqual(try PlanManifest.decode(data, path: "plan.json"), manifest)
        XCTAssertEqual(try manifest.placement().signature.isEmpty, false)

        var legacy = smallManifest()
        legacy.schemaVersion = 2
        let legacyText = String(decoding: try legacy.encoded(), as: UTF8.self)
        XCTAssertTrue(legacyText.contains("\"relu\" : {"), legacyText)
        XCTAssertEqual(try PlanManifest.decode(try legacy.encoded(), path: "plan.json"), legacy)
        XCTAssertEqual(try legacy.placement().signature, "R2")
    }

    func testUnsupportedVersionMissingFieldsAndUnknownSlots() throws {
        var legacy = smallManifest()
        legacy.schemaVersion = 2
        var object = try JSONSerialization.jsonObject(with: legacy.encoded()) as! [String: Any]
        object["schema_version"] = 7
        XCTAssertThrowsError(try PlanManifest.decode(JSONSerialization.data(withJSONObject: object), path: "p")) {
            XCTAssertEqual($0 as? PlanError, .unsupportedSchema(found: 7, supported: PlanManifest.currentSchemaVersion))
        }
        object["schema_version"] = 1
        object.removeValue(forKey: "graph")
        XCTAssertThrowsError(try PlanManifest.decode(JSONSerialization.data(withJSONObject: object), path: "p")) {
            XCTAssertTrue("\($0)".contains("graph"), "\($0)")
        }
        XCTAssertThrowsError(try PlanManifest.decode(Data("{\"schema".utf8), path: "p")) {
            XCTAssertTrue("\($0)".contains("not a JSON object"), "\($0)")
        }
        var manifest = smallManifest()
        manifest.activations["nonexistent"] = .relu
        XCTAssertThrowsError(try manifest.validate()) { XCTAssertTrue("\($0)".contains("nonexistent")) }
        manifest = smallManifest()
        manifest.activations.removeValue(forKey: "block.act")
        XCTAssertThrowsError(try manifest.validate()) { XCTAssertTrue("\($0)".contains("block.act")) }
        manifest = smallManifest()
        manifest.activations["block.act"] = .polynomial(degree: 7)
        XCTAssertThrowsError(try manifest.validate())
    }
}

final class ReferenceEvaluatorTests: XCTestCase {
    func testBatchNormFoldingPreservesOutputs() throws {
        let seed: UInt64 = 17
        var rng = SplitMix64(seed: seed)
        let graph = NetworkGraph(nodes: [
            GraphNode(.input(TensorShape(channels: 3, height: 6, width: 6)), inputs: []),
            GraphNode(.conv(name: "c1", outChannels: 4, kernel: 3, stride: 2, padding: 1, bias: false), inputs: [0]),
            GraphNode(.batchNorm(name: "bn1", epsilon: 1e-5), inputs: [1]),
            GraphNode(.activation(slot: "a1"), inputs: [2]),
            GraphNode(.conv(name: "c2", outChannels: 4, kernel: 1, stride: 1, padding: 0, bias: true), inputs: [3]),
            GraphNode(.batchNorm(name: "bn2", epsilon: 1e-3), inputs: [4]),
            GraphNode(.add, inputs: [5, 3]),
            GraphNode(.activation(slot: "a2"), inputs: [6]),
            GraphNode(.globalAveragePool, inputs: [7]),
            GraphNode(.dense(name: "fc", outFeatures: 5, bias: true), inputs: [8]),
        ])
        var weights: WeightTable = [:]
        for (name, shape) in try graph.expectedParameters() {
            let count = shape.reduce(1, *)
            weights[name] = (0..<count).map { _ in
                name.hasSuffix("running_var") ? rng.uniform(0.5, 2) : rng.uniform(-1, 1)
            }
        }
        let activations: [String: SlotChoice] = ["a1": .relu, "a2": .polynomial(degree: 2)]
        let coefficients: [String: SlotCoefficients] = ["a2": (0..<4).map { _ in [0.2, 0.5, rng.uniform(0.1, 0.3)] }]
        let input = (0..<108).map { _ in rng.uniform(-2, 2) }
        let reference = try ReferenceEvaluator.evaluate(graph: graph, weights: weights, activations: activations,
                                                        coefficients: coefficients, input: input)
        let (folded, foldedWeights) = try foldBatchNorms(graph: graph, weights: weights)
        XCTAssertFalse(folded.nodes.contains { if case .batchNorm = $0.op { true } else { false } })
        XCTAssertEqual(folded.nodes.count, 8)
        let result = try ReferenceEvaluator.evaluate(graph: folded, weights: foldedWeights, activations: activations,
                                                     coefficients: coefficients, input: input)
        for (a, b) in zip(reference, result) { XCTAssertEqual(a, b, accuracy: 1e-4, "seed \(seed)") }
    }

    func testConvolutionAgainstHandComputedValues() {
        // 1 channel 3x3 input, 2x2 kernel of ones, stride 1, no padding: sums of 2x2 windows.
        let y = ReferenceEvaluator.convolve([1, 2, 3, 4, 5, 6, 7, 8, 9], shape: TensorShape(channels: 1, height: 3, width: 3),
                                            weight: [1, 1, 1, 1], bias: [0.5], outChannels: 1, kernel: 2, stride: 1,
                                            padding: 0)
        XCTAssertEqual(y, [12.5, 16.5, 24.5, 28.5])
    }
}

