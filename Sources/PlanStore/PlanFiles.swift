// Reading and writing plan directories:
//   Plans/<name>/plan.json    the manifest (NetworkPlan.PlanManifest, schema version 3; 1 and 2 are still read)
//   Plans/<name>/weights.h5   /float/<parameter>            float32, batch norm folded into the convolutions
//                             /float/<slot>.coefficients    float32 [C, d + 1]: a0 ... ad per channel
//                             /program/<step>.<part>        int64: the program's integers as they run (schema 3;
//                                                           named by plan.json's "program", Plans/FORMAT.md)
//                             /fixed/<parameter>            schemas 1-2 only: int64 round(value * 2^scale), a
//                                                           cross-check of the float copy (attribute "scale")
//                             root attributes format, plan (strings), schema_version, fractional_bits (int64
//                             from schema 3; strings before), plan_digest (schema 2 on: the digest of
//                             plan.json and these weights, as JSON text)
// A plan is written into a temporary sibling directory `<name>.tmp-XXXX`, made durable, then renamed
// into place, so a reader never sees half a plan. Reading validates everything a runtime relies on.
import Foundation
import NetworkPlan

public enum PlanFiles {
    public static let manifestFileName = "plan.json"
    public static let weightsFileName = "weights.h5"
    /// Value of the root attribute `format` of weights.h5.
    public static let weightsFormat = "sibyl-plan-weights"
    /// The group of the program's integer datasets (FixedPointProgram.datasetGroup).
    public static let programGroup = "program"

    /// Writes `plan` as the directory `directory` (its parent is created when missing). An existing
    /// directory is an error unless `overwrite`; then it is replaced (old one moved aside, new one
    /// renamed in, old one removed). Nothing is left behind when writing fails.
    public static func write(_ plan: PlanContents, to directory: URL, overwrite: Bool = false) throws {
        var plan = plan
        plan.manifest.schemaVersion = PlanManifest.currentSchemaVersion
        plan.manifest.digest = try PlanDigest.of(plan)
        try validate(plan, path: directory.path)
        let manager = FileManager.default
        let parent = directory.deletingLastPathComponent()
        let target = directory.standardizedFileURL
        try checkDestination(target, overwrite: overwrite)
        do { try manager.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
            throw PlanStoreError.io(path: parent.path, operation: "create directory", detail: error.localizedDescription)
        }
        let temporary = parent.appendingPathComponent("\(target.lastPathComponent).tmp-\(randomSuffix())")
        do {
            do { try manager.createDirectory(at: temporary, withIntermediateDirectories: false) } catch {
                throw PlanStoreError.io(path: temporary.path, operation: "create directory", detail: error.localizedDescription)
            }
            let manifestURL = temporary.appendingPathComponent(manifestFileName)
            let data: Data
            do { data = try plan.manifest.encoded() } catch {
                throw PlanError.invalid("the manifest cannot be encoded as JSON (\(error))")
            }
            do { try data.write(to: manifestURL) } catch {
                throw PlanStoreError.io(path: target.appendingPathComponent(manifestFileName).path, operation: "write",
                                        detail: error.localizedDescription)
            }
            try writeWeights(plan, to: temporary.appendingPathComponent(weightsFileName))
            for file in [manifestURL, temporary.appendingPathComponent(weightsFileName), temporary] {
                try sync(file.path)
            }
            try moveIntoPlace(temporary, target)
        } catch {
            try? manager.removeItem(at: temporary)
            throw error
        }
        try? sync(parent.path)
    }

