// A Planner.Trainable backed by the training engine: population-based training's trainable side
// (Jaderberg et al. 2017; Ray Tune's setup / step / save / restore), training hybrid ReLU/polynomial
// networks the way Delphi does (Mishra et al., USENIX Security 2020): newly polynomial slots start as a
// blend alpha * ReLU + (1 - alpha) * poly with alpha falling linearly from 1 to 0, coefficients
// initialised at 0.2 + 0.5x + 0.2x^2 and learned (per channel by default), SGD with gradient clipping.
// Fitness is measured on the validation split only, never on the test split.
import Foundation
import NetworkPlan
import Planner
import PlanStore
import Tensors
import Training

public final class EngineTrainable: Trainable {
    /// What the last `train` call did, for progress output and tests.
    public struct RoundStatistics: Sendable, Equatable {
        public var member: Int
        public var round: Int
        public var steps: Int
        public var firstLoss: Double
        public var meanLoss: Double
        public var validationAccuracy: Double
        public var validationLoss: Double
        public var diverged: Bool
        /// Slots still blending (alpha > 0) when the round ended.
        public var blendingSlots: [String]
        public var seconds: Double
    }

    public let network: Network
    /// The all-ReLU baseline, kept as the distillation teacher (nil when distillation is off).
    let teacher: Network?
    public let splits: DataSplits
    public let options: EngineOptions
    /// The baseline's training configuration (stored in member checkpoints so `sibyl test` can read them).
    public let baselineConfig: TrainingConfig
    /// The slots as the planner sees them.
    public let slotDescriptors: [SlotDescriptor]

    var optimizer = SGD(settings: SGDSettings())
    var member = -1
    var config: MemberConfig?
    var source: URL?
    /// Per slot that has polynomial channels: steps of blending done per channel since that channel
    /// became polynomial in this member (-1: the channel is ReLU).
    var blendSteps: [String: [Int]] = [:]
    /// Optimizer steps this member has taken since the baseline.
    var memberSteps = 0
    public private(set) var lastRound: RoundStatistics?

    /// Loads the baseline checkpoint (an all-ReLU `sibyl train` checkpoint) for training on `splits`.
    public init(baseline: URL, splits: DataSplits, options: EngineOptions = EngineOptions()) throws {
        precondition(options.batchSize > 0, "batch size must be positive")
        let (network, config) = try TrainingCheckpoint.loadNetwork(from: baseline)
        guard network.classCount == splits.train.classCount else {
            throw SearchError.datasetMismatch("the baseline \(baseline.path) classifies \(network.classCount) classes "
                                              + "but the dataset has \(splits.train.classCount)")
        }
        guard splits.train.count >= options.batchSize else {
            throw SearchError.invalidSetting("the batch size \(options.batchSize) exceeds the \(splits.train.count) training images")
        }
        self.network = network
        self.splits = splits.using(config)
        self.options = options
        self.baselineConfig = config
        slotDescriptors = network.slots.map {
            SlotDescriptor(name: $0.name, channels: $0.channels, elements: $0.elementsPerImage)
        }
        if options.distillationWeight > 0 {
            let (teacher, _) = try TrainingCheckpoint.loadNetwork(from: baseline)
            for slot in teacher.slots { slot.setReLU() }
            self.teacher = teacher
        } else {
            teacher = nil
        }
    }

    public var stepsPerEpoch: Int { max(1, splits.train.count / options.batchSize) }

    /// The blend schedule of the current member.
    public var blendSchedule: BlendSchedule {
        BlendSchedule(epochs: config?.hyperParameters.blendEpochs ?? 1, stepsPerEpoch: stepsPerEpoch)
    }

    // MARK: - Trainable

