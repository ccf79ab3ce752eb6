// Plan directories: round trip, atomic writing and refusal to overwrite, and one test per validation
// error a reader must report (each naming the file).
import Foundation
import NetworkPlan
import PlanStore
import SecureInference
import XCTest
import TestSupport

/// A small folded plan: conv + ReLU, strided conv + polynomial, global pool, dense.
func samplePlan(seed: UInt64, fractionalBits: Int = 8, degree: Int = 2) throws -> PlanContents {
    var random = SplitMix64(seed: seed)
    func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * Float(random.next() >> 40) / Float(1 << 24) }
    let graph = NetworkGraph(nodes: [
        GraphNode(.input(TensorShape(channels: 3, height: 8, width: 8)), inputs: []),
        GraphNode(.conv(name: "conv1", outChannels: 4, kernel: 3, stride: 1, padding: 1, bias: true), inputs: [0]),
        GraphNode(.activation(slot: "act1"), inputs: [1]),
        GraphNode(.conv(name: "conv2", outChannels: 6, kernel: 3, stride: 2, padding: 1, bias: true), inputs: [2]),
        GraphNode(.activation(slot: "act2"), inputs: [3]),
        GraphNode(.globalAveragePool, inputs: [4]),
        GraphNode(.dense(name: "fc", outFeatures: 5, bias: true), inputs: [5]),
    ])
    var weights: WeightTable = [:]
    for (name, shape) in try graph.expectedParameters().sorted(by: { $0.key < $1.key }) {
        weights[name] = (0..<shape.reduce(1, *)).map { _ in uniform(-0.7, 0.7) }
    }
    let coefficients: [String: SlotCoefficients] = ["act2": (0..<6).map { _ in
        Array(([uniform(0, 0.3), uniform(0.3, 0.6), uniform(0.1, 0.3)] + (0..<4).map { _ in uniform(-0.01, 0.01) }).prefix(degree + 1))
    }]
    let manifest = PlanManifest(
        name: "sample", graph: graph, activations: ["act1": .relu, "act2": .polynomial(degree: degree)],
        fixedPoint: FixedPointConfig(fractionalBits: fractionalBits, reluValueBits: ["act1": 20]),
        input: InputSpec(shape: TensorShape(channels: 3, height: 8, width: 8), mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]),
        classNames: ["a", "b", "c", "d", "e"],
        accuracy: [AccuracyRecord(arithmetic: .fixedPoint, split: "test", images: 10, top1: 0.5)],
        provenance: Provenance(checkpointSha256: String(repeating: "0", count: 64), checkpoint: "none", command: "test",
                               created: "2026-11-22T00:00:00Z"))
    return try withProgram(PlanContents(manifest: manifest, weights: weights, coefficients: coefficients))
}

/// `plan` with the program compiled from its float contents attached (as `sibyl export` writes it).
func withProgram(_ plan: PlanContents) throws -> PlanContents {
    var plan = plan
    let (document, arrays) = try FixedPointCompiler.compile(
        graph: plan.manifest.graph, weights: plan.weights, activations: plan.manifest.activations,
        coefficients: plan.coefficients, fixedPoint: plan.manifest.fixedPoint).document()
    plan.manifest.program = document
    plan.programArrays = arrays
    return plan
}

/// `plan` as `PlanFiles.write` stores it: current schema, digest filled in.
func sealed(_ plan: PlanContents) throws -> PlanContents {
    var plan = plan
    plan.manifest.schemaVersion = PlanManifest.currentSchemaVersion
    plan.manifest.digest = try PlanDigest.of(plan)
    return plan
}

