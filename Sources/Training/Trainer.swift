// The training loop: epochs over the train split, validation after each epoch, metrics.jsonl,
// checkpoint.h5 after every epoch and best.h5 on the best validation accuracy. Deterministic given the
// seed: weights come from the seeded generator, data order from the loader's (seed, epoch) contract.
import Foundation
import PlanStore
import Tensors

public final class Trainer {
    public let config: TrainingConfig
    public let network: Network
    public let optimizer: SGD
    public let splits: DataSplits
    public let directory: URL
    public let schedule: LearningRateSchedule
    /// Completed epochs; training continues with epoch `epochsCompleted + 1`.
    public internal(set) var epochsCompleted = 0
    public internal(set) var globalStep = 0
    public internal(set) var bestValidationAccuracy: Float = -1
    public internal(set) var rng: RandomGenerator
    /// Called before each step with (epoch, step within epoch); lets a caller schedule blend alphas.
    public var beforeStep: ((Int, Int) -> Void)?
    /// Whether to print the progress line.
    public var showsProgress = true

    public var checkpointURL: URL { directory.appendingPathComponent("checkpoint.h5") }
    public var bestURL: URL { directory.appendingPathComponent("best.h5") }
    public var metricsURL: URL { directory.appendingPathComponent("metrics.jsonl") }

    public var stepsPerEpoch: Int { max(1, splits.train.count / config.batchSize) }

    /// A fresh run. Use `Trainer.prepare` for the --resume / overwrite rules.
    public init(config: TrainingConfig, splits: DataSplits, directory: URL) throws {
        guard splits.train.count >= config.batchSize else {
            throw TrainingError.mismatch("--batch-size \(config.batchSize) exceeds the \(splits.train.count) training images")
        }
        self.config = config
        self.splits = splits
        self.directory = directory
        Parallel.configure(threads: config.threads)
        var rng = RandomGenerator(seed: config.seed)
        network = makeNetwork(config.model, classes: splits.train.classCount, rng: &rng)
        self.rng = rng
        Trainer.initializeActivations(of: network, config.activation ?? .relu)
        optimizer = SGD(settings: config.sgd)
        schedule = LearningRateSchedule(kind: config.schedule, peak: config.learningRate,
                                        totalSteps: config.epochs * max(1, splits.train.count / config.batchSize),
                                        warmupFraction: config.warmupFraction)
        setRangePenalties()
    }

    /// Creates the run directory's trainer: refuses to overwrite an existing checkpoint without
    /// `resume`, and with `resume` restores everything from DIR/checkpoint.h5.
    public static func prepare(config: TrainingConfig, splits: DataSplits, directory: URL, resume: Bool) throws -> Trainer {
        let fm = FileManager.default
        let checkpoint = directory.appendingPathComponent("checkpoint.h5")
        if resume {
            guard fm.fileExists(atPath: checkpoint.path) else { throw TrainingError.nothingToResume(path: checkpoint.path) }
            let contents = try CheckpointIO.read(from: checkpoint)
            let stored = try TrainingCheckpoint.config(in: contents, path: checkpoint.path)
            let completed = try TrainingCheckpoint.completedEpochs(in: contents, path: checkpoint.path)
            if let reason = config.incompatibility(with: stored, completedEpochs: completed) {
                throw TrainingError.incompatibleCheckpoint(path: checkpoint.path, reason: reason)
            }
            // The stored run's settings win, except the length of the run and the thread count.
            var merged = stored
            merged.epochs = config.epochs
            merged.threads = config.threads
            let trainer = try Trainer(config: merged, splits: splits, directory: directory)
            try trainer.restore(contents, path: checkpoint.path)
            return trainer
        }
        if fm.fileExists(atPath: checkpoint.path) { throw TrainingError.runDirectoryInUse(directory: directory.path) }
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        return try Trainer(config: config, splits: splits, directory: directory)
    }

