// A plan checked whole: the digest binds plan.json's semantics to weights.h5, so an edit to any field
// that decides what the plan computes, or to a weight, is caught and named; schema-1 plans still read;
// `--force` replaces only a plan, atomically, and refuses anything else without removing a byte.
import Foundation
import NetworkPlan
import PlanStore
import XCTest
import TestSupport

final class PlanIntegrityTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory("plan-integrity") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func written(_ name: String = "plan") throws -> URL {
        let url = directory.appendingPathComponent(name)
        try PlanFiles.write(try samplePlan(seed: 4), to: url)
        return url
    }

    /// Applies `edit` to plan.json as a JSON object.
    func editJSON(_ url: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let file = url.appendingPathComponent("plan.json")
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        edit(&object)
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: file)
    }

    func assertRefused(_ url: URL, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try PlanFiles.read(from: url), file: file, line: line) { error in
            for fragment in fragments {
                XCTAssertTrue("\(error)".contains(fragment), "'\(error)' lacks '\(fragment)'", file: file, line: line)
            }
        }
    }

    func testEveryEditedFieldIsCaughtAndNamed() throws {
        let edits: [(field: String, edit: (inout [String: Any]) -> Void)] = [
            ("fixed_point", { o in
                var fixed = o["fixed_point"] as! [String: Any]
                var bits = fixed["relu_value_bits"] as! [String: Any]
                bits["act1"] = 21
                fixed["relu_value_bits"] = bits
                o["fixed_point"] = fixed
            }),
            ("fixed_point", { o in
                var fixed = o["fixed_point"] as! [String: Any]
                fixed["fractional_bits"] = 9
                o["fixed_point"] = fixed
            }),
            ("activations", { o in o["activations"] = ["act1": ["kind": "relu"], "act2": ["kind": "relu"]] }),
            ("input", { o in
                var input = o["input"] as! [String: Any]
                input["mean"] = [0.4, 0.5, 0.5]
                o["input"] = input
            }),
            ("class_names", { o in o["class_names"] = ["b", "a", "c", "d", "e"] }),
            ("graph", { o in
                var nodes = o["graph"] as! [[String: Any]]
                nodes[3]["padding"] = 0
                o["graph"] = nodes
            }),
            ("program", { o in
                var program = o["program"] as! [String: Any]
                var steps = program["steps"] as! [[String: Any]]
                let relu = steps.firstIndex { $0["op"] as? String == "relu" }!
                steps[relu]["value_bits"] = 30
                program["steps"] = steps
                o["program"] = program
            }),
        ]
        for (index, item) in edits.enumerated() {
            let url = try written("edit-\(index)")
            try editJSON(url, item.edit)
            // fractional_bits is also a weights.h5 attribute, checked first; every other edit names the field.
            assertRefused(url, index == 1 ? ["fractional_bits"] : ["plan.json", "\"\(item.field)\"", "changed after export"])
        }
    }

    func testEditedDigestIsCaughtByTheWeightsCopy() throws {
        let url = try written()
        var plan = try PlanFiles.read(from: url)
        plan.manifest.classNames[0] = "z"
        let forged = try PlanDigest.of(plan)
        try editJSON(url) { o in
            o["class_names"] = plan.manifest.classNames
            var digest = o["digest"] as! [String: Any]
            digest["class_names"] = forged.classNames
            o["digest"] = digest
        }
        assertRefused(url, ["\"class_names\"", "weights.h5 was exported with"])
    }

    func testEditedDigestAloneIsCaught() throws {
        let url = try written()
        try editJSON(url) { o in
            var digest = o["digest"] as! [String: Any]
            digest["fixed_point"] = String(repeating: "0", count: 64)
            o["digest"] = digest
        }
        assertRefused(url, ["plan.json", "its digest of \"fixed_point\" was edited"])
    }

    func testSchemaVersionEditedDownIsCaught() throws {
        // A schema-3 plan relabelled as schema 2 (no program) or 1 (no digest) would skip checks: refused.
        for version in [1, 2] {
            let url = try written("relabelled-\(version)")
            try editJSON(url) { o in o["schema_version"] = version }
            assertRefused(url, ["schema version was edited"])
        }
    }

    func testEditedWeightIsCaught() throws {
        let url = try written()
        let file = try HDF5File(opening: url.appendingPathComponent("weights.h5"), writable: true)
        var (shape, values) = try file.read(Float.self, from: "float/conv1.weight")
        values[0] += 0.25
        try file.write(values, shape: shape, to: "float/conv1.weight")
        try file.close()
        assertRefused(url, ["weights.h5", "float weights", "digest recorded at export"])
    }

    /// Writes `plan` as schema 1 or 2 wrote it (legacy encodings, /fixed copies, no program): the files an
    /// older sibyl exported.
    func writeLegacy(_ plan: PlanContents, version: Int, to url: URL) throws {
        var plan = plan
        plan.manifest.program = nil
        plan.programArrays = [:]
        plan.manifest.schemaVersion = version
        plan.manifest.digest = version >= 2 ? try PlanDigest.of(plan) : nil
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try plan.manifest.encoded().write(to: url.appendingPathComponent("plan.json"))
        let file = try HDF5File(creating: url.appendingPathComponent("weights.h5"), overwrite: false)
        let f = plan.manifest.fixedPoint.fractionalBits
        for (name, value) in [("format", PlanFiles.weightsFormat), ("schema_version", String(version)), ("fractional_bits", String(f)),
                              ("plan", plan.manifest.name)] {
            try file.setAttribute(name, to: value)
        }
        if let digest = plan.manifest.digest {
            try file.setAttribute("plan_digest", to: String(decoding: try PlanManifest.encoder(pretty: false).encode(digest), as: UTF8.self))
        }
        for (name, shape) in try plan.manifest.graph.expectedParameters() {
            try file.write(plan.weights[name]!, shape: shape, to: "float/\(name)")
            try file.write(PlanFixedPoint.encode(plan.weights[name]!, scale: PlanFixedPoint.scale(ofParameter: name, fractionalBits: f))!,
                           shape: shape, to: "fixed/\(name)")
        }
        for (slot, rows) in plan.coefficients {
            let degree = rows[0].count - 1
            try file.write(Array(rows.joined()), shape: [rows.count, degree + 1], to: "float/\(slot).coefficients")
            try file.write(PlanFixedPoint.encode(coefficients: rows, fractionalBits: f, degree: degree)!,
                           shape: [rows.count, degree + 1], to: "fixed/\(slot).coefficients")
        }
        try file.close()
    }

    func testSchemaOneAndTwoPlansStillRead() throws {
        let plan = try samplePlan(seed: 4)
        for version in [1, 2] {
            let url = directory.appendingPathComponent("v\(version)")
            try writeLegacy(plan, version: version, to: url)
            let read = try PlanFiles.read(from: url)
            XCTAssertEqual(read.manifest.schemaVersion, version)
            XCTAssertEqual(read.manifest.digest == nil, version == 1)
            XCTAssertNil(read.manifest.program)
            XCTAssertEqual(read.weights, plan.weights)
            XCTAssertEqual(read.manifest.graph, plan.manifest.graph)
            XCTAssertEqual(read.manifest.activations, plan.manifest.activations)
            // A /fixed copy that disagrees with its float copy is caught (schemas 1-2 carry them).
            let file = try HDF5File(opening: url.appendingPathComponent("weights.h5"), writable: true)
            var fixed = try file.read(Int64.self, from: "fixed/conv2.bias").values
            fixed[3] += 1
            try file.write(fixed, shape: [6], to: "fixed/conv2.bias")
            try file.close()
            assertRefused(url, ["weights.h5", "fixed/conv2.bias", "entry 3", "re-export"])
        }
        // Rewriting one with its program (what `sibyl export --upgrade` does) seals it in the current schema.
        let url = directory.appendingPathComponent("v1-upgraded")
        try writeLegacy(plan, version: 1, to: url)
        let read = try PlanFiles.read(from: url)
        try PlanFiles.write(try withProgram(read), to: url, overwrite: true)
        let upgraded = try PlanFiles.read(from: url)
        XCTAssertEqual(upgraded.manifest.schemaVersion, PlanManifest.currentSchemaVersion)
        XCTAssertEqual(upgraded, try sealed(plan))
        XCTAssertEqual(upgraded.weights, read.weights)
    }

    func testForceReplacesOnlyAPlan() throws {
        let plan = try samplePlan(seed: 5)
        // A folder with anything besides plan.json and weights.h5, a file, a symbolic link, a parent of plans:
        // each refused, nothing removed.
        let notes = directory.appendingPathComponent("with-notes")
        try FileManager.default.createDirectory(at: notes, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: notes.appendingPathComponent("notes.txt"))
        let aFile = directory.appendingPathComponent("a-file")
        try Data("keep me".utf8).write(to: aFile)
        let target = try written("real")
        let link = directory.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        let fakePlan = directory.appendingPathComponent("fake")
        try FileManager.default.createDirectory(at: fakePlan, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: fakePlan.appendingPathComponent("plan.json"))
        try Data("not hdf5".utf8).write(to: fakePlan.appendingPathComponent("weights.h5"))
        let before = try FileManager.default.subpathsOfDirectory(atPath: directory.path).sorted()
        for (url, reason) in [(notes, "notes.txt"), (aFile, "is a file"), (link, "symbolic link"), (directory!, "entries besides"),
                              (fakePlan, "not a Sibyl plan manifest")] {
            XCTAssertThrowsError(try PlanFiles.write(plan, to: url, overwrite: true), url.path) { error in
                XCTAssertTrue("\(error)".contains("only an existing Sibyl plan") && "\(error)".contains(reason), "\(error)")
                XCTAssertTrue("\(error)".contains("Nothing was removed"), "\(error)")
            }
        }
        XCTAssertEqual(try FileManager.default.subpathsOfDirectory(atPath: directory.path).sorted(), before)
        XCTAssertEqual(try String(contentsOf: notes.appendingPathComponent("notes.txt"), encoding: .utf8), "keep me")

        // A plan is replaced whole, and nothing is left beside it.
        try PlanFiles.write(plan, to: target, overwrite: true)
        XCTAssertEqual(try PlanFiles.read(from: target), try sealed(plan))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("real.") }
        XCTAssertEqual(leftovers, [], "temporary or old copies left behind")
    }
}
