// The trainer end to end on small generated data: learning, checkpoints, resume equivalence, and
// the refusal rules for run directories.
import XCTest
import PlanStore
import Tensors
import Training

final class TrainerTests: XCTestCase {
    /// Learnable images: the class sets one channel's brightness.
    static func splits(seed: UInt64, train: Int = 192, classes: Int = 3) -> DataSplits {
        var rng = RandomGenerator(seed: seed)
        func set(_ n: Int) -> ImageSet {
            var pixels = [UInt8](repeating: 0, count: n * 3072), labels: [Int32] = []
            for i in 0..<n {
                let label = Int(rng.next() % UInt64(classes))
                labels.append(Int32(label))
                for j in 0..<3072 {
                    let channel = j / 1024
                    let base = channel == label ? 170 : 60
                    pixels[i * 3072 + j] = UInt8(base + Int(rng.next() % 60))
                }
            }
            return ImageSet(count: n, pixels: pixels, labels: labels, classCount: classes)
        }
        return DataSplits(train: set(train), validation: set(64), test: set(64), classNames: (0..<classes).map { "c\($0)" },
                          normalization: Normalization(mean: [0.45, 0.45, 0.45], std: [0.25, 0.25, 0.25]))
    }

    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sibyl-trainer-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func config(epochs: Int) -> TrainingConfig {
        TrainingConfig(model: .tiny, dataset: "synthetic", epochs: epochs, batchSize: 32, learningRate: 0.1,
                       schedule: .cosine, sgd: SGDSettings(momentum: 0.9, nesterov: true, weightDecay: 5e-4),
                       labelSmoothing: 0.1, clipNorm: 5, seed: 7, threads: 2, augment: true, validationCount: 64)
    }