final class PlanFilesTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory("plan") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Writes the sample plan to DIR/plan and returns its URL.
    func written(seed: UInt64 = 1) throws -> (URL, PlanContents) {
        let plan = try samplePlan(seed: seed)
        let url = directory.appendingPathComponent("Plans/plan")
        try PlanFiles.write(plan, to: url)
        return (url, try sealed(plan))
    }

    /// Asserts `body` throws an error whose description contains every fragment.
    func assertFails(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            let text = "\(error)"
            for fragment in fragments {
                XCTAssertTrue(text.contains(fragment), "error '\(text)' lacks '\(fragment)'", file: file, line: line)
            }
        }
    }

    func editManifest(_ url: URL, _ edit: (String) -> String) throws {
        let file = url.appendingPathComponent("plan.json")
        let text = try String(contentsOf: file, encoding: .utf8)
        let edited = edit(text)
        XCTAssertNotEqual(text, edited, "the edit changed nothing")
        try Data(edited.utf8).write(to: file)
    }

    func testRoundTrip() throws {
        for seed: UInt64 in [1, 2] {
            let (url, plan) = try written(seed: seed)
            let read = try PlanFiles.read(from: url)
            XCTAssertEqual(read, plan, "seed \(seed)")
            XCTAssertEqual(read.polynomialSlots, ["act2"])
            try FileManager.default.removeItem(at: url)
        }
    }

    /// Every degree a plan may hold survives plan.json and weights.h5 (degree and coefficient shape).
    func testEveryPolynomialDegreeRoundTrips() throws {
        for degree in PlanManifest.supportedPolynomialDegrees {
            let plan = try samplePlan(seed: 3, degree: degree)
            let url = directory.appendingPathComponent("Plans/degree\(degree)")
            try PlanFiles.write(plan, to: url)
            let read = try PlanFiles.read(from: url)
            XCTAssertEqual(read, try sealed(plan), "degree \(degree)")
            XCTAssertEqual(read.manifest.activations["act2"], .polynomial(degree: degree))
            XCTAssertEqual(read.coefficients["act2"]?.first?.count, degree + 1)
        }
        XCTAssertThrowsError(try PlanFiles.write(try samplePlan(seed: 3, degree: 7), to: directory.appendingPathComponent("Plans/seven")))
        // A slot split by channel keeps its channel list and all its coefficient rows.
        var mixed = try samplePlan(seed: 4, degree: 4)
        mixed.manifest.activations["act2"] = .mixed(polynomialChannels: [0, 3, 5], degree: 4)
        let url = directory.appendingPathComponent("Plans/mixed")
        try PlanFiles.write(mixed, to: url)
        XCTAssertEqual(try PlanFiles.read(from: url), try sealed(mixed))
    }

    /// Schema 3 stores the program's integers (what runs) under /program, named by plan.json's program, and
    /// no /fixed copies.
    func testProgramIntegersAreWhatRuns() throws {
        let (url, plan) = try written()
        let file = try HDF5File(opening: url.appendingPathComponent("weights.h5"))
        defer { try? file.close() }
        let conv = try XCTUnwrap(plan.manifest.program?.steps.first { $0.name == "conv1" })
        XCTAssertEqual(conv.op, "linear")
        let weights = try XCTUnwrap(conv.terms?.first?.weights)
        XCTAssertEqual(try file.read(Int64.self, from: weights).values,
                       plan.weights["conv1.weight"]!.map { Int64((Double($0) * 256).rounded()) })
        XCTAssertEqual(try file.read(Int64.self, from: try XCTUnwrap(conv.bias)).values,
                       plan.weights["conv1.bias"]!.map { Int64((Double($0) * 65536).rounded()) })
        XCTAssertEqual(plan.manifest.program?.tensors[conv.output].scale, 16)
        XCTAssertEqual(try file.integerAttribute("fractional_bits"), 8)
        XCTAssertEqual(try file.integerAttribute("schema_version"), 3)
        XCTAssertThrowsError(try file.attribute("schema_version"), "an integer attribute is not a string")
        XCTAssertEqual(try file.read(Float.self, from: "float/act2.coefficients").shape, [6, 3])
        XCTAssertThrowsError(try file.read(Int64.self, from: "fixed/conv1.weight"), "schema 3 has no /fixed copies")
    }

    func testRefusesToOverwriteUnlessAsked() throws {
        let (url, _) = try written(seed: 1)
        let other = try samplePlan(seed: 9)
        assertFails([url.path, "already exists", "--force"]) { try PlanFiles.write(other, to: url) }
        XCTAssertTrue(try PlanFiles.read(from: url) == sealed(samplePlan(seed: 1)), "the old plan was touched")
        try PlanFiles.write(other, to: url, overwrite: true)
        XCTAssertTrue(try PlanFiles.read(from: url) == sealed(other), "the plan was not replaced")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
        XCTAssertEqual(leftovers, ["plan"], "temporary directories left behind")
    }

    func testFailedWriteLeavesNothing() throws {
        var plan = try samplePlan(seed: 3)
        plan.weights["conv2.weight"]![0] = .nan
        let url = directory.appendingPathComponent("bad")
        assertFails(["conv2.weight", "not finite"]) { try PlanFiles.write(plan, to: url) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])
    }

    func testMissingFiles() throws {
        assertFails([directory.appendingPathComponent("none/plan.json").path, "no such file"]) {
            _ = try PlanFiles.read(from: directory.appendingPathComponent("none"))
        }
        let (url, _) = try written()
        try FileManager.default.removeItem(at: url.appendingPathComponent("weights.h5"))
        assertFails([url.appendingPathComponent("weights.h5").path, "no such file"]) { _ = try PlanFiles.read(from: url) }
    }

    func testUnsupportedSchemaVersion() throws {
        let (url, _) = try written()
        try editManifest(url) { $0.replacingOccurrences(of: "\"schema_version\" : 3", with: "\"schema_version\" : 7") }
        assertFails(["plan.json", "schema version 7", "re-export"]) { _ = try PlanFiles.read(from: url) }
    }

    func testUnknownLayerKind() throws {
        let (url, _) = try written()
        try editManifest(url) { $0.replacingOccurrences(of: "\"global_average_pool\"", with: "\"global_max_pool\"") }
        assertFails(["plan.json", "graph node 5", "global_max_pool"]) { _ = try PlanFiles.read(from: url) }
    }

    func testCorruptManifest() throws {
        let (url, _) = try written()
        try editManifest(url) { String($0.prefix(40)) }
        assertFails(["plan.json", "not a JSON object"]) { _ = try PlanFiles.read(from: url) }
    }

    func testMissingWeight() throws {
        let (url, _) = try written()
        // The graph now names a layer the weights file does not have.
        try editManifest(url) { $0.replacingOccurrences(of: "\"name\" : \"fc\"", with: "\"name\" : \"classifier\"") }
        assertFails(["weights.h5", "float/classifier.bias"]) { _ = try PlanFiles.read(from: url) }
    }

    func testMisShapedWeight() throws {
        let (url, _) = try written()
        let file = try HDF5File(opening: url.appendingPathComponent("weights.h5"), writable: true)
        try file.write([Float](repeating: 0, count: 4 * 3 * 3), shape: [4, 3, 3], to: "float/conv1.weight")
        try file.close()
        assertFails(["weights.h5", "float/conv1.weight", "[4, 3, 3, 3]", "[4, 3, 3]"]) { _ = try PlanFiles.read(from: url) }
    }

    func testMissingCoefficients() throws {
        let (url, _) = try written()
        // act1 becomes polynomial in plan.json; weights.h5 has no coefficients for it.
        try editManifest(url) { text in
            text.replacingOccurrences(of: "\"act1\" : {\n      \"kind\" : \"relu\"\n    }",
                                      with: "\"act1\" : {\n      \"degree\" : 2,\n      \"kind\" : \"polynomial\"\n    }")
        }
        assertFails(["weights.h5", "act1.coefficients"]) { _ = try PlanFiles.read(from: url) }
    }

    /// One integer of the program changed in weights.h5: the digest's program part names it.
    func testEditedProgramIntegerIsCaught() throws {
        let (url, plan) = try written()
        let step = try XCTUnwrap(plan.manifest.program?.steps.first { $0.name == "conv2" })
        let name = try XCTUnwrap(step.bias)
        var values = try XCTUnwrap(plan.programArrays[name]).values
        values[3] += 1
        let file = try HDF5File(opening: url.appendingPathComponent("weights.h5"), writable: true)
        try file.write(values, shape: [6], to: name)
        try file.close()
        assertFails(["plan.json", "\"program\" was changed after export"]) { _ = try PlanFiles.read(from: url) }
    }

    func testTruncatedWeights() throws {
        let (url, _) = try written()
        let weights = url.appendingPathComponent("weights.h5")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count / 2).write(to: weights)
        assertFails([weights.path, "damaged or truncated"]) { _ = try PlanFiles.read(from: url) }
    }

    func testForeignWeightsFile() throws {
        let (url, _) = try written()
        let weights = url.appendingPathComponent("weights.h5")
        let file = try HDF5File(creating: weights, overwrite: true)
        try file.write([Float(1)], shape: [1], to: "x")
        try file.close()
        assertFails([weights.path, "sibyl-plan-weights"]) { _ = try PlanFiles.read(from: url) }
    }

    func testReadableByH5dump() throws {
        let (url, _) = try written()
        guard let result = try runTool("h5dump", ["-H", url.appendingPathComponent("weights.h5").path]) else {
            throw XCTSkip("h5dump is not installed")
        }
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("\"conv1.weight\""), result.output)
        XCTAssertTrue(result.output.contains("H5T_STD_I64LE"), result.output)
        XCTAssertTrue(result.output.contains("H5T_IEEE_F32LE"), result.output)
    }
}
