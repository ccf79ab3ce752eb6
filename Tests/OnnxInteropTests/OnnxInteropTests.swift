// ONNX interop against the real tools: networks Sibyl writes evaluate in ONNX Runtime to Sibyl's logits,
// networks onnx's helpers write (the forms PyTorch's and Keras' exporters produce) import and evaluate in
// Sibyl to ONNX Runtime's logits, within 1e-4 of each image's largest logit; a round trip is exact; bad
// files and graphs are refused with the node's name and nothing written.
import Foundation
import NetworkPlan
import OnnxFormat
import OnnxInterop
import PlanStore
import Tensors
import TestSupport
import Training
import XCTest

final class OnnxInteropTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory("onnx") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Slot choices with every kind: ReLU, degrees 2 and 4, and slots split by channel.
    static let everyKind: [Int: SlotChoice] = [0: .polynomial(degree: 2), 2: .polynomial(degree: 4),
                                               3: .mixed(polynomialChannels: [0, 3, 5, 6, 11], degree: 4),
                                               5: .mixed(polynomialChannels: Array(0..<20), degree: 2), 6: .polynomial(degree: 1)]

    func testExportedCheckpointsEvaluateInOnnxRuntimeToSibylsLogits() throws {
        _ = try OnnxTestSupport.python()
        let cases: [(String, ModelKind, Int, [Int: SlotChoice])] = [
            ("resnet8-relu", .resnet8, 100, [:]), ("resnet8-every-kind", .resnet8, 10, Self.everyKind),
            ("resnet20-relu", .resnet20, 100, [:]), ("resnet32-mixed", .resnet32, 100, [1: .polynomial(degree: 2), 30: .mixed(polynomialChannels: [1, 2], degree: 3)]),
            ("minionn", .minionn, 10, [2: .polynomial(degree: 2)]),
        ]
        for (index, (name, kind, classes, choices)) in cases.enumerated() {
            let network = OnnxTestSupport.network(kind, classes: classes, seed: UInt64(index + 1), choices: choices)
            let exported = try NetworkExport.export(network)
            let onnx = OnnxNetwork(graph: exported.graph, weights: exported.weights, activations: exported.activations,
                                   coefficients: exported.coefficients, normalization: nil, classNames: nil, architecture: kind.rawValue)
            let file = directory.appendingPathComponent(name + ".onnx")
            try OnnxExport.write(onnx, to: file)
            let inputs = OnnxTestSupport.inputs(3, seed: UInt64(index))
            try OnnxTestSupport.assertOnnxRuntimeAgrees(model: file, inputs: inputs, logits: OnnxTestSupport.logits(network, inputs),
                                                        in: directory)
        }
    }

    /// A plan's float network (batch norms folded, a slot split by channel) against its double-precision reference.
    func testExportedPlanEvaluatesInOnnxRuntimeToItsFloatReference() throws {
        _ = try OnnxTestSupport.python()
        let plan = OnnxTestSupport.root.appendingPathComponent("Plans/resnet32-cifar100-channels")
        let network = try OnnxNetwork.plan(at: plan)
        XCTAssertTrue(network.activations.values.contains { if case .mixed = $0 { return true }; return false })
        let file = directory.appendingPathComponent("plan.onnx")
        try OnnxExport.write(network, to: file)
        let inputs = OnnxTestSupport.inputs(2, seed: 5)
        let logits = try inputs.map {
            try ReferenceEvaluator.evaluate(graph: network.graph, weights: network.weights, activations: network.activations,
                                            coefficients: network.coefficients, input: $0)
        }
        try OnnxTestSupport.assertOnnxRuntimeAgrees(model: file, inputs: inputs, logits: logits, in: directory)
        // The plan's input normalisation and class names travel in the metadata.
        let (model, _) = try OnnxImport.readModel(at: file)
        let keys = Set(model.metadataProps.map(\.key))
        XCTAssertEqual(keys, ["sibyl.normalization", "sibyl.class_names"])
    }

    func testImportedGraphsEvaluateInSibylToOnnxRuntimesLogits() throws {
        let built = directory.appendingPathComponent("built")
        let result = try OnnxTestSupport.run(["build", built.path])
        XCTAssertEqual(result.status, 0, result.output)
        let expected: [String: (ModelKind, polynomialSlots: Int)] = [
            "resnet8-folded": (.resnet8, 0), "resnet8-bn-matmul": (.resnet8, 0), "resnet8-polynomial": (.resnet8, 2),
            "resnet8-degree4": (.resnet8, 1), "resnet20-folded": (.resnet20, 0), "resnet20-window-pool": (.resnet20, 0), "resnet32-folded": (.resnet32, 0),
            "resnet32-bn": (.resnet32, 0),
        ]
        for (index, (name, (kind, polynomialSlots))) in expected.sorted(by: { $0.key < $1.key }).enumerated() {
            let out = directory.appendingPathComponent("imported-" + name)
            let summary = try OnnxImport.run(OnnxImportRequest(model: built.appendingPathComponent(name + ".onnx"), outDirectory: out,
                                                               datasetNormalization: true))
            XCTAssertEqual(summary.architecture, kind.rawValue, name)
            XCTAssertEqual(summary.polynomialSlots, polynomialSlots, name)
            XCTAssertEqual(summary.normalization, name == "resnet32-bn" ? "model metadata" : "computed from the dataset's training split")
            let (network, config) = try TrainingCheckpoint.loadNetwork(from: out.appendingPathComponent(OnnxImport.checkpointName))
            XCTAssertEqual(config.model, kind)
            if name == "resnet32-bn" { XCTAssertEqual(config.normalization, Normalization(mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])) }
            let inputs = OnnxTestSupport.inputs(3, seed: UInt64(100 + index))
            try OnnxTestSupport.assertOnnxRuntimeAgrees(model: built.appendingPathComponent(name + ".onnx"), inputs: inputs,
                                                        logits: OnnxTestSupport.logits(network, inputs), in: directory)
        }
    }

    /// Export then import gives the same parameters bit for bit, the same slots, and the same logits.
    func testRoundTripIsExact() throws {
        let network = OnnxTestSupport.network(.resnet8, classes: 10, seed: 9, choices: Self.everyKind)
        let exported = try NetworkExport.export(network)
        let model = try OnnxExport.model(OnnxNetwork(graph: exported.graph, weights: exported.weights, activations: exported.activations,
                                                     coefficients: exported.coefficients, normalization: nil, classNames: nil,
                                                     architecture: nil))
        let bytes: Data = try model.serializedBytes()
        let (kind, imported, check) = try OnnxImport.network(from: try Onnx_ModelProto(serializedBytes: bytes))
        XCTAssertEqual(kind, .resnet8)
        XCTAssertLessThan(try XCTUnwrap(check), 1e-5)
        let again = try NetworkExport.export(imported)
        XCTAssertEqual(again.activations, exported.activations)
        // The coefficients of every channel that computes a polynomial (a split slot's ReLU channels hold
        // unused ones, which the file does not carry).
        for (slot, choice) in exported.activations {
            let channels: [Int]
            switch choice {
            case .relu: continue
            case .polynomial: channels = Array(0..<(exported.coefficients[slot]?.count ?? 0))
            case .mixed(let polynomial, _): channels = polynomial
            }
            XCTAssertEqual(channels.map { again.coefficients[slot]?[$0] }, channels.map { exported.coefficients[slot]?[$0] }, slot)
        }
        for (name, values) in exported.weights {
            XCTAssertEqual(again.weights[name], values, "\(name) changed in the round trip")
        }
        let inputs = OnnxTestSupport.inputs(2, seed: 3)
        XCTAssertEqual(OnnxTestSupport.logits(imported, inputs), OnnxTestSupport.logits(network, inputs))
    }

    func testUnsupportedGraphsAreRefusedByNodeAndNothingIsWritten() throws {
        let built = directory.appendingPathComponent("built")
        let result = try OnnxTestSupport.run(["build", built.path])
        XCTAssertEqual(result.status, 0, result.output)
        let refuse = built.appendingPathComponent("refuse")
        let expected = try JSONDecoder().decode([String: [String]].self, from: Data(contentsOf: refuse.appendingPathComponent("expected.json")))
        XCTAssertGreaterThanOrEqual(expected.count, 8)
        for (name, words) in expected {
            let out = directory.appendingPathComponent("refused-" + name)
            XCTAssertThrowsError(try OnnxImport.run(OnnxImportRequest(model: refuse.appendingPathComponent(name + ".onnx"),
                                                                      outDirectory: out, datasetNormalization: true)), name) { error in
                let text = "\(error)"
                for word in words { XCTAssertTrue(text.contains(word), "\(name): '\(word)' missing from: \(text)") }
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "\(name): something was written")
        }
    }

    func testCorruptFilesAndMissingSettingsAreRefusedWithWhatToDo() throws {
        let network = OnnxTestSupport.network(.resnet8, classes: 10, seed: 4)
        let exported = try NetworkExport.export(network)
        let good = directory.appendingPathComponent("good.onnx")
        try OnnxExport.write(OnnxNetwork(graph: exported.graph, weights: exported.weights, activations: exported.activations,
                                         coefficients: exported.coefficients, normalization: nil, classNames: nil, architecture: nil), to: good)
        let bytes = try Data(contentsOf: good)
        var garbage = SplitMix64(seed: 1)
        let cases: [(String, Data)] = [("truncated", bytes.prefix(bytes.count / 2)), ("empty", Data()),
                                       ("garbage", Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &garbage) }))]
        for (name, data) in cases {
            let file = directory.appendingPathComponent(name + ".onnx")
            try data.write(to: file)
            XCTAssertThrowsError(try OnnxImport.run(OnnxImportRequest(model: file, outDirectory: directory.appendingPathComponent(name),
                                                                      datasetNormalization: true)), name) { error in
                XCTAssertTrue("\(error)".contains(file.path), "\(name): \(error)")
            }
        }
        // No normalisation anywhere: refused, saying which flags to give.
        let out = directory.appendingPathComponent("out")
        XCTAssertThrowsError(try OnnxImport.run(OnnxImportRequest(model: good, outDirectory: out))) { error in
            XCTAssertTrue("\(error)".contains("--mean"), "\(error)")
        }
        // An existing checkpoint is replaced only with force.
        let request = OnnxImportRequest(model: good, outDirectory: out, normalization: Normalization(mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]))
        _ = try OnnxImport.run(request)
        XCTAssertThrowsError(try OnnxImport.run(request)) { XCTAssertTrue("\($0)".contains("--force"), "\($0)") }
        var forced = request
        forced.force = true
        XCTAssertEqual(try OnnxImport.run(forced).architecture, "resnet8")
    }
}