    func testTrainsWritesMetricsAndCheckpoints() throws {
        let splits = Self.splits(seed: 11)
        let trainer = try Trainer.prepare(config: config(epochs: 3), splits: splits, directory: directory, resume: false)
        trainer.showsProgress = false
        try trainer.run()
        let lines = try String(contentsOf: trainer.metricsURL, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        let last = try JSONDecoder().decode(EpochMetrics.self, from: Data(lines[2].utf8))
        XCTAssertEqual(last.epoch, 3)
        XCTAssertGreaterThan(last.validation_accuracy, 0.9, "learnable data must be learned")
        XCTAssertTrue(FileManager.default.fileExists(atPath: trainer.bestURL.path))
        let (network, stored) = try TrainingCheckpoint.loadNetwork(from: trainer.checkpointURL)
        XCTAssertEqual(stored, trainer.config)
        let reloaded = Evaluation.run(network, images: splits.validation, normalization: splits.normalization)
        XCTAssertEqual(reloaded.accuracy, last.validation_accuracy, accuracy: 1e-6)
    }

    func testResumeContinuesExactlyAsAnUninterruptedRun() throws {
        let splits = Self.splits(seed: 12)
        let straight = try Trainer.prepare(config: config(epochs: 2), splits: splits,
                                           directory: directory.appendingPathComponent("a"), resume: false)
        straight.showsProgress = false
        try straight.run()

        let interrupted = try Trainer.prepare(config: config(epochs: 2), splits: splits,
                                              directory: directory.appendingPathComponent("b"), resume: false)
        interrupted.showsProgress = false
        try interrupted.run(stoppingAfter: 1)
        let resumed = try Trainer.prepare(config: config(epochs: 2), splits: splits,
                                          directory: directory.appendingPathComponent("b"), resume: true)
        resumed.showsProgress = false
        XCTAssertEqual(resumed.epochsCompleted, 1)
        try resumed.run()
        XCTAssertEqual(resumed.epochsCompleted, 2)
        XCTAssertEqual(try String(contentsOf: resumed.metricsURL, encoding: .utf8).split(separator: "\n").count, 2)
        let a = try CheckpointIO.read(from: straight.checkpointURL)
        let b = try CheckpointIO.read(from: resumed.checkpointURL)
        XCTAssertFalse(a.arrays.isEmpty)
        for (name, array) in a.arrays where name.hasPrefix("weights/") || name.hasPrefix("buffers/") || name.hasPrefix("optimizer/") {
            XCTAssertEqual(b.arrays[name], array, "\(name) differs after resume")
        }
        XCTAssertEqual(a.integers["global_step"], b.integers["global_step"])
    }

    func testRefusesToOverwriteAndRejectsIncompatibleResume() throws {
        let splits = Self.splits(seed: 13, train: 64)
        let trainer = try Trainer.prepare(config: config(epochs: 1), splits: splits, directory: directory, resume: false)
        trainer.showsProgress = false
        try trainer.run()
        let before = try Data(contentsOf: trainer.checkpointURL)
        XCTAssertThrowsError(try Trainer.prepare(config: config(epochs: 1), splits: splits, directory: directory, resume: false)) {
            XCTAssertTrue("\($0)".contains("--resume"), "\($0)")
        }
        var other = config(epochs: 2)
        other.model = .resnet8
        XCTAssertThrowsError(try Trainer.prepare(config: other, splits: splits, directory: directory, resume: true)) {
            XCTAssertTrue("\($0)".contains("--model"), "\($0)")
        }
        XCTAssertEqual(try Data(contentsOf: trainer.checkpointURL), before, "nothing overwritten")
        XCTAssertThrowsError(try Trainer.prepare(config: config(epochs: 1), splits: splits,
                                                 directory: directory.appendingPathComponent("empty"), resume: true)) {
            XCTAssertTrue("\($0)".contains("no checkpoint"), "\($0)")
        }
    }

    /// `--activation poly:D`: every slot starts as the uniform ReLU fit over [-R, R] (one set per channel),
    /// with its input range R; the network learns, the run resumes exactly (slot modes, coefficients,
    /// ranges and their optimizer state are in the checkpoint), and a resume with another activation is
    /// refused.
    func testAllPolynomialRunLearnsAndResumesExactly() throws {
        let splits = Self.splits(seed: 14)
        var polynomial = config(epochs: 2)
        polynomial.activation = .polynomial(degree: 3, range: 4, penalty: 0.5)
        let straight = try Trainer.prepare(config: polynomial, splits: splits, directory: directory.appendingPathComponent("a"),
                                           resume: false)
        straight.showsProgress = false
        let initial = ReLUFitMoments.uniformCoefficients(degree: 3, range: 4)
        for slot in straight.network.slots {
            XCTAssertEqual(slot.mode, .polynomial)
            XCTAssertEqual(slot.coefficients?.shape, [slot.channels, 4])
            XCTAssertEqual(Array(slot.coefficients!.value.array.prefix(4)), initial)
            XCTAssertEqual(slot.inputBounds?.array, [Float](repeating: 4, count: slot.channels))
            XCTAssertEqual(slot.rangePenaltyWeight, 0.5)
        }
        try straight.run()
        XCTAssertGreaterThan(straight.bestValidationAccuracy, 0.6, "seed 14: the all-polynomial tiny network learns")
        XCTAssertNotEqual(Array(straight.network.slots[0].coefficients!.value.array.prefix(4)), initial, "coefficients are trained")

        let interrupted = try Trainer.prepare(config: polynomial, splits: splits, directory: directory.appendingPathComponent("b"),
                                              resume: false)
        interrupted.showsProgress = false
        try interrupted.run(stoppingAfter: 1)
        let resumed = try Trainer.prepare(config: polynomial, splits: splits, directory: directory.appendingPathComponent("b"),
                                          resume: true)
        resumed.showsProgress = false
        XCTAssertEqual(resumed.network.slots[0].rangePenaltyWeight, 0.5)
        try resumed.run()
        let a = try CheckpointIO.read(from: straight.checkpointURL), b = try CheckpointIO.read(from: resumed.checkpointURL)
        for (name, array) in a.arrays where name.hasPrefix("weights/") || name.hasPrefix("slot_bounds/") || name.hasPrefix("optimizer/") {
            XCTAssertEqual(b.arrays[name], array, "\(name) differs after resume")
        }
        XCTAssertThrowsError(try Trainer.prepare(config: config(epochs: 3), splits: splits,
                                                 directory: directory.appendingPathComponent("b"), resume: true)) {
            XCTAssertTrue("\($0)".contains("--activation"), "\($0)")
        }
    }

    /// `--coefficient-bits`: the network computes with coefficients on the grid, export writes them, and
    /// a checkpoint keeps the grid.
    func testCoefficientsStayOnTheirGrid() throws {
        var polynomial = config(epochs: 1)
        polynomial.activation = .polynomial(degree: 4, range: 4, penalty: 0.5)
        polynomial.coefficientFractionalBits = 6
        let trainer = try Trainer.prepare(config: polynomial, splits: Self.splits(seed: 15, train: 64), directory: directory,
                                          resume: false)
        trainer.showsProgress = false
        try trainer.run()
        for (slot, rows) in NetworkExport.coefficients(of: trainer.network) {
            for value in rows.joined() { XCTAssertEqual(value * 64, (value * 64).rounded(), "\(slot): \(value) off the 2^-6 grid") }
        }
        let (restored, config) = try TrainingCheckpoint.loadNetwork(from: trainer.checkpointURL)
        XCTAssertEqual(config.coefficientFractionalBits, 6)
        XCTAssertEqual(restored.slots[0].coefficientFractionalBits, 6)
        XCTAssertEqual(restored.slots[0].effectiveCoefficients, trainer.network.slots[0].effectiveCoefficients)
    }

    /// The uniform fit has the closed form 3R/32 + x/2 + 15x^2/(32R) at degree 2 (Legendre expansion).
    func testUniformFitClosedForm() {
        for range: Float in [1, 5] {
            let c = ReLUFitMoments.uniformCoefficients(degree: 2, range: range)
            XCTAssertEqual(c[0], 3 * range / 32, accuracy: 1e-5 * range)
            XCTAssertEqual(c[1], 0.5, accuracy: 1e-6)
            XCTAssertEqual(c[2], 15 / (32 * range), accuracy: 1e-6)
        }
    }
}
