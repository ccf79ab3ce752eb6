// `sibyl bench train`: training and inference throughput of a model on random data.
import ArgumentParser
import Foundation
import Tensors
import Training

struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Measure training (forward+loss+backward+SGD) and inference throughput on random data.")

    @Option(help: "Model.") var model: ModelKind = .resnet32
    @Option(name: .customLong("batch-size"), help: "Training batch size.") var batchSize: Int = 128
    @Option(name: .customLong("inference-batch-size"), help: "Inference batch size.") var inferenceBatchSize: Int = 256
    @Option(help: "Worker threads.") var threads: Int = 2
    @Option(help: "Steps per timed round.") var steps: Int = 5
    @Option(help: "Timed rounds (the best is reported).") var rounds: Int = 3
    @Option(help: "Number of classes of the classifier.") var classes: Int = 100
    @Option(help: KernelChoice.help) var kernels: KernelChoice = .auto
    @Option(help: "Activation of every slot: relu, or poly:D (all-polynomial as `sibyl train --activation poly:D`: inputs clamped to [-5, 5], range penalty 0.5).",
            transform: ActivationFlag.parse)
    var activation: ActivationFlag = ActivationFlag(degree: nil)
    @Option(name: .customLong("coefficient-bits"), help: "With poly:D: straight-through rounding of the coefficients to multiples of 2^-B.")
    var coefficientBits: Int?
    @Flag(help: "Print the result as one JSON object.") var json = false

    func validate() throws {
        if batchSize < 1 || inferenceBatchSize < 1 || threads < 1 || steps < 1 || rounds < 1 || classes < 2 {
            throw ValidationError("--batch-size, --inference-batch-size, --threads, --steps, --rounds must be at least 1 and --classes at least 2")
        }
        if coefficientBits != nil && activation.degree == nil { throw ValidationError("--coefficient-bits applies to --activation poly:D only") }
    }

    func run() throws {
        BLASInfo.reportEnvironment()
        kernels.apply()
        let r = ThroughputBenchmark.run(model: model, classes: classes, batchSize: batchSize,
                                        inferenceBatchSize: inferenceBatchSize, threads: threads, steps: steps, rounds: rounds,
                                        activation: activation.degree.map {
                                            .polynomial(degree: $0, range: TrainingActivation.defaultRange,
                                                        penalty: TrainingActivation.defaultPenalty) } ?? .relu,
                                        coefficientFractionalBits: coefficientBits)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(r), as: UTF8.self))
        } else {
            print(String(format: "%@ (%@) batch %d, %d threads: training %.1f img/s (%.1f GFLOP/s), inference (batch %d) %.1f img/s; peak RSS %.0f MB; convolutions: %@, OpenBLAS %@",
                         r.model, r.activation ?? "relu", r.batch_size, r.threads, r.images_per_second, r.train_gflops, r.inference_batch_size,
                         r.inference_images_per_second, r.peak_resident_megabytes, r.conv_kernels ?? "?", r.blas_core ?? "?"))
        }
    }
}
