// The last phase of `sibyl plan --anneal-epochs N`. Population-based training keeps each member's learning
// rate constant within a round (Jaderberg et al. 2017), so the chosen member stops at a constant-rate point,
// while every baseline schedule ends by taking the rate to zero. Annealing the chosen member for a few epochs
// (cosine from its own rate to zero, Loshchilov & Hutter, ICLR 2017) with the search's loss (distillation,
// range penalty, clipping) is that ending. Selection is over by then: the chosen member is fixed from
// validation accuracy before annealing, and the annealed network replaces DIR/best.h5.
//
// Each epoch ends with DIR/anneal.ckpt and a line in DIR/anneal.jsonl, so a killed anneal continues from its
// last finished epoch, like the search itself.
import Foundation
import Planner

public enum Anneal {
    /// One finished epoch of the anneal.
    public struct Record: Codable, Hashable, Sendable {
        /// The chosen member and the round of its checkpoint.
        public var member: Int
        public var round: Int
        /// Epochs done (1-based) of `epochs`.
        public var epoch: Int
        public var epochs: Int
        /// The member's learning rate, where the cosine starts.
        public var initialLearningRate: Double
        public var validationAccuracy: Double
        public var trainLoss: Double
        /// Validation accuracy of the chosen member before annealing.
        public var searchedValidationAccuracy: Double
    }

    public static let logName = "anneal.jsonl"
    public static let checkpointName = "anneal.ckpt"

    /// Learning rate at `step` of `total` steps: cosine from `initial` to 0.
    public static func learningRate(initial: Double, step: Int, total: Int) -> Double {
        initial * 0.5 * (1 + cos(Double.pi * Double(min(step, total)) / Double(max(total, 1))))
    }

    /// Anneals `chosen` (whose checkpoint is `searched`) for `epochs` epochs, continuing a previous anneal of
    /// the same member in `directory`. Returns the last record, or nil when training diverged (best.h5 then
    /// stays the searched network). Writes the annealed network to `destination`.
    public static func run(directory: URL, chosen: ParetoPoint, searched: URL, epochs: Int, firstRound: Int,
                           trainable: EngineTrainable, destination: URL,
                           log: (String) -> Void = { _ in }) throws -> Record? {
        precondition(epochs >= 1, "anneal at least one epoch")
        let logURL = directory.appendingPathComponent(logName)
        let checkpoint = directory.appendingPathComponent(checkpointName)
        var records = try readRecords(logURL).filter {
            $0.member == chosen.member && $0.round == chosen.round && $0.epochs == epochs
        }
        if records.isEmpty || !FileManager.default.fileExists(atPath: checkpoint.path) {
            // A fresh anneal (or one of another member or length): start over from the searched checkpoint.
            records = []
            try? FileManager.default.removeItem(at: logURL)
        }
        if let last = records.last, last.epoch >= epochs {
            try replace(destination, with: checkpoint)
            return last
        }
        try trainable.restore(member: chosen.member, config: chosen.config,
                              from: records.isEmpty ? searched : checkpoint)
        let initial = chosen.config.hyperParameters.learningRate
        let stepsPerEpoch = trainable.stepsPerEpoch
        let total = epochs * stepsPerEpoch
        let writer = try SearchLogWriter(url: logURL)
        for epoch in (records.count + 1)...epochs {
            let offset = (epoch - 1) * stepsPerEpoch
            let result = try trainable.train(epochs: 1, round: firstRound + epoch - 1) { step in
                learningRate(initial: initial, step: offset + step, total: total)
            }
            if result.diverged {
                log("anneal epoch \(epoch)/\(epochs) diverged; best.h5 stays the searched member")
                return nil
            }
            try trainable.save(to: checkpoint)
            let record = Record(member: chosen.member, round: chosen.round, epoch: epoch, epochs: epochs,
                                initialLearningRate: initial, validationAccuracy: result.validationAccuracy,
                                trainLoss: result.trainLoss, searchedValidationAccuracy: chosen.validationAccuracy)
            try writer.appendLine(record)
            records.append(record)
            log(String(format: "anneal epoch %d/%d: val acc %.4f (searched %.4f), learning rate %.3g -> %.3g", epoch,
                       epochs, result.validationAccuracy, chosen.validationAccuracy,
                       learningRate(initial: initial, step: offset, total: total),
                       learningRate(initial: initial, step: offset + stepsPerEpoch, total: total)))
        }
        try replace(destination, with: checkpoint)
        return records.last
    }

    /// The records of an anneal log (a torn last line is ignored).
    public static func readRecords(_ url: URL) throws -> [Record] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Record.self, from: Data($0.utf8)) }
    }

    static func replace(_ destination: URL, with source: URL) throws {
        let data = try Data(contentsOf: source)
        try data.write(to: destination, options: .atomic)
    }
}
