// `sibyl import MODEL.onnx --out DIR`: a network trained elsewhere (PyTorch, Keras through tf2onnx) becomes
// a Sibyl checkpoint; the library does the work (OnnxInterop), this file reads flags and prints the result.
import ArgumentParser
import Foundation
import OnnxInterop
import Training

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Bring in a trained network from ONNX as a Sibyl checkpoint (DIR/model.h5).",
        discussion: """
            The graph must be one of Sibyl's architectures (ResNet-8/14/20/32/56, MiniONN) written with Conv, BatchNormalization, Relu, Add, pooling, Flatten and Gemm/MatMul; polynomial activations as Mul/Add chains. Anything else is refused with the node's name. Then use it like a `sibyl train` checkpoint:

              sibyl test --checkpoint DIR/model.h5
              sibyl plan --baseline DIR/model.h5 ...
              sibyl export --checkpoint DIR/model.h5 --out Plans/NAME
            """)

    @Argument(help: "The ONNX model file.") var model: String
    @Option(help: "Directory to write model.h5 and import.json into.") var out: String
    @Option(help: "Per-channel mean of the input normalisation, pixels scaled to [0, 1] (R,G,B), e.g. 0.5071,0.4865,0.4409. Default: the model's metadata.")
    var mean: ChannelValues?
    @Option(help: "Per-channel standard deviation of the input normalisation (R,G,B), e.g. 0.2673,0.2564,0.2762.")
    var std: ChannelValues?
    @Option(name: .customLong("normalization"), help: "'dataset': the model was trained on the normalisation Sibyl computes from the dataset's training split (as `sibyl train` does).")
    var normalizationSource: String?
    @Option(name: .customLong("class-names"), help: "Text file with one class name per line, in label order. Default: the model's metadata, else the dataset's.")
    var classNames: String?
    @Option(help: "Dataset the network classifies (cifar100, cifar10, synthetic).") var dataset: DatasetKind = .cifar100
    @Flag(help: "Replace DIR/model.h5 if it exists.") var force = false

    func validate() throws {
        guard (mean == nil) == (std == nil) else { throw ValidationError("give --mean and --std together") }
        if let std, !std.values.allSatisfy({ $0 > 0 }) { throw ValidationError("--std values must be above 0") }
        if let source = normalizationSource {
            guard source == "dataset" else { throw ValidationError("--normalization takes only 'dataset'") }
            guard mean == nil else { throw ValidationError("--normalization dataset and --mean/--std exclude each other") }
        }
    }

    func run() throws {
        var names: [String]?
        if let classNames {
            let text: String
            do { text = try String(contentsOfFile: classNames, encoding: .utf8) } catch {
                throw ValidationError("--class-names \(classNames) cannot be read (\(error.localizedDescription))")
            }
            names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let normalization = mean.flatMap { m in std.map { Normalization(mean: m.values, std: $0.values) } }
        let summary = try OnnxImport.run(OnnxImportRequest(
            model: URL(fileURLWithPath: model), outDirectory: URL(fileURLWithPath: out), normalization: normalization,
            datasetNormalization: normalizationSource == "dataset", classNames: names, dataset: dataset.rawValue, force: force))
        let checkpoint = (out as NSString).appendingPathComponent(summary.checkpoint)
        print("imported \(model) (\(summary.producer.isEmpty ? "unknown producer" : summary.producer), opset \(summary.opset)) as "
              + "\(summary.architecture), \(summary.classes) classes: \(summary.slots) activation slots (\(summary.reluSlots) ReLU, "
              + "\(summary.polynomialSlots) polynomial, \(summary.mixedSlots) split by channel), \(summary.relus) ReLUs per image")
        let check = summary.selfCheckRelativeDifference.map { String(format: "%.1e relative difference of the logits", $0) }
            ?? "not made (the network overflows float on the check inputs)"
        print("  input normalisation: \(summary.normalization); self-check against the graph: \(check)")
        print("  wrote \(checkpoint) and \((out as NSString).appendingPathComponent(OnnxImport.summaryName))")
        print("  next: sibyl test --checkpoint \(checkpoint)")
    }
}
