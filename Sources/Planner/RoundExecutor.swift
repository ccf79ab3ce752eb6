import Foundation

/// One member's training for one round: restore from `input`, train `epochs`, save to `output`.
/// Codable so a coordinator can hand it to a worker process through a file.
public struct MemberTask: Codable, Hashable, Sendable {
    public var member: Int
    public var round: Int
    public var config: MemberConfig
    /// Checkpoint to restore from (the baseline in round 1, else the member's previous round).
    public var input: String
    /// Checkpoint to write after training.
    public var output: String
    public var epochs: Double

    public init(member: Int, round: Int, config: MemberConfig, input: String, output: String, epochs: Double) {
        self.member = member
        self.round = round
        self.config = config
        self.input = input
        self.output = output
        self.epochs = epochs
    }
}

/// What a member's training round produced (validation accuracy NaN when it diverged).
public struct MemberOutcome: Codable, Hashable, Sendable {
    public var validationAccuracy: Double
    public var trainLoss: Double
    public var diverged: Bool

    public init(validationAccuracy: Double, trainLoss: Double, diverged: Bool) {
        self.validationAccuracy = validationAccuracy
        self.trainLoss = trainLoss
        self.diverged = diverged
    }

    /// Codable form: NaN and infinities are not JSON, so a diverged outcome stores accuracy 0, loss -1.
    enum CodingKeys: String, CodingKey { case validationAccuracy, trainLoss, diverged }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        diverged = try c.decode(Bool.self, forKey: .diverged)
        validationAccuracy = try c.decode(Double.self, forKey: .validationAccuracy)
        trainLoss = try c.decode(Double.self, forKey: .trainLoss)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        let bad = diverged || !validationAccuracy.isFinite || !trainLoss.isFinite
        try c.encode(bad, forKey: .diverged)
        try c.encode(bad ? 0 : validationAccuracy, forKey: .validationAccuracy)
        try c.encode(bad ? -1 : trainLoss, forKey: .trainLoss)
    }
}

/// Runs the members' rounds: in this process, or spread over worker processes. `report` must be called
/// once per task, in any order, as soon as its checkpoint is saved; the runner logs each report at once,
/// so a killed search loses only the rounds that had not reported.
public protocol RoundExecutor {
    func execute(_ tasks: [MemberTask], report: (MemberTask, MemberOutcome) throws -> Void) throws
}

/// Trains every task one after the other with one trainable, in this process.
public struct InProcessExecutor: RoundExecutor {
    public let trainable: Trainable

    public init(trainable: Trainable) { self.trainable = trainable }

    public func execute(_ tasks: [MemberTask], report: (MemberTask, MemberOutcome) throws -> Void) throws {
        for task in tasks {
            try report(task, try Self.perform(task, with: trainable))
        }
    }

    /// Restore, train, save: one task on one trainable (what a worker process does too).
    public static func perform(_ task: MemberTask, with trainable: Trainable) throws -> MemberOutcome {
        do {
            try trainable.restore(member: task.member, config: task.config, from: URL(fileURLWithPath: task.input))
            let outcome = try trainable.train(epochs: task.epochs, round: task.round)
            try trainable.save(to: URL(fileURLWithPath: task.output))
            return MemberOutcome(validationAccuracy: outcome.validationAccuracy, trainLoss: outcome.trainLoss,
                                 diverged: outcome.diverged)
        } catch let error as PlannerError {
            throw error
        } catch {
            throw PlannerError.trainableFailed(member: task.member, round: task.round, reason: "\(error)")
        }
    }
}
