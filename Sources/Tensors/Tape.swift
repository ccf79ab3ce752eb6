// Tape-based reverse-mode automatic differentiation (as in micrograd / llm.c: every primitive
// records its pullback right next to its forward, in the primitive's own file).
//
// A Tape records Variables in creation order; `backward(from:)` walks them in reverse, handing each
// node's gradient to its pullback, which accumulates into its inputs. Gradients are written in place only
// into Parameter.grad and into a gradient nothing else holds (`exclusiveGradient`), so a pullback may pass
// one tensor to several inputs.

/// A learnable tensor with a persistent gradient buffer (zeroed by the optimizer after each step).
public final class Parameter: @unchecked Sendable {
    public let value: Tensor
    public let grad: Tensor

    public init(_ value: Tensor) {
        self.value = value
        self.grad = Tensor(zeros: value.shape)
    }

    public var shape: [Int] { value.shape }
    public func zeroGrad() { grad.fill(0) }
}

/// A node on a tape: a value and, after `backward`, possibly its gradient.
public final class Variable {
    public let value: Tensor
    public fileprivate(set) var grad: Tensor?
    public let requiresGrad: Bool
    let parameter: Parameter?
    fileprivate var pullback: ((Tensor) -> Void)?
    /// The value's per-channel moments, where the op that made it gathered them (convolutions on a recording
    /// tape): a training batch norm of this value uses them instead of its own statistics pass.
    public internal(set) var channelMoments: ChannelMoments?

    init(value: Tensor, requiresGrad: Bool, parameter: Parameter?) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.parameter = parameter
    }

    public var shape: [Int] { value.shape }
}

public final class Tape {
    /// When false the tape keeps nothing: forward only (inference, evaluation).
    public let recording: Bool
    private var nodes: [Variable] = []
    /// Multiply-adds performed by the forward convolutions and dense layers recorded so far.
    public internal(set) var multiplyAdds = 0

    public init(recording: Bool = true) { self.recording = recording }

    /// A value that needs no gradient (input images, labels' one-hots...).
    public func constant(_ value: Tensor) -> Variable {
        Variable(value: value, requiresGrad: false, parameter: nil)
    }

    /// An input whose gradient you want after `backward` (read it from `.grad`).
    public func input(_ value: Tensor) -> Variable {
        let v = Variable(value: value, requiresGrad: recording, parameter: nil)
        if recording { nodes.append(v) }
        return v
    }

    /// A parameter: its gradient accumulates into `parameter.grad`.
    public func parameter(_ p: Parameter) -> Variable {
        let v = Variable(value: p.value, requiresGrad: recording, parameter: p)
        if recording { nodes.append(v) }
        return v
    }

    /// Whether an op with these inputs must record a pullback.
    public func needsGradient(_ inputs: Variable...) -> Bool {
        recording && inputs.contains { $0.requiresGrad }
    }

    /// Records the result of a primitive. `pullback` receives the output's gradient and calls
    /// `accumulate` for the inputs that require one.
    public func record(_ value: Tensor, inputs: [Variable], pullback: @escaping (Tensor) -> Void) -> Variable {
        let needs = recording && inputs.contains { $0.requiresGrad }
        let v = Variable(value: value, requiresGrad: needs, parameter: nil)
        if needs {
            v.pullback = pullback
            nodes.append(v)
        }
        return v
    }

    /// Adds `gradient` to `variable`'s gradient (or to its parameter's gradient buffer).
    public func accumulate(_ variable: Variable, _ gradient: Tensor) {
        guard variable.requiresGrad else { return }
        precondition(gradient.count == variable.value.count,
                     "gradient \(gradient.shape) for value \(variable.value.shape)")
        if let p = variable.parameter {
            Elementwise.addInPlace(p.grad.pointer, gradient.pointer, count: gradient.count)
        } else if let g = variable.grad {
            variable.grad = Elementwise.sum(g, gradient).reshaped(variable.shape)
        } else {
            variable.grad = gradient.reshaped(variable.shape)
        }
    }

    /// The gradient accumulated so far for a non-parameter variable when nothing else holds its storage (not
    /// another variable's gradient, not a pending pullback): a kernel may then add the next contribution into
    /// it in place instead of calling `accumulate`. nil otherwise.
    public func exclusiveGradient(of variable: Variable) -> Tensor? {
        guard variable.requiresGrad, variable.parameter == nil, var g = variable.grad else { return nil }
        variable.grad = nil
        defer { variable.grad = g }
        return g.hasExclusiveStorage() ? g : nil
    }

    /// Reverse pass from `output`, seeded with ones (a scalar loss) or with `seed`. Frees each node's
    /// saved tensors once its pullback ran; the tape is empty afterwards. Gradients of the Variables
    /// in `keeping` stay readable in `.grad` (for tests); parameters' go to `Parameter.grad`.
    public func backward(from output: Variable, seed: Tensor? = nil, keeping keep: [Variable] = []) {
        precondition(recording, "backward on a tape that does not record")
        accumulate(output, seed ?? Tensor(shape: output.shape, repeating: 1))
        let kept = Set(keep.map { ObjectIdentifier($0) })
        for node in nodes.reversed() {
            if let pb = node.pullback, let grad = node.grad { pb(grad) }
            node.pullback = nil
            if node.parameter == nil && !kept.contains(ObjectIdentifier(node)) { node.grad = nil }
        }
        nodes.removeAll(keepingCapacity: true)
    }
}
