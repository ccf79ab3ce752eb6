// Training and inference throughput on random data (what `sibyl bench train` reports): a training
// step is forward + softmax cross-entropy + backward + SGD update (momentum 0.9, weight decay 5e-4),
// timed after warmup steps; inference is an evaluation-mode forward at its own batch size. Rounds are
// repeated and the best is kept, since other work shares the cores.
import Foundation
import Tensors

public struct ThroughputResult: Codable, Sendable {
    public var model: String
    public var batch_size: Int
    public var inference_batch_size: Int
    public var threads: Int
    public var images_per_second: Double
    public var inference_images_per_second: Double
    /// Model arithmetic rate: 3 x forward multiply-adds x 2 FLOP per image for training.
    public var train_gflops: Double
    public var inference_gflops: Double
    public var forward_multiply_adds_per_image: Int
    public var peak_resident_megabytes: Double
    public var rounds: [Double]
    /// Process CPU seconds per training step (all threads), best round: less sensitive to other load.
    public var cpu_seconds_per_train_step: Double
    /// The OpenBLAS kernels that ran (`BLASInfo.coreName`).
    public var blas_core: String?
    /// The kernels OpenBLAS chose when it loaded, where Sibyl replaced them (`BLASInfo.coreAtLoad`).
    public var blas_core_at_load: String?
    /// The kernels 3x3 "same" convolutions ran on (`NativeKernels.convolutionName`).
    public var conv_kernels: String?
    /// "relu" or the all-polynomial activation (`TrainingActivation.description`).
    public var activation: String?
}

public enum ThroughputBenchmark {
    public static func run(model: ModelKind, classes: Int = 100, batchSize: Int = 128, inferenceBatchSize: Int = 256,
                           threads: Int = 2, steps: Int = 5, rounds: Int = 3, seed: UInt64 = 1,
                           activation: TrainingActivation = .relu, coefficientFractionalBits: Int? = nil) -> ThroughputResult {
        Parallel.configure(threads: threads)
        var rng = RandomGenerator(seed: seed)
        let network = makeNetwork(model, classes: classes, rng: &rng)
        Trainer.initializeActivations(of: network, activation)
        Trainer.setRangePenalties(of: network, activation, coefficientFractionalBits: coefficientFractionalBits)
        let optimizer = SGD(settings: SGDSettings(momentum: 0.9, nesterov: false, weightDecay: 5e-4))
        let images = Tensor(shape: [batchSize, 3, 32, 32], values: (0..<(batchSize * 3072)).map { _ in rng.normal() })
        let labels = (0..<batchSize).map { _ in Int32(rng.next() % UInt64(classes)) }
        var macs = 0
        func step() {
            let tape = Tape()
            let logits = network.forward(tape.constant(images), tape: tape, training: true)
            let loss = tape.softmaxCrossEntropy(logits, labels: labels)
            macs = tape.multiplyAdds
            tape.backward(from: loss)
            optimizer.step(network.namedParameters, learningRate: 0.01)
        }
        for _ in 0..<2 { step() }
        var rates: [Double] = []
        var cpu = Double.infinity
        for _ in 0..<rounds {
            let t = Date(), c = processCPUSeconds()
            for _ in 0..<steps { step() }
            rates.append(Double(steps * batchSize) / Date().timeIntervalSince(t))
            cpu = min(cpu, (processCPUSeconds() - c) / Double(steps))
        }
        let macsPerImage = macs / batchSize
        let inferenceImages = Tensor(shape: [inferenceBatchSize, 3, 32, 32],
                                     values: (0..<(inferenceBatchSize * 3072)).map { _ in rng.normal() })
        func infer() {
            let tape = Tape(recording: false)
            _ = network.forward(tape.constant(inferenceImages), tape: tape, training: false)
        }
        infer()
        var inferenceRates: [Double] = []
        for _ in 0..<rounds {
            let t = Date()
            for _ in 0..<max(1, steps / 2) { infer() }
            inferenceRates.append(Double(max(1, steps / 2) * inferenceBatchSize) / Date().timeIntervalSince(t))
        }
        let train = rates.max() ?? 0, inference = inferenceRates.max() ?? 0
        return ThroughputResult(model: model.rawValue, batch_size: batchSize, inference_batch_size: inferenceBatchSize,
                                threads: threads, images_per_second: (train * 10).rounded() / 10,
                                inference_images_per_second: (inference * 10).rounded() / 10,
                                train_gflops: (train * Double(macsPerImage) * 6 / 1e9 * 10).rounded() / 10,
                                inference_gflops: (inference * Double(macsPerImage) * 2 / 1e9 * 10).rounded() / 10,
                                forward_multiply_adds_per_image: macsPerImage,
                                peak_resident_megabytes: peakResidentMegabytes(), rounds: rates.map { ($0 * 10).rounded() / 10 },
                                cpu_seconds_per_train_step: (cpu * 1000).rounded() / 1000, blas_core: BLASInfo.coreName,
                                blas_core_at_load: BLASInfo.coreAtLoad,
                                conv_kernels: NativeKernels.convolutionName, activation: activation.description)
    }

    static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// VmHWM from /proc/self/status (0 where unavailable).
    public static func peakResidentMegabytes() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return (kb / 1024).rounded()
        }
        return 0
    }
}
