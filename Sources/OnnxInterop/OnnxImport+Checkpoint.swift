// The checkpoint an import writes: the network's weights and slots as `sibyl train` stores them, a
// training config naming the architecture and carrying the model's own input normalisation (and class
// names, if given), and where it came from. Written atomically; an existing one is replaced only with --force.
import Foundation
import NetworkPlan
import OnnxFormat
import PlanStore
import Training

extension OnnxImport {
    public static let checkpointName = "model.h5"
    public static let summaryName = "import.json"

    public static func run(_ request: OnnxImportRequest) throws -> OnnxImportSummary {
        let checkpointURL = request.outDirectory.appendingPathComponent(checkpointName)
        if FileManager.default.fileExists(atPath: checkpointURL.path), !request.force {
            throw OnnxError.destination(path: checkpointURL.path, reason: "exists; pass --force to replace it, or choose another --out")
        }
        let (model, data) = try readModel(at: request.model)
        let metadata = Dictionary(model.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        let (normalization, source) = try normalization(request, metadata: metadata)
        var classNames = request.classNames
        if classNames == nil, let text = metadata[metadataClassNames] {
            guard let names = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
                throw OnnxError.model("metadata \(metadataClassNames) is not a JSON list of names")
            }
            classNames = names
        }
        let (kind, network, check) = try self.network(from: model)
        if let classNames, classNames.count != network.classCount {
            throw OnnxError.model("\(classNames.count) class names for a classifier of \(network.classCount) classes")
        }
        var config = TrainingConfig(model: kind, dataset: request.dataset, epochs: 0)
        config.normalization = normalization
        config.classNames = classNames
        var contents = CheckpointContents()
        TrainingCheckpoint.encode(network, into: &contents)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        contents.strings["config"] = String(decoding: try encoder.encode(config), as: UTF8.self)
        contents.integers["epoch"] = 0
        contents.integers["global_step"] = 0
        var hash = SHA256()
        hash.update(data)
        let slots = network.slots
        let choices = try NetworkExport.slotChoices(of: network)
        let summary = OnnxImportSummary(
            source: request.model.lastPathComponent, sha256: hash.hexDigest(),
            producer: [model.producerName, model.producerVersion].filter { !$0.isEmpty }.joined(separator: " "),
            opset: Int(model.opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }?.version ?? 0),
            architecture: kind.rawValue, classes: network.classCount, slots: slots.count,
            reluSlots: choices.values.filter { $0 == .relu }.count,
            polynomialSlots: choices.values.filter { if case .polynomial = $0 { return true }; return false }.count,
            mixedSlots: choices.values.filter { if case .mixed = $0 { return true }; return false }.count,
            relus: Placement(choices: slots.map { choices[$0.name] ?? .relu }).reluCount(slots: slots.map {
                SlotDescriptor(name: $0.name, channels: $0.channels, elements: $0.elementsPerImage)
            }),
            normalization: source, checkpoint: checkpointName, selfCheckRelativeDifference: check)
        contents.strings["imported_from"] = String(decoding: try encoder.encode(summary), as: UTF8.self)
        do {
            try FileManager.default.createDirectory(at: request.outDirectory, withIntermediateDirectories: true)
        } catch {
            throw OnnxError.destination(path: request.outDirectory.path, reason: "cannot be created (\(error.localizedDescription))")
        }
        try CheckpointIO.write(contents, to: checkpointURL)
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try AtomicFile.write(to: request.outDirectory.appendingPathComponent(summaryName)) { url in
            try encoder.encode(summary).write(to: url)
        }
        return summary
    }

    /// Flags first, then the model's metadata, then (only when asked) the dataset's own statistics.
    static func normalization(_ request: OnnxImportRequest, metadata: [String: String]) throws -> (Normalization?, String) {
        if let given = request.normalization { return (given, "flags") }
        if let text = metadata[metadataNormalization] {
            guard let stored = try? JSONDecoder().decode(Normalization.self, from: Data(text.utf8)),
                  stored.mean.count == 3, stored.std.count == 3, stored.std.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw OnnxError.model("metadata \(metadataNormalization) is not {\"mean\": [3 values], \"std\": [3 positive values]}")
            }
            return (stored, "model metadata")
        }
        if request.datasetNormalization { return (nil, "computed from the dataset's training split") }
        throw OnnxError.model("the model does not say how its input is normalised. Give the per-channel statistics it was "
                              + "trained with (pixels scaled to [0, 1]), e.g. --mean 0.5071,0.4865,0.4409 --std 0.2673,0.2564,0.2762, "
                              + "or --normalization dataset for a model trained on Sibyl's own normalisation")
    }
}
