// The plan format read by a second implementation: Tests/python/sibyl_plan.py (numpy + h5py, written from
// Plans/FORMAT.md) reproduces Sibyl's fixed-point logits bit for bit and its float logits within 1e-4, on
// generated plans holding every step kind and on a slice (8 test images) of every shipped plan; every plan under Plans/
// and every exported one validates against Plans/plan.schema.json. The Python tools live in the
// project's virtual environment (`make venv`, which `make test` runs first).
import Foundation
import NetworkPlan
import Pipeline
import PlanStore
import SecureInference
import XCTest
import TestSupport

final class PlanReaderTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory("plan-reader") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// The virtual environment's Python, or a skip saying how to make it.
    func python() throws -> URL {
        let python = Self.root.appendingPathComponent(".venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw XCTSkip("no .venv: run `make venv` (make test does) for the Python plan reader and schema checks")
        }
        return python
    }

    func runPython(_ script: String, _ arguments: [String]) throws -> String {
        let result = try runProcess(try python(), [Self.root.appendingPathComponent("Tests/python/\(script)").path] + arguments)
        XCTAssertEqual(result.status, 0, result.output)
        return result.output
    }

    /// A folded network with every layer kind, and choices giving every program step kind: ReLU, a split
    /// slot with degree-4 channels (gather, one-round polynomial, scatter), a quadratic (square), degree 1,
    /// a residual add, average pooling (window sum, diagonal), a global pool fused into the dense layer.
    func generatedPlan(seed: UInt64, fractionalBits: Int) throws -> PlanContents {
        var random = SplitMix64(seed: seed)
        let graph = NetworkGraph(nodes: [
            GraphNode(.input(TensorShape(channels: 3, height: 8, width: 8)), inputs: []),
            GraphNode(.conv(name: "stem", outChannels: 6, kernel: 3, stride: 1, padding: 1, bias: true), inputs: [0]),
            GraphNode(.activation(slot: "a0"), inputs: [1]),
            GraphNode(.conv(name: "b.conv1", outChannels: 6, kernel: 3, stride: 2, padding: 1, bias: true), inputs: [2]),
            GraphNode(.activation(slot: "a1"), inputs: [3]),
            GraphNode(.conv(name: "b.conv2", outChannels: 6, kernel: 3, stride: 1, padding: 1, bias: true), inputs: [4]),
            GraphNode(.conv(name: "b.short", outChannels: 6, kernel: 1, stride: 2, padding: 0, bias: false), inputs: [2]),
            GraphNode(.add, inputs: [5, 6]),
            GraphNode(.activation(slot: "a2"), inputs: [7]),
            GraphNode(.conv(name: "c.conv", outChannels: 6, kernel: 3, stride: 1, padding: 1, bias: true), inputs: [8]),
            GraphNode(.activation(slot: "a3"), inputs: [9]),
            GraphNode(.averagePool(kernel: 2, stride: 2), inputs: [10]),
            GraphNode(.globalAveragePool, inputs: [11]),
            GraphNode(.dense(name: "fc", outFeatures: 5, bias: true), inputs: [12]),
        ])
        let activations: [String: SlotChoice] = ["a0": .relu, "a1": .mixed(polynomialChannels: [0, 2, 5], degree: 4),
                                                 "a2": .polynomial(degree: 2), "a3": .mixed(polynomialChannels: [1], degree: 1)]
        var weights: WeightTable = [:]
        for (name, shape) in try graph.expectedParameters() {
            let fanIn = shape.dropFirst().reduce(1, *)
            let bound = Float(1.5 / Double(fanIn).squareRoot())
            weights[name] = (0..<shape.reduce(1, *)).map { _ in name.hasSuffix(".bias") ? random.uniform(-0.2, 0.2) : random.uniform(-bound, bound) }
        }
        var coefficients: [String: SlotCoefficients] = [:]
        for (slot, choice) in activations {
            guard let degree = choice.polynomialDegree else { continue }
            coefficients[slot] = (0..<6).map { _ in
                Array(([random.uniform(-0.2, 0.3), random.uniform(0.2, 0.8), random.uniform(0.05, 0.3)]
                       + (3..<max(3, degree + 1)).map { k in random.uniform(-1, 1) / Float(1 << (4 * (k - 1))) }).prefix(degree + 1))
            }
        }
        let manifest = PlanManifest(
            name: "generated", graph: graph, activations: activations,
            fixedPoint: FixedPointConfig(fractionalBits: fractionalBits, reluValueBits: ["a0": 30, "a1": 30]),
            input: InputSpec(shape: TensorShape(channels: 3, height: 8, width: 8), mean: [0.49, 0.48, 0.45], std: [0.25, 0.26, 0.27]),
            classNames: ["a", "b", "c", "d", "e"],
            provenance: Provenance(checkpointSha256: String(repeating: "0", count: 64), checkpoint: "generated", command: "test",
                                   created: "2026-12-04T00:00:00Z"))
        var plan = PlanContents(manifest: manifest, weights: weights, coefficients: coefficients)
        try PlanCompilation.attachProgram(&plan)
        return plan
    }

    /// Fixed-point logits equal bit for bit; float logits within 1e-4 (relative to the logit's size above 1).
    func assertSameLogits(fixed: URL, _ pythonFixed: URL, float: URL? = nil, _ pythonFloat: URL? = nil, label: String) throws {
        let check = """
        import numpy as np, sys
        a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
        assert a.shape == b.shape and a.dtype == b.dtype == np.int64, (a.shape, b.shape, a.dtype, b.dtype)
        assert (a == b).all(), f"{int((a != b).sum())} fixed-point logits differ"
        if len(sys.argv) > 3:
            f, g = np.load(sys.argv[3]), np.load(sys.argv[4])
            worst = float(np.max(np.abs(f - g) / np.maximum(1, np.abs(f))))
            assert worst <= 1e-4, f"float logits differ by {worst}"
        print("same", a.shape)
        """
        let arguments = ["-c", check, fixed.path, pythonFixed.path] + [float, pythonFloat].compactMap { $0?.path }
        let result = try runProcess(try python(), arguments)
        XCTAssertEqual(result.status, 0, "\(label): \(result.output)")
    }

    func testPythonReaderReproducesGeneratedPlans() throws {
        _ = try python()
        for (seed, f) in [(UInt64(1), 12), (2, 16)] {
            let plan = try generatedPlan(seed: seed, fractionalBits: f)
            let url = directory.appendingPathComponent("generated-\(seed)")
            try PlanFiles.write(plan, to: url)
            let ops = Set(plan.manifest.program!.steps.map(\.op))
            XCTAssertEqual(ops, ["linear", "add", "truncate", "relu", "square", "polynomial", "gather", "scatter"])

            var random = SplitMix64(seed: seed + 100)
            let count = 12
            let pixels = random.bytes(count * 192)
            let read = try PlanFiles.read(from: url)
            let program = try PlanCompilation.program(of: read)
            let swiftFixed = FastFixedPointEvaluator(program: program)
                .classify(pixels: pixels, count: count, input: read.manifest.input, keepLogits: true).logits
            let swiftFloat = try (0..<count).map { i in
                try ReferenceEvaluator.evaluate(graph: read.manifest.graph, weights: read.weights, activations: read.manifest.activations,
                                                coefficients: read.coefficients,
                                                input: PlaintextInput.normalize(pixels[i * 192..<(i + 1) * 192], spec: read.manifest.input))
            }
            let files = ["pixels", "fixed", "float", "py-fixed", "py-float"].map { directory.appendingPathComponent("\($0)-\(seed).npy") }
            try NumpyFile.write((0..<count).map { i in pixels[i * 192..<(i + 1) * 192].map { Int64($0) } }, to: files[0])
            try NumpyFile.write(swiftFixed.map { $0.map { Int64(bitPattern: $0) } }, to: files[1])
            try NumpyFile.write(swiftFloat, to: files[2])
            _ = try runPython("sibyl_plan.py", [url.path, "--pixels", files[0].path, "--out", files[3].path, "--float-out", files[4].path])
            try assertSameLogits(fixed: files[1], files[3], float: files[2], files[4], label: "generated plan \(seed)")
        }
    }

    /// Every plan directory under Plans/ (the shipped plans).
    func shippedPlans() throws -> [URL] {
        let plans = Self.root.appendingPathComponent("Plans")
        return try FileManager.default.contentsOfDirectory(atPath: plans.path).sorted()
            .map { plans.appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("plan.json").path) }
    }

    func testPythonReaderReproducesShippedPlansOnASlice() throws {
        _ = try python()
        let data = Self.root.appendingPathComponent("Datasets")
        guard FileManager.default.fileExists(atPath: data.appendingPathComponent("cifar-100-binary/test.bin").path) else {
            throw XCTSkip("CIFAR-100 is not unpacked in Datasets/ (make data)")
        }
        let plans = try shippedPlans()
        XCTAssertFalse(plans.isEmpty)
        for plan in plans {
            let name = plan.lastPathComponent
            let files = ["fixed", "float", "py-fixed", "py-float"].map { directory.appendingPathComponent("\(name)-\($0).npy") }
            _ = try PlanTestRequest(planDirectory: plan.path, split: "test", images: 8, dataDirectory: data.path,
                                    logitsFile: files[0].path, floatLogitsFile: files[1].path).run()
            _ = try runPython("sibyl_plan.py", [plan.path, "--data", data.path, "--images", "8", "--out", files[2].path,
                                                "--float-out", files[3].path])
            try assertSameLogits(fixed: files[0], files[2], float: files[1], files[3], label: name)
        }
    }

    func testEveryPlanValidatesAgainstTheSchema() throws {
        _ = try python()
        let generated = directory.appendingPathComponent("generated")
        try PlanFiles.write(try generatedPlan(seed: 3, fractionalBits: 13), to: generated)
        let schema = Self.root.appendingPathComponent("Plans/plan.schema.json").path
        let fuzzPlan = Self.root.appendingPathComponent("Experiments/reliability/fuzz-plan").path
        let output = try runPython("check_plans.py", [schema, generated.path, fuzzPlan] + (try shippedPlans()).map(\.path))
        XCTAssertFalse(output.contains("INVALID"), output)
        // The check can fail: a legacy-encoded choice is refused.
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: generated.appendingPathComponent("plan.json"))) as? [String: Any])
        var activations = try XCTUnwrap(object["activations"] as? [String: Any])
        activations["a0"] = ["relu": [String: Any]()]
        object["activations"] = activations
        let edited = directory.appendingPathComponent("edited.json")
        try JSONSerialization.data(withJSONObject: object).write(to: edited)
        let refused = try runProcess(try python(), [Self.root.appendingPathComponent("Tests/python/check_plans.py").path, schema, edited.path])
        XCTAssertNotEqual(refused.status, 0, refused.output)
        XCTAssertTrue(refused.output.contains("INVALID at activations/a0"), refused.output)
    }
}
