// `sibyl test`: accuracy of a checkpoint (float) or of a plan (fixed point) on a dataset split.
import ArgumentParser
import Pipeline
import Foundation
import Tensors
import Training

struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Evaluate a training checkpoint (float) or an exported plan (fixed point, in the clear) on a split.")

    @Option(help: "Checkpoint file (checkpoint.h5, best.h5 or a baseline model.h5).") var checkpoint: String?
    @Option(help: "Plan directory (plan.json + weights.h5): measures its fixed-point accuracy.") var plan: String?
    @Option(help: "Images to evaluate (plans only; default: the whole split).") var images: Int?
    @Option(help: "Dataset (default: the checkpoint's or the plan's).") var dataset: DatasetKind?
    @Option(help: "Split.") var split: SplitChoice = .test
    @Flag(help: "Print {\"accuracy\", \"images\", \"overflowing_images\", \"split\", \"evaluated\"} as JSON (the same fields for plans and checkpoints).") var json = false
    @Option(name: .customLong("data-dir"), help: "Folder holding the datasets.") var dataDir: String = "Datasets"
    @Option(help: "Worker threads.") var threads: Int = 2
    @Option(help: ArgumentHelp("Plans: write each image's fixed-point logits to FILE (.npy, int64 [images, classes]).",
                               discussion: "The integers at the program's output scale (plan.json program.tensors[program.output].scale), "
                                 + "bit for bit what the secure protocol returns; Tests/python/sibyl_plan.py reproduces them."))
    var logits: String?
    @Option(name: .customLong("float-logits"),
            help: "Write each image's float logits to FILE (.npy, float64): for a plan its float weights in double precision, for a checkpoint the engine's float32 logits.")
    var floatLogits: String?

    func validate() throws {
        guard (checkpoint == nil) != (plan == nil) else {
            throw ValidationError("give exactly one of --checkpoint FILE and --plan DIR")
        }
        if (images != nil || logits != nil) && plan == nil {
            throw ValidationError("--images and --logits apply to --plan only")
        }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        if let plan {
            let (result, name, kind) = try PlanTestRequest(planDirectory: plan, split: split.rawValue, images: images,
                                                           dataDirectory: dataDir, dataset: dataset?.rawValue, threads: threads,
                                                           logitsFile: logits, floatLogitsFile: floatLogits).run()
            if json {
                try printJSON(accuracy: result.top1, images: result.images, overflowing: result.wrapped, evaluated: "plan_fixed_point")
            } else {
                print(String(format: "plan %@: fixed-point accuracy %.4f on %d %@ %@ images (%.1f s, %.1f CPU s, %.0f images/s; %d exact GEMM and %d ring-loop layer evaluations)",
                             name, result.top1, result.images, kind.rawValue, split.rawValue, result.seconds, result.cpuSeconds,
                             Double(result.images) / max(result.seconds, 1e-9), result.gemmTerms, result.ringTerms))
                print("  \(result.wrapped) image\(result.wrapped == 1 ? "" : "s") exceeded a bound of the program (a ReLU's value bits, "
                      + "a square's or polynomial's range): \(result.wrapped == 0 ? "none may differ from the float model" : "their results may differ from the float model's")")
                if let logits { print("  fixed-point logits (scale \(result.logitScale)) written to \(logits)") }
                if let floatLogits { print("  float logits written to \(floatLogits)") }
            }
            return
        }
        guard let checkpoint else { return }
        Parallel.configure(threads: threads)
        let url = URL(fileURLWithPath: checkpoint)
        let (network, config) = try TrainingCheckpoint.loadNetwork(from: url)
        let kind = dataset ?? DatasetKind(rawValue: config.dataset.lowercased())!
        let splits = try Datasets.load(kind, directory: URL(fileURLWithPath: dataDir), validationCount: config.validationCount)
            .using(config)
        let images = split == .test ? splits.test : splits.validation
        guard images.classCount == network.classCount else {
            throw TrainingError.mismatch("\(checkpoint) classifies \(network.classCount) classes but --dataset \(kind.rawValue) has \(images.classCount)")
        }
        let (result, rows) = Evaluation.run(network, images: images, normalization: splits.normalization,
                                            keepingLogits: floatLogits != nil)
        if let floatLogits { try NumpyFile.write(rows.map { $0.map(Double.init) }, to: URL(fileURLWithPath: floatLogits)) }
        if json {
            try printJSON(accuracy: Double(result.accuracy), images: result.images, overflowing: result.nonFinite, evaluated: "checkpoint_float")
        } else {
            print(String(format: "%@ %@ accuracy %.4f on %d images (loss %.4f)", kind.rawValue, split.rawValue, result.accuracy,
                         result.images, result.loss)
                  + (result.nonFinite > 0 ? "; \(result.nonFinite) images overflowed (counted wrong, not in the loss)" : ""))
            if let floatLogits { print("  float logits written to \(floatLogits)") }
        }
    }

    /// One JSON shape for both kinds: overflowing images are those past a bound of a plan's program, or
    /// with a non-finite float logit for a checkpoint.
    func printJSON(accuracy: Double, images: Int, overflowing: Int, evaluated: String) throws {
        struct Output: Encodable { var accuracy: Double; var images: Int; var overflowingImages: Int; var split: String; var evaluated: String }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(Output(accuracy: accuracy, images: images, overflowingImages: overflowing,
                                                         split: split.rawValue, evaluated: evaluated)), as: UTF8.self))
    }
}