    /// Checks that a plan may be written at `directory`: nothing is there, or (with `overwrite`) an
    /// existing Sibyl plan that the new one replaces. Anything else (a file, a symbolic link, a folder
    /// holding other files, `.` or `Plans` itself) is refused, so that replacing never removes data that
    /// is not a plan. Call it before expensive work; `write` calls it again.
    public static func checkDestination(_ directory: URL, overwrite: Bool) throws {
        let target = directory.standardizedFileURL
        var info = stat()
        guard lstat(target.path, &info) == 0 else { return }   // nothing there
        guard overwrite else {
            throw PlanStoreError.invalidValue(path: target.path, name: "plan",
                                              reason: "a file or plan already exists there; pass --force to replace it or choose another --out")
        }
        if let reason = notAPlan(target, mode: info.st_mode) { throw refusal(target, reason) }
    }

    /// Why the entry at `url` is not a replaceable plan directory (nil when it is one): a directory holding
    /// exactly plan.json (a JSON object with a schema version) and weights.h5 (an HDF5 file).
    static func notAPlan(_ url: URL, mode: mode_t) -> String? {
        if (mode & S_IFMT) == S_IFLNK { return "it is a symbolic link" }
        guard (mode & S_IFMT) == S_IFDIR else { return "it is a file, not a plan directory" }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: url.path) else {
            return "its contents cannot be listed"
        }
        let others = Set(entries).subtracting([manifestFileName, weightsFileName]).sorted()
        if !others.isEmpty {
            let shown = others.prefix(3).joined(separator: ", ") + (others.count > 3 ? ", ..." : "")
            return "it holds \(others.count) entr\(others.count == 1 ? "y" : "ies") besides plan.json and weights.h5 (\(shown))"
        }
        guard entries.count == 2 else { return "it lacks plan.json or weights.h5" }
        // Both regular files (not links, pipes or devices), of plausible size, read without following links.
        for name in [manifestFileName, weightsFileName] {
            var entry = stat()
            guard lstat(url.appendingPathComponent(name).path, &entry) == 0, (entry.st_mode & S_IFMT) == S_IFREG else {
                return "its \(name) is not a regular file"
            }
            guard entry.st_size <= 4 << 30 else { return "its \(name) is larger than any plan's" }
        }
        guard let data = try? Data(contentsOf: url.appendingPathComponent(manifestFileName)),
              let version = try? PlanManifest.schemaVersion(of: data), version != nil else {
            return "its plan.json is not a Sibyl plan manifest"
        }
        let hdf5Signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        guard let handle = FileHandle(forReadingAtPath: url.appendingPathComponent(weightsFileName).path) else {
            return "its weights.h5 cannot be read"
        }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 8), [UInt8](head) == hdf5Signature else {
            return "its weights.h5 is not an HDF5 file"
        }
        return nil
    }

    /// Reads and fully validates the plan in `directory`: plan.json (schema version, graph, choices),
    /// weights.h5 (format, every expected parameter with its shape, coefficients of polynomial slots,
    /// fixed-point copies equal to the encoded float copies).
    public static func read(from directory: URL) throws -> PlanContents {
        let manifestURL = directory.appendingPathComponent(manifestFileName)
        let weightsURL = directory.appendingPathComponent(weightsFileName)
        guard FileManager.default.fileExists(atPath: manifestURL.path) else {
            throw PlanError.unreadable(path: manifestURL.path,
                                       reason: "no such file (a plan directory, written by `sibyl export --out DIR`, holds plan.json and weights.h5)")
        }
        let data: Data
        do { data = try Data(contentsOf: manifestURL) } catch {
            throw PlanError.unreadable(path: manifestURL.path, reason: error.localizedDescription)
        }
        let manifest: PlanManifest
        do { manifest = try PlanManifest.decode(data, path: manifestURL.path) } catch let error as PlanError {
            // Name the file in every manifest error.
            switch error {
            case .unreadable: throw error
            case .unsupportedSchema(let found, let supported):
                throw PlanError.unreadable(path: manifestURL.path, reason: "schema version \(found) is not supported (this sibyl reads versions \(PlanManifest.readableSchemaVersions.lowerBound) to \(supported))")
            case .invalid(let reason):
                throw PlanError.unreadable(path: manifestURL.path, reason: reason)
            }
        }
        if let index = manifest.graph.nodes.firstIndex(where: { if case .batchNorm = $0.op { return true } else { return false } }) {
            throw PlanError.unreadable(path: manifestURL.path,
                                       reason: "graph node \(index) is a batch norm, but plans store folded graphs")
        }
        let file = try HDF5File(opening: weightsURL)
        defer { try? file.close() }
        let path = weightsURL.path
        let format = try file.attribute("format")
        guard format == weightsFormat else {
            throw PlanStoreError.wrongFormat(path: path, expected: "Sibyl plan weights (format \(weightsFormat))",
                                             found: format.map { "format \($0)" } ?? "no format attribute")
        }
        let version = try file.integerAttribute("schema_version")
        guard version == Int64(manifest.schemaVersion) else {
            throw PlanStoreError.wrongFormat(path: path, expected: "plan weights schema version \(manifest.schemaVersion) as in plan.json",
                                             found: "version \(version.map(String.init) ?? "none"); the two files are from different exports: re-export the plan")
        }
        let f = manifest.fixedPoint.fractionalBits
        let bits = try file.integerAttribute("fractional_bits")
        guard bits == Int64(f) else {
            throw PlanStoreError.wrongFormat(path: path, expected: "fractional_bits \(f) as in plan.json",
                                             found: "\(bits.map(String.init) ?? "none"); the two files are from different exports")
        }
        // Schemas 1-2 carry /fixed copies of the float values, checked here; schema 3 runs /program instead.
        let checksFixed = manifest.schemaVersion < 3
        var weights: WeightTable = [:]
        for (name, shape) in try manifest.graph.expectedParameters().sorted(by: { $0.key < $1.key }) {
            weights[name] = try readChecked(file, name: name, shape: shape,
                                            scales: checksFixed ? [PlanFixedPoint.scale(ofParameter: name, fractionalBits: f)] : [])
        }
        var coefficients: [String: SlotCoefficients] = [:]
        for slot in try manifest.graph.slots() {
            guard let degree = manifest.activations[slot.name]?.polynomialDegree else { continue }
            let terms = degree + 1
            let values = try readChecked(file, name: "\(slot.name).coefficients", shape: [slot.channels, terms],
                                         scales: checksFixed ? PlanFixedPoint.coefficientScales(fractionalBits: f, degree: degree) : [])
            coefficients[slot.name] = (0..<slot.channels).map { Array(values[$0 * terms..<($0 + 1) * terms]) }
        }
        var programArrays: [String: IntegerArray] = [:]
        for name in manifest.program?.datasetNames ?? [] {
            guard name.hasPrefix("\(programGroup)/"), programArrays[name] == nil else {
                throw PlanError.unreadable(path: manifestURL.path, reason: "the program names dataset \(name) twice or outside /\(programGroup)")
            }
            let (shape, values) = try file.read(Int64.self, from: name)
            programArrays[name] = IntegerArray(shape: shape, values: values)
        }
        let contents = PlanContents(manifest: manifest, weights: weights, coefficients: coefficients, programArrays: programArrays)
        if manifest.schemaVersion >= 2 {
            try PlanDigest.check(computed: try PlanDigest.of(contents), manifest: manifest.digest,
                                 weights: try file.attribute("plan_digest"), directory: directory)
        }
        return contents
    }

    // MARK: - Details

    /// Reads /float/name (float32, `shape`) and checks /fixed/name (int64, same shape) equals its encoding,
    /// the last dimension's entries at `scales` (one scale: all entries; none: no /fixed copy to check).
    static func readChecked(_ file: HDF5File, name: String, shape: [Int], scales: [Int]) throws -> [Float] {
        let floatName = "float/\(name)", fixedName = "fixed/\(name)"
        let (floatShape, values) = try file.read(Float.self, from: floatName)
        guard floatShape == shape else {
            throw PlanStoreError.wrongKind(path: file.path, name: floatName, expected: "float32 of shape \(shape)",
                                           found: "shape \(floatShape); the plan's weights do not match its graph: re-export it")
        }
        guard !scales.isEmpty else { return values }
        let (fixedShape, fixed) = try file.read(Int64.self, from: fixedName)
        guard fixedShape == shape else {
            throw PlanStoreError.wrongKind(path: file.path, name: fixedName, expected: "int64 of shape \(shape)",
                                           found: "shape \(fixedShape); re-export the plan")
        }
        let columns = scales.count
        for (i, v) in values.enumerated() {
            let expected = PlanFixedPoint.encode([v], scale: scales[i % columns])?[0]
            guard expected == fixed[i] else {
                throw PlanStoreError.invalidValue(path: file.path, name: fixedName,
                    reason: "entry \(i) is \(fixed[i]) but the float copy \(v) encodes to \(expected.map(String.init) ?? "no 62-bit integer"); "
                        + "the file was modified or damaged: re-export the plan")
            }
        }
        return values
    }

    /// Checks a plan before writing: valid manifest, folded graph, every weight and coefficient present,
    /// of the right size and encodable.
    static func validate(_ plan: PlanContents, path: String) throws {
        try plan.manifest.validate()
        guard let program = plan.manifest.program else {
            throw PlanError.invalid("a plan is written with its fixed-point program: set manifest.program and programArrays "
                + "(Pipeline's PlanCompilation.attachProgram does both)")
        }
        let named = program.datasetNames
        guard Set(named).count == named.count, Set(named) == Set(plan.programArrays.keys),
              named.allSatisfy({ $0.hasPrefix("\(programGroup)/") }) else {
            throw PlanError.invalid("the program's datasets (\(named.count)) and the integer arrays given (\(plan.programArrays.count)) differ")
        }
        for (name, array) in plan.programArrays where array.shape.reduce(1, *) != array.values.count {
            throw PlanError.invalid("integer array \(name) has \(array.values.count) values for shape \(array.shape)")
        }
        let f = plan.manifest.fixedPoint.fractionalBits
        if plan.manifest.graph.nodes.contains(where: { if case .batchNorm = $0.op { return true } else { return false } }) {
            throw PlanError.invalid("the graph still has batch-norm nodes; fold them (foldBatchNorms) before writing")
        }
        for (name, shape) in try plan.manifest.graph.expectedParameters() {
            guard let values = plan.weights[name] else { throw PlanError.invalid("weights lack \(name)") }
            guard values.count == shape.reduce(1, *) else {
                throw PlanError.invalid("\(name) has \(values.count) values, its shape \(shape) needs \(shape.reduce(1, *))")
            }
            guard PlanFixedPoint.encode(values, scale: PlanFixedPoint.scale(ofParameter: name, fractionalBits: f)) != nil else {
                throw PlanError.invalid("\(name) has values that are not finite or too large for fixed point")
            }
        }
        for slot in try plan.manifest.graph.slots() {
            guard let degree = plan.manifest.activations[slot.name]?.polynomialDegree else { continue }
            guard let c = plan.coefficients[slot.name], c.count == slot.channels else {
                throw PlanError.invalid("polynomial slot \(slot.name) needs coefficients for its \(slot.channels) channels")
            }
            guard PlanFixedPoint.encode(coefficients: c, fractionalBits: f, degree: degree) != nil else {
                throw PlanError.invalid("coefficients of \(slot.name) must be \(degree + 1) finite values per channel")
            }
        }
    }

    static func writeWeights(_ plan: PlanContents, to url: URL) throws {
        let f = plan.manifest.fixedPoint.fractionalBits
        let file = try HDF5File(creating: url, overwrite: false)
        do {
            try file.setAttribute("format", to: weightsFormat)
            try file.setAttribute("schema_version", integer: Int64(PlanManifest.currentSchemaVersion))
            try file.setAttribute("fractional_bits", integer: Int64(f))
            try file.setAttribute("plan", to: plan.manifest.name)
            if let digest = plan.manifest.digest { try file.setAttribute("plan_digest", to: try digest.attributeText()) }
            for (name, shape) in try plan.manifest.graph.expectedParameters().sorted(by: { $0.key < $1.key }) {
                let values = plan.weights[name]!
                try file.write(values, shape: shape, to: "float/\(name)")
            }
            for slot in try plan.manifest.graph.slots() {
                guard let degree = plan.manifest.activations[slot.name]?.polynomialDegree else { continue }
                let c = plan.coefficients[slot.name]!
                let name = "\(slot.name).coefficients"
                try file.write(Array(c.joined()), shape: [slot.channels, degree + 1], to: "float/\(name)")
            }
            for (name, array) in plan.programArrays.sorted(by: { $0.key < $1.key }) {
                try file.write(array.values, shape: array.shape, to: name)
            }
            try file.close()
        } catch {
            try? file.close()
            throw error
        }
    }

    /// Puts `temporary` at `target`. Nothing there: a rename. An existing plan: swapped in one atomic
    /// exchange (renameat2 RENAME_EXCHANGE) where the system has it, else moved aside and the new one
    /// renamed in (a crash between the two leaves the old plan as `NAME.old-XXXX`). Either way what was
    /// swapped out is checked again before it is deleted, so a folder that stopped being a plan after
    /// `checkDestination` is put back, never removed.
    static func moveIntoPlace(_ temporary: URL, _ target: URL) throws {
        var info = stat()
        guard lstat(target.path, &info) == 0 else {
            guard rename(temporary.path, target.path) == 0 else {
                throw PlanStoreError.io(path: target.path, operation: "rename", detail: String(cString: strerror(errno)))
            }
            return
        }
        let old: URL
        if let exchange = renameExchange, exchange(AT_FDCWD, temporary.path, AT_FDCWD, target.path, 2 /* RENAME_EXCHANGE */) == 0 {
            old = temporary   // the old plan is now where the new one was written
            if let reason = notAPlanEntry(old) {
                _ = exchange(AT_FDCWD, temporary.path, AT_FDCWD, target.path, 2)
                throw refusal(target, reason)
            }
        } else {
            old = target.deletingLastPathComponent().appendingPathComponent("\(target.lastPathComponent).old-\(randomSuffix())")
            guard rename(target.path, old.path) == 0 else {
                throw PlanStoreError.io(path: target.path, operation: "move the old plan aside", detail: String(cString: strerror(errno)))
            }
            if let reason = notAPlanEntry(old) {
                _ = rename(old.path, target.path)
                throw refusal(target, reason)
            }
            guard rename(temporary.path, target.path) == 0 else {
                let detail = String(cString: strerror(errno))
                _ = rename(old.path, target.path)
                throw PlanStoreError.io(path: target.path, operation: "rename", detail: detail)
            }
        }
        try? FileManager.default.removeItem(at: old)
    }

    /// `notAPlan` for whatever is at `url` now (not following a link).
    static func notAPlanEntry(_ url: URL) -> String? {
        var info = stat()
        guard lstat(url.path, &info) == 0 else { return "it disappeared" }
        return notAPlan(url, mode: info.st_mode)
    }

    static func refusal(_ target: URL, _ reason: String) -> PlanStoreError {
        .invalidValue(path: target.path, name: "plan",
                      reason: "--force replaces only an existing Sibyl plan, and this is not one: \(reason). "
                        + "Nothing was removed; choose another --out, or move what is there yourself")
    }

    /// glibc's renameat2 (Linux 3.15+; not exported by Swift's Glibc module), looked up once.
    private static let renameExchange: (@convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32).self)
    }()

    static func randomSuffix() -> String { String(UInt32.random(in: 0...UInt32.max), radix: 16) }

    static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw PlanStoreError.io(path: path, operation: "open for fsync", detail: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw PlanStoreError.io(path: path, operation: "fsync", detail: String(cString: strerror(errno))) }
    }
}
