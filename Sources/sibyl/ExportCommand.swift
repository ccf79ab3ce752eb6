// `sibyl export`: a training checkpoint becomes a plan directory (plan.json + weights.h5): batch norm
// folded into the convolutions, ReLU value bits calibrated on validation images, float (engine) and
// fixed-point (fast evaluator) accuracy measured on the chosen split, provenance recorded.
import ArgumentParser
import Pipeline
import Foundation
import NetworkPlan
import OnnxInterop
import PlanStore
import SecureInference
import Tensors
import Training

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a training checkpoint as a fixed-point plan (plan.json + weights.h5).")

    @Option(help: "Training checkpoint (checkpoint.h5 or best.h5).") var checkpoint: String?
    @Option(help: "Instead of a plan: write the network of --checkpoint, or the float network of --plan, as this ONNX file (opset 13; input normalisation and class names in its metadata), for ONNX Runtime or `sibyl import`.")
    var onnx: String?
    @Option(help: "With --onnx: the plan directory whose float network (batch norms folded) is written.") var plan: String?
    @Option(help: "Instead of exporting: rewrite the plan in this directory in the current schema (adds the fixed-point program and the digest that binds plan.json to weights.h5), keeping its recorded accuracy; with the dataset at hand it re-measures that accuracy and records overflow counts. In place and atomic.")
    var upgrade: String?
    @Option(help: "JSON placement overriding slot choices: a Placement ({\"choices\": [...]}) or {\"slot\": choice}.")
    var placement: String?
    @Option(name: .customLong("fractional-bits"),
            help: "Fixed-point fractional bits f (Delphi: 8). 12 keeps top-1 agreement with the float model at 99.5% (ResNet-8 on CIFAR-100: 94.8% at 8, 98.9% at 10, 99.5% at 12).")
    var fractionalBits: Int = 12
    @Option(name: .customLong("calibration-images"), help: "Validation images used to size the ReLU value bits.")
    var calibrationImages: Int = 256
    @Option(name: .customLong("accuracy-split"), help: "Split the recorded accuracies are measured on: test or validation.")
    var accuracySplit: SplitChoice = .test
    @Option(name: .customLong("accuracy-images"), help: "Images the accuracies are measured on (default: the whole split).")
    var accuracyImages: Int?
    @Option(help: "Plan directory to write, e.g. Plans/resnet32-cifar100-relu.") var out: String = ""
    @Flag(help: "Replace an existing plan at --out (only a plan: a folder holding plan.json and weights.h5 and nothing else; anything else is refused). The new plan is written beside it and swapped in.") var force = false
    @Option(name: .customLong("data-dir"), help: "Folder holding the datasets.") var dataDir: String = "Datasets"
    @Option(help: "Worker threads.") var threads: Int = 2

    func validate() throws {
        guard (1...20).contains(fractionalBits) else { throw ValidationError("--fractional-bits must be in 1...20") }
        guard calibrationImages >= 1 else { throw ValidationError("--calibration-images must be at least 1") }
        if let n = accuracyImages, n < 1 { throw ValidationError("--accuracy-images must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        if onnx != nil {
            guard (checkpoint == nil) != (plan == nil), upgrade == nil, out.isEmpty else {
                throw ValidationError("--onnx FILE takes either --checkpoint FILE or --plan DIR, and no --out or --upgrade")
            }
            return
        }
        guard plan == nil else { throw ValidationError("--plan DIR is read only with --onnx FILE") }
        if upgrade != nil {
            guard checkpoint == nil, out.isEmpty else { throw ValidationError("--upgrade DIR takes no --checkpoint and no --out") }
            return
        }
        guard checkpoint != nil else { throw ValidationError("give --checkpoint FILE (or --upgrade DIR)") }
        guard !out.isEmpty, !URL(fileURLWithPath: out).lastPathComponent.isEmpty else {
            throw ValidationError("--out needs a directory name")
        }
    }

    func run() throws {
        if let onnx {
            let network: OnnxNetwork
            if let plan {
                network = try OnnxNetwork.plan(at: URL(fileURLWithPath: plan))
            } else {
                let (fromCheckpoint, note) = try OnnxNetwork.checkpoint(at: URL(fileURLWithPath: checkpoint!), dataDirectory: dataDir)
                if let note { print("note: " + note) }
                network = fromCheckpoint
            }
            try OnnxExport.write(network, to: URL(fileURLWithPath: onnx))
            let polynomial = network.activations.values.filter { !$0.isReLU }.count
            print("wrote \(onnx): \(network.graph.nodes.count - 1) layers, \(network.activations.count) activation slots "
                  + "(\(polynomial) with polynomial channels), opset \(OnnxExport.opset); input: the normalised [N, 3, 32, 32] batch")
            return
        }
        if let upgrade {
            let from = try PlanFiles.read(from: URL(fileURLWithPath: upgrade)).manifest.schemaVersion
            let (plan, measured) = try ExportPipeline.upgrade(directory: URL(fileURLWithPath: upgrade), dataDirectory: dataDir,
                                                              calibrationImages: calibrationImages, threads: threads)
            print(from == PlanManifest.currentSchemaVersion
                  ? "\(upgrade) is already schema \(from) and its digest checked out; rewritten"
                  : "upgraded \(upgrade) from schema \(from) to \(PlanManifest.currentSchemaVersion) (fixed-point program and digest added); weights and recorded accuracy unchanged")
            if let measured {
                print(String(format: "  fixed-point accuracy re-measured: %.4f on %d images (as recorded)", measured.top1, measured.images))
            } else {
                print("  not measured: the plan's dataset is not readable under --data-dir \(dataDir), so no overflow counts were recorded")
            }
            for record in plan.manifest.overflow ?? [] {
                print("  overflow: \(record.wrapped) of \(record.images) \(record.split) images (\(record.purpose)) exceeded a bound of the program")
            }
            return
        }
        let summary = try ExportPipeline.run(ExportRequest(
            checkpoint: checkpoint!, placement: placement, fractionalBits: fractionalBits, calibrationImages: calibrationImages,
            accuracySplit: accuracySplit.rawValue, accuracyImages: accuracyImages, out: out, force: force, dataDirectory: dataDir,
            threads: threads, commandLine: CommandLine.arguments))
        print("exported \(checkpoint!) -> \(out): \(summary.slots) slots (\(summary.signature)), \(summary.relus) ReLUs per image")
        print(String(format: "  accuracy on %d %@ images: float %.4f, fixed point (f=%d) %.4f, top-1 agreement %.4f; ReLU value bits %d...%d",
                     summary.measuredImages, accuracySplit.rawValue, summary.floatTop1, fractionalBits, summary.fixed.top1,
                     summary.agreement, summary.reluBits.lowerBound, summary.reluBits.upperBound))
        print("  overflow: \(summary.calibrationWrapped) of \(summary.calibrationImages) calibration and \(summary.fixed.wrapped) of "
              + "\(summary.measuredImages) \(accuracySplit.rawValue) images exceeded a bound of the program (a ReLU's value bits, a square's or polynomial's range)")
        print(String(format: "  seconds: load+fold %.2f, calibrate %.2f (%d images), float eval %.2f, fixed-point eval %.2f (%.0f images/s, %d ring fallbacks), write %.2f, total %.2f (process CPU %.2f)",
                     summary.loaded, summary.calibrated, summary.calibrationImages, summary.floatSeconds, summary.fixed.seconds,
                     Double(summary.fixed.images) / max(summary.fixed.seconds, 1e-9), summary.fixed.ringTerms, summary.written,
                     summary.total, Stopwatch.processCPU))
    }
}
