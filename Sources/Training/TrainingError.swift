// Errors of the training side (models, trainer, checkpoints) that a user can read and act on.
import Foundation

public enum TrainingError: Error, CustomStringConvertible, LocalizedError, Equatable, Sendable {
    /// A named option has a value outside the allowed set.
    case invalidOption(flag: String, value: String, allowed: [String])
    /// The run directory already holds a checkpoint and --resume was not given.
    case runDirectoryInUse(directory: String)
    /// --resume was given but there is no checkpoint to resume from.
    case nothingToResume(path: String)
    /// The checkpoint was written by an incompatible configuration.
    case incompatibleCheckpoint(path: String, reason: String)
    /// A checkpoint lacks an entry or has one of the wrong shape.
    case malformedCheckpoint(path: String, reason: String)
    /// Dataset and model disagree (e.g. class counts).
    case mismatch(String)
    /// The training loss became NaN or infinite; nothing of that epoch was saved.
    case diverged(epoch: Int, checkpoint: String, keptEpoch: Int)

    public var description: String {
        switch self {
        case let .invalidOption(flag, value, allowed):
            return "invalid value '\(value)' for \(flag); allowed: \(allowed.joined(separator: ", "))"
        case let .runDirectoryInUse(directory):
            return "\(directory) already holds a training run (checkpoint.h5); pass --resume to continue it or choose another --out"
        case let .nothingToResume(path):
            return "--resume: no checkpoint at \(path); start without --resume"
        case let .incompatibleCheckpoint(path, reason):
            return "cannot resume from \(path): \(reason); choose another --out to start a new run"
        case let .malformedCheckpoint(path, reason):
            return "checkpoint \(path) is not a usable Sibyl training checkpoint: \(reason)"
        case let .mismatch(message):
            return message
        case let .diverged(epoch, checkpoint, kept):
            let where_ = kept > 0 ? "\(checkpoint) still holds epoch \(kept) and resumes from there" : "no checkpoint was written"
            return "training diverged in epoch \(epoch) (the loss or a weight is not finite); nothing of that epoch was saved (\(where_)). "
                + "Lower --lr or add --clip-norm, in a new --out"
        }
    }

    public var errorDescription: String? { description }
}