    public func restore(member: Int, config: MemberConfig, from checkpoint: URL) throws {
        guard config.placement.choices.count == network.slots.count else {
            throw SearchError.placementMismatch(slots: network.slots.count, choices: config.placement.choices.count)
        }
        let contents = try CheckpointIO.read(from: checkpoint)
        for slot in network.slots { slot.setReLU() }
        try TrainingCheckpoint.restore(network, from: contents, path: checkpoint.path)
        optimizer = SGD(settings: SGDSettings(momentum: Float(config.hyperParameters.momentum), nesterov: false,
                                              weightDecay: options.weightDecay))
        blendSteps = [:]
        memberSteps = 0
        if contents.integers[Self.formatKey] != nil {
            // A member checkpoint: momentum buffers and blending progress continue.
            for (key, stored) in contents.arrays where key.hasPrefix(Self.velocityPrefix) {
                optimizer.setVelocity(Tensor(shape: stored.shape, values: stored.values),
                                      for: String(key.dropFirst(Self.velocityPrefix.count)))
            }
            blendSteps = try Self.blendSteps(in: contents, network: network, path: checkpoint.path)
            memberSteps = Int(contents.integers[Self.stepsKey] ?? 0)
        }
        self.member = member
        self.config = config
        self.source = checkpoint
        try applyPlacement(config.placement)
        lastRound = nil
    }

    public func train(epochs: Double, round: Int) throws -> (validationAccuracy: Double, trainLoss: Double, diverged: Bool) {
        try train(epochs: epochs, round: round, learningRateAt: nil)
    }

    /// `train(epochs:round:)` with the learning rate of each step (counted from 0 within this call) given by
    /// `learningRateAt` instead of the member's constant rate (the final anneal uses it).
    public func train(epochs: Double, round: Int, learningRateAt: ((Int) -> Double)?) throws
        -> (validationAccuracy: Double, trainLoss: Double, diverged: Bool) {
        guard let config, let source else { throw SearchError.notRestored }
        let start = Date()
        let totalSteps = max(1, Int((epochs * Double(stepsPerEpoch)).rounded()))
        let hyper = config.hyperParameters
        let learningRate = Float(hyper.learningRate)
        let clipNorm = Float(hyper.clipNorm)
        let dataSeed = Self.dataSeed(options.seed, member: member, round: round)
        var done = 0, pass = 0
        var firstLoss = Double.nan, smoothed = Double.nan, lossSum = 0.0
        var diverged = false
        let chanceLoss = log(Double(max(2, network.classCount)))
        training: while done < totalSteps {
            pass += 1
            let loader = BatchLoader(images: splits.train, batchSize: options.batchSize, shuffle: true,
                                     augment: options.augment, normalization: splits.normalization, layout: .nchw,
                                     seed: dataSeed, epoch: pass, dropLast: true)
            while done < totalSteps, let batch = loader.next() {
                updateBlending()
                let rate = learningRateAt.map { Float($0(done)) } ?? learningRate
                let loss = Double(step(batch, learningRate: rate, clipNorm: clipNorm))
                done += 1
                memberSteps += 1
                let schedule = blendSchedule
                for name in blendSteps.keys {
                    blendSteps[name] = blendSteps[name]!.map { BlendProgress($0).advanced(schedule).encoded }
                }
                guard loss.isFinite else { diverged = true; break training }
                if firstLoss.isNaN { firstLoss = loss; smoothed = loss }
                smoothed = 0.9 * smoothed + 0.1 * loss
                lossSum += loss
                // Against the larger of the first loss and chance level (ln K): blending polynomials into
                // a well-trained network may legitimately push its loss towards chance for a while.
                if smoothed > options.divergenceFactor * max(firstLoss, chanceLoss) { diverged = true; break training }
            }
        }
        updateBlending()
        if diverged {
            // Put back the state the round started from, so the saved checkpoint is usable; the scheduler
            // re-seeds this member from a top member.
            try restore(member: member, config: config, from: source)
            lastRound = RoundStatistics(member: member, round: round, steps: done, firstLoss: firstLoss,
                                        meanLoss: .nan, validationAccuracy: .nan, validationLoss: .nan, diverged: true,
                                        blendingSlots: blendingSlots, seconds: Date().timeIntervalSince(start))
            return (.nan, .nan, true)
        }
        let validation = Evaluation.run(network, images: splits.validation, normalization: splits.normalization)
        let meanLoss = lossSum / Double(max(done, 1))
        // A few overflowing images count as wrong; a network that overflows on a tenth of them has diverged.
        let validationDiverged = !validation.loss.isFinite || validation.nonFinite * 10 > validation.images
        lastRound = RoundStatistics(member: member, round: round, steps: done, firstLoss: firstLoss, meanLoss: meanLoss,
                                    validationAccuracy: Double(validation.accuracy),
                                    validationLoss: Double(validation.loss), diverged: validationDiverged,
                                    blendingSlots: blendingSlots, seconds: Date().timeIntervalSince(start))
        return (Double(validation.accuracy), meanLoss, validationDiverged)
    }

