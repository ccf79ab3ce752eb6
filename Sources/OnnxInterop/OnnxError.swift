// What `sibyl import` and `sibyl export --onnx` refuse, each with what to do instead. A refused file is
// never half-imported: the checkpoint is written only after the whole graph was read and matched.
import Foundation

public enum OnnxError: Error, CustomStringConvertible, Equatable {
    /// The file cannot be read or is not an ONNX model.
    case unreadable(path: String, reason: String)
    /// A node (named as in the file, with its operator) that Sibyl cannot take, and why.
    case node(String, reason: String)
    /// The model as a whole (inputs, outputs, opsets, tensors) cannot be taken.
    case model(String)
    /// The graph reads well but is none of the architectures Sibyl trains, plans and evaluates.
    case architecture(String)
    /// The destination exists and --force was not given, or cannot be written.
    case destination(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "\(path) is not a readable ONNX model: \(reason). Export it again (torch.onnx.export, tf2onnx) and check it with onnx.checker.check_model."
        case let .node(node, reason): return "ONNX node \(node): \(reason)"
        case let .model(reason): return "ONNX model: \(reason)"
        case let .architecture(reason): return "ONNX graph: \(reason)"
        case let .destination(path, reason): return "\(path): \(reason)"
        }
    }
}
