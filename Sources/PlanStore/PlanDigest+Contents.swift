// The plan digest (NetworkPlan.PlanDigest): computed from a plan's contents, stored in plan.json and, as
// the root attribute `plan_digest`, in weights.h5, so that each file vouches for the other. Reading a
// plan recomputes it and names the part, and the file, that no longer matches.
//
// Each part is the SHA-256 of a canonical encoding: manifest parts as JSON with sorted keys and
// snake-case names (what plan.json holds, re-encoded after decoding, so formatting does not matter);
// weights as, per dataset in name order, its name, a zero byte, its shape as UInt64 LE values, then its
// float32 values' bit patterns LE; polynomial coefficients the same way under "<slot>.coefficients".
// The program (schema 3): its JSON as above, then per integer dataset in name order its name, a zero
// byte, its shape as UInt64 LE values and its int64 values LE.
import Foundation
import NetworkPlan

extension PlanDigest {
    /// The digest of `contents` as they are now (the manifest's own `digest` field is not part of it).
    public static func of(_ contents: PlanContents) throws -> PlanDigest {
        let manifest = contents.manifest
        let encoder = PlanManifest.encoder(pretty: false)
        func part<T: Encodable>(_ value: T) throws -> String { SHA256.hex(of: try encoder.encode(value)) }
        var hasher = SHA256()
        func add(_ name: String, shape: [Int], _ values: [Float]) {
            hasher.update(datasetHeader(name, shape: shape))
            values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { hasher.update($0) }
        }
        // Exactly what weights.h5 holds: the graph's parameters and the coefficients of polynomial slots.
        for (name, shape) in try manifest.graph.expectedParameters().sorted(by: { $0.key < $1.key }) {
            add(name, shape: shape, contents.weights[name] ?? [])
        }
        for slot in contents.polynomialSlots {
            let rows = contents.coefficients[slot] ?? []
            add("\(slot).coefficients", shape: [rows.count, rows.first?.count ?? 0], Array(rows.joined()))
        }
        var program: String?
        if let document = manifest.program {
            var programHasher = SHA256()
            programHasher.update(Array(try encoder.encode(document)))
            for (name, array) in contents.programArrays.sorted(by: { $0.key < $1.key }) {
                programHasher.update(datasetHeader(name, shape: array.shape))
                array.values.map(\.littleEndian).withUnsafeBytes { programHasher.update($0) }
            }
            program = programHasher.hexDigest()
        }
        return PlanDigest(graph: try part(manifest.graph), activations: try part(manifest.activations),
                          fixedPoint: try part(manifest.fixedPoint), input: try part(manifest.input),
                          classNames: try part(manifest.classNames), weights: hasher.hexDigest(), program: program)
    }

    /// A dataset's name, a zero byte, its rank and dimensions as UInt64 LE: what precedes its values.
    static func datasetHeader(_ name: String, shape: [Int]) -> [UInt8] {
        var bytes = Array(name.utf8) + [0]
        for d in [shape.count] + shape { withUnsafeBytes(of: UInt64(d).littleEndian) { bytes += $0 } }
        return bytes
    }

    /// As stored in weights.h5 (compact JSON, sorted keys).
    func attributeText() throws -> String {
        String(decoding: try PlanManifest.encoder(pretty: false).encode(self), as: UTF8.self)
    }

    static func fromAttribute(_ text: String) -> PlanDigest? {
        try? PlanManifest.decoder.decode(PlanDigest.self, from: Data(text.utf8))
    }

    /// Checks `computed` (from the files' contents) against the digest plan.json records and the one
    /// weights.h5 records; the error names the edited part and file.
    static func check(computed: PlanDigest, manifest stored: PlanDigest?, weights attribute: String?,
                      directory: URL) throws {
        let manifestPath = directory.appendingPathComponent(PlanFiles.manifestFileName).path
        let weightsPath = directory.appendingPathComponent(PlanFiles.weightsFileName).path
        guard let stored else {
            throw PlanError.unreadable(path: manifestPath, reason: "schema 2 plans carry a \"digest\", and this one has none: "
                                       + "the file was edited or damaged")
        }
        guard let attribute, let bound = fromAttribute(attribute) else {
            throw PlanStoreError.invalidValue(path: weightsPath, name: "plan_digest",
                                              reason: "missing or unreadable: the weights were not written with this plan.json")
        }
        for algorithm in [stored.algorithm, bound.algorithm] where algorithm != "sha256" {
            throw PlanError.unreadable(path: manifestPath, reason: "unknown digest algorithm \(algorithm)")
        }
        let now = computed.parts, recorded = stored.parts, exported = bound.parts
        for i in now.indices where now[i].value != recorded[i].value || now[i].value != exported[i].value {
            let name = now[i].name
            switch (now[i].value == recorded[i].value, now[i].value == exported[i].value) {
            case (false, true):   // the contents agree with weights.h5's record: plan.json's digest was edited
                throw PlanError.unreadable(path: manifestPath, reason: "its digest of \"\(name)\" was edited after export")
            case (true, false):   // both files' contents agree with plan.json's record, not with weights.h5's
                if name == "weights" {
                    throw PlanStoreError.invalidValue(path: weightsPath, name: "plan_digest",
                        reason: "its digest of the weights was edited, or the files come from different exports; re-export the plan")
                }
                throw PlanError.unreadable(path: manifestPath, reason: "\"\(name)\" does not match the digest weights.h5 was "
                    + "exported with (plan.json was edited, digest included, or the files come from different exports)")
            default:              // the contents match neither record: the contents were changed
                if name == "weights" {
                    throw PlanStoreError.invalidValue(path: weightsPath, name: "float weights",
                        reason: "they no longer match the digest recorded at export (weights changed after export, or the files "
                            + "come from different exports); re-export the plan")
                }
                throw PlanError.unreadable(path: manifestPath,
                    reason: "\"\(name)\" was changed after export (it no longer matches the digest recorded in plan.json)")
            }
        }
    }
}