    /// Trains until `config.epochs` epochs are complete (or, with `stoppingAfter`, until that many
    /// epochs are; the schedule still spans `config.epochs`).
    public func run(stoppingAfter limit: Int? = nil) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try trimMetrics()
        while epochsCompleted < min(config.epochs, limit ?? Int.max) {
            let metrics = trainEpoch()
            // A diverged epoch is never checkpointed: the last good checkpoint stays resumable.
            guard metrics.train_loss.isFinite, network.namedParameters.allSatisfy({ $0.parameter.value.array.allSatisfy(\.isFinite) }) else {
                throw TrainingError.diverged(epoch: metrics.epoch, checkpoint: checkpointURL.path,
                                             keptEpoch: metrics.epoch - 1)
            }
            try appendMetrics(metrics)
            let contents = checkpointContents()
            try CheckpointIO.write(contents, to: checkpointURL)
            if metrics.validation_accuracy > bestValidationAccuracy || !FileManager.default.fileExists(atPath: bestURL.path) {
                bestValidationAccuracy = max(bestValidationAccuracy, metrics.validation_accuracy)
                try CheckpointIO.write(checkpointContents(), to: bestURL)
            }
        }
    }

    /// The range-penalty weight of every polynomial slot (not stored in checkpoints: it is part of the config).
    func setRangePenalties() {
        Trainer.setRangePenalties(of: network, config.activation ?? .relu, coefficientFractionalBits: config.coefficientFractionalBits)
    }

    /// An all-polynomial run's starting point: every slot a per-channel polynomial fitted to ReLU on
    /// [-range, range], its inputs clamped to that range. Nothing for `.relu`.
    public static func initializeActivations(of network: Network, _ activation: TrainingActivation) {
        guard case let .polynomial(degree, range, _) = activation else { return }
        let initial = ReLUFitMoments.uniformCoefficients(degree: degree, range: range)
        for slot in network.slots {
            slot.setPolynomial(coefficients: initial, perChannel: true)
            slot.setInputBounds([Float](repeating: range, count: slot.channels))
        }
    }

    /// The range penalty (and coefficient rounding) of every polynomial slot of an all-polynomial run.
    public static func setRangePenalties(of network: Network, _ activation: TrainingActivation, coefficientFractionalBits: Int?) {
        guard case let .polynomial(_, _, penalty) = activation else { return }
        for slot in network.slots where !slot.isReLU {
            slot.rangePenaltyWeight = penalty
            slot.coefficientFractionalBits = coefficientFractionalBits
        }
    }

    /// One epoch of training, then validation. Advances `epochsCompleted`.
    @discardableResult
    public func trainEpoch() -> EpochMetrics {
        let epoch = epochsCompleted + 1
        let loader = BatchLoader(images: splits.train, batchSize: config.batchSize, shuffle: true, augment: config.augment,
                                 cutout: config.cutout ?? 0,
                                 normalization: splits.normalization, layout: .nchw, seed: config.seed, epoch: epoch,
                                 dropLast: true)
        let progress = ProgressLine()
        let start = Date()
        var seen = 0, correct = 0, lossSum = 0.0, batches = 0
        let total = loader.batchCount
        var lr = schedule.learningRate(step: globalStep)
        while let batch = loader.next() {
            beforeStep?(epoch, batches)
            lr = schedule.learningRate(step: globalStep)
            let (loss, right) = trainStep(batch, learningRate: lr)
            lossSum += Double(loss)
            correct += right
            seen += batch.count
            batches += 1
            globalStep += 1
            if showsProgress {
                let elapsed = Date().timeIntervalSince(start)
                let rate = Double(seen) / max(elapsed, 1e-9)
                let remainingThisEpoch = Double(total - batches) * Double(config.batchSize) / rate
                let remainingEpochs = Double(config.epochs - epoch) * Double(total * config.batchSize) / rate
                progress.update(epoch: epoch, epochs: config.epochs, fraction: Double(batches) / Double(max(total, 1)),
                                imagesPerSecond: rate, loss: lossSum / Double(batches), accuracy: Double(correct) / Double(seen),
                                etaSeconds: remainingThisEpoch + remainingEpochs)
            }
        }
        let trainSeconds = Date().timeIntervalSince(start)
        let validation = Evaluation.run(network, images: splits.validation, normalization: splits.normalization)
        let seconds = Date().timeIntervalSince(start)
        epochsCompleted = epoch
        let metrics = EpochMetrics(epoch: epoch, lr: lr, train_loss: Float(lossSum / Double(max(batches, 1))),
                                   train_accuracy: Float(correct) / Float(max(seen, 1)),
                                   validation_accuracy: validation.accuracy, validation_loss: validation.loss,
                                   images_per_second: Float(Double(seen) / max(trainSeconds, 1e-9)), seconds: Float(seconds))
        if showsProgress {
            progress.finish(String(format: "epoch %d/%d | lr %.4f | loss %.4f | train acc %.4f | val acc %.4f | %.1f img/s | %.0fs",
                                   epoch, config.epochs, lr, metrics.train_loss, metrics.train_accuracy,
                                   metrics.validation_accuracy, metrics.images_per_second, seconds))
        }
        return metrics
    }

    /// Forward, loss, then `Network.applyGradients` (range penalties, backward, clipping, SGD). Returns
    /// (loss, correct predictions).
    public func trainStep(_ batch: Batch, learningRate: Float) -> (Float, Int) {
        let tape = Tape()
        let x = tape.constant(batch.tensor)
        let logits = network.forward(x, tape: tape, training: true)
        let loss = tape.softmaxCrossEntropy(logits, labels: batch.labels, labelSmoothing: config.labelSmoothing)
        let right = correctCount(logits: logits.value, labels: batch.labels)
        let lossValue = loss.value[flat: 0]
        network.applyGradients(of: loss, tape: tape, optimizer: optimizer, learningRate: learningRate,
                               clipValue: config.clipValue, clipNorm: config.clipNorm, normalizedCoefficients: true,
                               skipNonFinite: false)
        return (lossValue, right)
    }

    private func appendMetrics(_ m: EpochMetrics) throws {
        let line = m.jsonLine() + "\n"
        if let handle = try? FileHandle(forWritingTo: metricsURL) {
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(line.utf8))
        } else {
            try Data(line.utf8).write(to: metricsURL)
        }
    }

    /// Drops metrics lines of epochs the checkpoint does not contain (a run killed after writing them).
    private func trimMetrics() throws {
        guard let text = try? String(contentsOf: metricsURL, encoding: .utf8) else { return }
        let decoder = JSONDecoder()
        let kept = text.split(separator: "\n").filter { line in
            guard let m = try? decoder.decode(EpochMetrics.self, from: Data(line.utf8)) else { return false }
            return m.epoch <= epochsCompleted
        }
        try Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8).write(to: metricsURL, options: .atomic)
    }
}

