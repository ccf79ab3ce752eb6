// The model interface the trainer, checkpoints and (later) plan export use.
import Tensors

public enum ModelKind: String, CaseIterable, Sendable, Codable {
    case resnet8, resnet14, resnet20, resnet32, resnet56, minionn, tiny

    /// Parses a user-supplied name (case-insensitive) or throws a validation error naming the flag.
    public static func parse(_ name: String, flag: String = "--model") throws -> ModelKind {
        guard let kind = ModelKind(rawValue: name.lowercased()) else {
            throw TrainingError.invalidOption(flag: flag, value: name, allowed: allCases.map(\.rawValue))
        }
        return kind
    }
}

public protocol Network: AnyObject {
    var kind: ModelKind { get }
    var classCount: Int { get }
    /// Activation slots in forward order, by stable name.
    var slots: [ActivationSlot] { get }
    /// Learned parameters by stable name (layer weights; then the coefficients of polynomial slots).
    var namedParameters: [NamedParameter] { get }
    /// Batch-norm running statistics by stable name.
    var namedBuffers: [NamedBuffer] { get }
    /// Logits [N, classes] for images [N, 3, 32, 32] (NCHW).
    func forward(_ x: Variable, tape: Tape, training: Bool) -> Variable
}

extension Network {
    public func slot(named name: String) -> ActivationSlot? { slots.first { $0.name == name } }

    /// Total activations per image over all ReLU slots.
    public var reluCount: Int { slots.filter(\.isReLU).reduce(0) { $0 + $1.elementsPerImage } }

    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.parameter.value.count } }

    /// Convolution, batch norm and a slot's activation: the ReLU fused into the batch norm; on an evaluation tape
    /// (nothing recorded, running statistics) all of it one pass (`convNormalize`).
    func convNormalizeActivate(_ x: Variable, _ conv: Conv2DLayer, _ bn: BatchNormLayer, _ slot: ActivationSlot,
                               tape: Tape, training: Bool) -> Variable {
        if slot.isReLU { return convNormalize(x, conv, bn, tape: tape, training: training, relu: true) }
        return slot(convNormalize(x, conv, bn, tape: tape, training: training, relu: false), tape: tape, training: training)
    }

    /// Whether a forward pass evaluates (not training, nothing recorded): then conv -> batch norm [-> + shortcut]
    /// [-> ReLU] run fused (`convNormalize`).
    func fusesEvaluation(tape: Tape, training: Bool) -> Bool { !training && !tape.recording }

    /// conv -> batch norm [-> + residual] [-> ReLU]. Evaluating (`fusesEvaluation`), one fused pass
    /// (`Tape.convBatchNormInference`: in the convolution's stores where the direct kernels run); otherwise the
    /// recorded ops, the ReLU fused into the batch norm or the residual add.
    func convNormalize(_ x: Variable, _ conv: Conv2DLayer, _ bn: BatchNormLayer, tape: Tape, training: Bool, relu: Bool,
                       residual: Variable? = nil) -> Variable {
        if fusesEvaluation(tape: tape, training: training) {
            return tape.convBatchNormInference(x, weight: conv.weight.value, stride: conv.stride, padding: conv.padding,
                                               gamma: bn.gamma.value, beta: bn.beta.value, statistics: bn.statistics,
                                               residual: residual, relu: relu)
        }
        let z = bn(conv(x, tape: tape), tape: tape, training: training, relu: relu && residual == nil)
        guard let residual else { return z }
        return relu ? tape.addReLU(z, residual) : tape.add(z, residual)
    }

    /// `ActivationSlot.scaleCoefficientGradient` for every polynomial or blending slot.
    public func scaleCoefficientGradients() {
        for slot in slots where !slot.isReLU { slot.scaleCoefficientGradient() }
    }

    /// The one training step after the forward pass (`sibyl train`, the planner's members): backward
    /// from `loss` plus the range penalties its polynomial slots computed in the forward pass, clipping
    /// (by value, then by global norm), SGD. With `normalizedCoefficients` the coefficients' gradients are
    /// clipped in units of their slot's input range (`ActivationSlot.scaleCoefficientGradient`, applied
    /// before clipping and again after). Returns the gradient's global norm before norm clipping. With
    /// `skipNonFinite` a non-finite loss or norm skips the update (nothing changes) and returns NaN (the
    /// planner, which reports such a member as diverged); without it the update is applied whatever it is
    /// (`sibyl train`, whose epoch then shows the divergence and is not checkpointed).
    @discardableResult
    public func applyGradients(of loss: Variable, tape: Tape, optimizer: SGD, learningRate: Float, clipValue: Float?,
                               clipNorm: Float?, normalizedCoefficients: Bool, skipNonFinite: Bool) -> Float {
        let penalties = slots.filter { !$0.isReLU }.compactMap(\.lastPenalty)
        let total = penalties.reduce(loss) { tape.add($0, $1) }
        if skipNonFinite && !total.value[flat: 0].isFinite { return .nan }
        tape.backward(from: total)
        let parameters = namedParameters
        if normalizedCoefficients { scaleCoefficientGradients() }
        if let clipValue { GradientClipping.clipByValue(parameters, limit: clipValue) }
        let norm = clipNorm.map { GradientClipping.clipByGlobalNorm(parameters, maxNorm: $0) }
            ?? GradientClipping.globalNorm(parameters)
        if skipNonFinite && !norm.isFinite { return .nan }
        if normalizedCoefficients { scaleCoefficientGradients() }
        optimizer.step(parameters, learningRate: learningRate)
        return norm
    }

    /// Coefficient parameters of non-ReLU slots, named "<slot>.coefficients".
    func slotParameters() -> [NamedParameter] {
        slots.compactMap { s in s.coefficients.map { NamedParameter(name: s.name + ".coefficients", parameter: $0, decays: false) } }
    }
}

/// A network whose layers and slots are listed in a `ParameterRegistry` (every built-in model): its slots,
/// parameters (layer weights, then polynomial coefficients) and buffers come from the registry.
protocol RegisteredNetwork: Network {
    var registry: ParameterRegistry { get }
}

extension RegisteredNetwork {
    public var slots: [ActivationSlot] { registry.slots }
    public var namedParameters: [NamedParameter] { registry.parameters + slotParameters() }
    public var namedBuffers: [NamedBuffer] { registry.buffers }
}

/// Builds a fresh network with weights drawn from `rng`.
public func makeNetwork(_ kind: ModelKind, classes: Int, rng: inout RandomGenerator) -> Network {
    switch kind {
    case .resnet8: return ResNet(depth: 8, classes: classes, rng: &rng)
    case .resnet14: return ResNet(depth: 14, classes: classes, rng: &rng)
    case .resnet20: return ResNet(depth: 20, classes: classes, rng: &rng)
    case .resnet32: return ResNet(depth: 32, classes: classes, rng: &rng)
    case .resnet56: return ResNet(depth: 56, classes: classes, rng: &rng)
    case .minionn: return MiniONN(classes: classes, rng: &rng)
    case .tiny: return TinyNet(classes: classes, rng: &rng)
    }
}
