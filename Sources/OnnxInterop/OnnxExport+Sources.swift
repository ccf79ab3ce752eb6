// What `sibyl export --onnx` writes: a checkpoint's network (batch norms unfolded, exactly what `sibyl test
// --checkpoint` evaluates) or a plan's float reference network (batch norms folded, as plan.json's graph).
import Foundation
import NetworkPlan
import PlanStore
import Training

extension OnnxNetwork {
    /// A checkpoint's network. Its normalisation and class names: those it was imported with, else the
    /// dataset's (read from `dataDirectory` when it is there; without it the metadata leaves them out).
    public static func checkpoint(at url: URL, dataDirectory: String) throws -> (OnnxNetwork, note: String?) {
        let (network, config) = try TrainingCheckpoint.loadNetwork(from: url)
        let exported = try NetworkExport.export(network)
        var normalization = config.normalization, classNames = config.classNames
        var note: String?
        if normalization == nil || classNames == nil {
            if let kind = DatasetKind(rawValue: config.dataset),
               let splits = try? Datasets.load(kind, directory: URL(fileURLWithPath: dataDirectory), validationCount: config.validationCount) {
                normalization = normalization ?? splits.normalization
                classNames = classNames ?? splits.classNames
            } else {
                note = "the dataset \(config.dataset) is not under \(dataDirectory): the model's metadata carries no input "
                    + "normalisation, so `sibyl import` of it will need --mean/--std or --normalization dataset"
            }
        }
        return (OnnxNetwork(graph: exported.graph, weights: exported.weights, activations: exported.activations,
                            coefficients: exported.coefficients, normalization: normalization, classNames: classNames,
                            architecture: network.kind.rawValue), note)
    }

    /// A plan's float network (the /float weights the fixed-point program was made from).
    public static func plan(at directory: URL) throws -> OnnxNetwork {
        let plan = try PlanFiles.read(from: directory)
        let manifest = plan.manifest
        return OnnxNetwork(graph: manifest.graph, weights: plan.weights, activations: manifest.activations,
                           coefficients: plan.coefficients,
                           normalization: Normalization(mean: manifest.input.mean, std: manifest.input.std),
                           classNames: manifest.classNames, architecture: nil)
    }
}