/// Accuracy and mean loss of a network in evaluation mode.
public enum Evaluation {
    public struct Result: Sendable {
        public var accuracy: Float
        /// Mean cross-entropy over the images whose logits are finite.
        public var loss: Float
        public var images: Int
        /// Images whose logits overflowed (inf or NaN; counted as wrong, left out of the loss).
        public var nonFinite: Int = 0
    }

    public static func run(_ network: Network, images: ImageSet, normalization: Normalization, batchSize: Int = 256) -> Result {
        run(network, images: images, normalization: normalization, batchSize: batchSize, keepingLogits: false).result
    }

    /// Each image's logits (eval mode, float32 as the engine computes them), in image order.
    public static func logits(_ network: Network, images: ImageSet, normalization: Normalization, batchSize: Int = 256) -> [[Float]] {
        run(network, images: images, normalization: normalization, batchSize: batchSize, keepingLogits: true).logits
    }

    /// Accuracy and loss, and (when `keepingLogits`) each image's logits, from one pass over the images.
    public static func run(_ network: Network, images: ImageSet, normalization: Normalization, batchSize: Int = 256,
                           keepingLogits: Bool) -> (result: Result, logits: [[Float]]) {
        guard images.count > 0 else { return (Result(accuracy: 0, loss: 0, images: 0), []) }
        let loader = BatchLoader(images: images, batchSize: batchSize, shuffle: false, augment: false,
                                 normalization: normalization, layout: .nchw, seed: 0, epoch: 0, dropLast: false)
        var correct = 0, seen = 0, loss = 0.0, nonFinite = 0
        var rows: [[Float]] = []
        if keepingLogits { rows.reserveCapacity(images.count) }
        while let batch = loader.next() {
            let tape = Tape(recording: false)
            let x = tape.constant(batch.tensor)
            let logits = network.forward(x, tape: tape, training: false).value
            correct += correctCount(logits: logits, labels: batch.labels)
            for n in 0..<batch.count {
                guard let value = rowCrossEntropy(logits: logits, row: n, label: batch.labels[n]) else { nonFinite += 1; continue }
                loss += value
            }
            if keepingLogits {
                let values = logits.array
                let classes = values.count / max(1, batch.count)
                for i in 0..<batch.count { rows.append(Array(values[i * classes..<(i + 1) * classes])) }
            }
            seen += batch.count
        }
        let finite = seen - nonFinite
        return (Result(accuracy: Float(correct) / Float(seen), loss: finite > 0 ? Float(loss / Double(finite)) : .nan,
                       images: seen, nonFinite: nonFinite), rows)
    }
}
