// Errors of the search glue (engine-backed trainable, plan runs, cost-model calibration).
import Foundation

public enum SearchError: Error, CustomStringConvertible, LocalizedError, Equatable, Sendable {
    /// The placement does not fit the network (wrong number of slots).
    case placementMismatch(slots: Int, choices: Int)
    /// A placement choice the training engine cannot train (per-channel mixing within a slot).
    case unsupportedChoice(slot: String, choice: String)
    /// `train` or `save` before `restore`.
    case notRestored
    /// The baseline does not fit the dataset.
    case datasetMismatch(String)
    /// An input file a command needs is missing or unreadable.
    case unreadableInput(path: String, reason: String)
    /// A flag value a user must change.
    case invalidSetting(String)
    /// A worker process failed.
    case workerFailed(worker: Int, status: Int32, log: String)
    /// An executor could not finish a round (members failed, the Ray driver ended).
    case executorFailed(String)

    public var description: String {
        switch self {
        case let .placementMismatch(slots, choices):
            return "the placement has \(choices) choices but the network has \(slots) activation slots"
        case let .unsupportedChoice(slot, choice):
            return "slot \(slot): the training engine cannot train '\(choice)' (per-channel mixing is not supported yet); "
                + "search whole slots"
        case .notRestored:
            return "the trainable has no member loaded; call restore first"
        case let .datasetMismatch(message):
            return message
        case let .unreadableInput(path, reason):
            return "cannot read \(path): \(reason)"
        case let .invalidSetting(message):
            return message
        case let .workerFailed(worker, status, log):
            return "worker \(worker) exited with status \(status); its log is \(log)"
        case let .executorFailed(message):
            return message
        }
    }

    public var errorDescription: String? { description }
}