    public func save(to checkpoint: URL) throws {
        guard config != nil else { throw SearchError.notRestored }
        try CheckpointIO.write(checkpointContents(), to: checkpoint)
    }

    // MARK: - Steps

    /// Forward, loss (cross-entropy, or distillation from the baseline), backward, clipping, SGD.
    func step(_ batch: Batch, learningRate: Float, clipNorm: Float) -> Float {
        let tape = Tape()
        let input = batch.tensor
        let logits = network.forward(tape.constant(input), tape: tape, training: true)
        let loss: Variable
        if let teacher {
            let teacherTape = Tape(recording: false)
            let teacherLogits = teacher.forward(teacherTape.constant(input), tape: teacherTape, training: false).value
            loss = tape.distillationLoss(logits, labels: batch.labels, teacherLogits: teacherLogits,
                                         weight: options.distillationWeight,
                                         temperature: options.distillationTemperature)
        } else {
            loss = tape.softmaxCrossEntropy(logits, labels: batch.labels)
        }
        // The label cross-entropy is what divergence and reports look at (the distillation term starts
        // at 0 when the student still equals the teacher).
        let value = teacher == nil ? loss.value[flat: 0] : Self.crossEntropy(logits.value, labels: batch.labels)
        guard value.isFinite else { return .nan }
        let norm = network.applyGradients(of: loss, tape: tape, optimizer: optimizer, learningRate: learningRate,
                                          clipValue: options.clipValue, clipNorm: clipNorm,
                                          normalizedCoefficients: options.normalizedCoefficients, skipNonFinite: true)
        guard norm.isFinite else { return .nan }
        return value
    }

    /// Mean softmax cross-entropy of logits [N, K] against labels (no tape).
    static func crossEntropy(_ logits: Tensor, labels: [Int32]) -> Float {
        var total: Double = 0
        for n in 0..<logits.shape[0] {
            guard let value = rowCrossEntropy(logits: logits, row: n, label: labels[n]) else { return .nan }
            total += value
        }
        return Float(total / Double(max(logits.shape[0], 1)))
    }

    /// Sets every polynomial channel's alpha from the schedule and its blending steps. A whole slot whose
    /// channels blend together is `.blended(alpha)` until its blend is over, then `.polynomial`; a slot
    /// split by channel, or whose channels blend at different paces, carries per-channel alphas.
    func updateBlending() {
        let schedule = blendSchedule
        for slot in network.slots {
            guard !slot.isReLU, let coefficients = slot.coefficients?.value, let steps = blendSteps[slot.name] else { continue }
            let progress = steps.map(BlendProgress.init)
            guard progress.contains(where: \.usesPolynomial) else {
                // Every channel has blended back: a ReLU slot again.
                slot.setReLU()
                blendSteps[slot.name] = nil
                continue
            }
            let mask = progress.map(\.usesPolynomial)
            let alphas = progress.map { $0.alpha(schedule) }
            let polynomialAlphas = zip(mask, alphas).filter(\.0).map(\.1)
            let common = polynomialAlphas.allSatisfy { $0 == polynomialAlphas.first } ? polynomialAlphas.first : nil
            slot.setPolynomialChannels(mask)
            if let common {
                slot.restore(mode: common > 0 ? .blended(alpha: common) : .polynomial, coefficients: coefficients)
                slot.setChannelAlphas(nil)
            } else {
                slot.restore(mode: .polynomial, coefficients: coefficients)
                slot.setChannelAlphas(alphas)
            }
        }
    }

    /// Slots with a channel still blending (alpha > 0).
    public var blendingSlots: [String] {
        network.slots.filter { slot in
            guard !slot.isReLU else { return false }
            // A channel on its way back to ReLU is blending even at alpha 0.
            if blendSteps[slot.name]?.contains(where: { BlendProgress($0).isReLUward }) ?? false { return true }
            if case .blended = slot.mode { return true }
            return slot.polynomialChannelIndices.contains { (slot.channelAlphas?[$0] ?? 0) > 0 }
        }.map(\.name)
    }

    static func dataSeed(_ seed: UInt64, member: Int, round: Int) -> UInt64 {
        var generator = SeededGenerator.derived(seed: seed, member: member, step: round)
        return generator.next()
    }
}
