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
            ("activations", { o in o["activations"] = ["act1": ["relu": [String: Any]()], "act2": ["relu": [String: Any]()]] }),
            ("input", { o in
                var input = o["input"] as! [String: Any]
                input["mean"] = [0.4, 0.5, 0.5]
                o["input"] = input
            }),
            ("class_names", { o in o["class_names"] = ["b", "a", "c", "d", "e"] }),
            ("graph", { o in
                var graph = o["graph"] as! [String: Any]
                var nodes = graph["nodes"] as! [[String: Any]]
                var conv = nodes[3]["op"] as! [String: Any]
                var fields = conv["conv"] as! [String: Any]
                fields["padding"] = 0
                conv["conv"] = fields
                nodes[3]["op"] = conv
                graph["nodes"] = nodes
                o["graph"] = graph
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
        // A schema-2 plan relabelled as schema 1 (which has no digest) would skip the check: refused.
        let url = try written()
        try editJSON(url) { o in o["schema_version"] = 1 }
        assertRefused(url, ["schema version was edited"])
    }

    func testEditedWeightIsCaught() throws {
        let url = try written()
        let file = try HDF5File(opening: url.appendingPathComponent("weights.h5"), writable: true)
        var (shape, values) = try file.read(Float.self, from: "float/conv1.weight")
        values[0] += 0.25
        var fixed = try file.read(Int64.self, from: "fixed/conv1.weight").values
        fixed[0] = PlanFixedPoint.encode([values[0]], scale: 8)![0]   // a consistent edit of both copies
        try file.write(values, shape: shape, to: "float/conv1.weight")
        try file.write(fixed, shape: shape, to: "fixed/conv1.weight")
        try file.close()
        assertRefused(url, ["weights.h5", "float weights", "digest recorded at export"])
    }

    func testSchemaOnePlansStillRead() throws {
        let url = try written()
        try editJSON(url) { o in
            o["schema_version"] = 1
            o.removeValue(forKey: "digest")
        }
        let file = try HDF5File(opening: url.appendingPathComponent("weights.h5"), writable: true)
        try file.setAttribute("schema_version", to: "1")
        try file.close()
        let read = try PlanFiles.read(from: url)
        XCTAssertEqual(read.manifest.schemaVersion, 1)
        XCTAssertNil(read.manifest.digest)
        // Rewriting it (what `sibyl export --upgrade` does) seals it in the current schema.
        try PlanFiles.write(read, to: url, overwrite: true)
        let upgraded = try PlanFiles.read(from: url)
        XCTAssertEqual(upgraded.manifest.schemaVersion, PlanManifest.currentSchemaVersion)
        XCTAssertEqual(upgraded.manifest.digest, try PlanDigest.of(read))
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
