// Layers owning parameters. Weight layouts (also the checkpoint layouts):
//   conv weight  [out, in, kh, kw]  (OIHW, as PyTorch), no bias; He-normal init, std sqrt(2 / (in*kh*kw))
//   batch norm   gamma [C] = 1, beta [C] = 0, running_mean [C] = 0, running_var [C] = 1
//   dense weight [out, in], bias [out]; uniform(-1/sqrt(in), 1/sqrt(in)) as PyTorch's default
import Tensors

/// A parameter with its stable name and whether weight decay applies (conv/dense weights only).
public struct NamedParameter {
    public let name: String
    public let parameter: Parameter
    public let decays: Bool

    public init(name: String, parameter: Parameter, decays: Bool) {
        self.name = name; self.parameter = parameter; self.decays = decays
    }
}

/// A non-learned tensor saved with the model (batch-norm running statistics).
public struct NamedBuffer {
    public let name: String
    public let tensor: Tensor

    public init(name: String, tensor: Tensor) { self.name = name; self.tensor = tensor }
}

public final class Conv2DLayer {
    public let weight: Parameter
    public let stride: Int, padding: Int

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                rng: inout RandomGenerator) {
        let fanIn = Float(inChannels * kernel * kernel)
        let std = (2 / fanIn).squareRoot()
        let n = outChannels * inChannels * kernel * kernel
        weight = Parameter(Tensor(shape: [outChannels, inChannels, kernel, kernel],
                                  values: (0..<n).map { _ in rng.normal() * std }))
        self.stride = stride
        self.padding = padding
    }

    public func callAsFunction(_ x: Variable, tape: Tape) -> Variable {
        tape.conv2d(x, tape.parameter(weight), stride: stride, padding: padding)
    }
}

public final class BatchNormLayer {
    public let gamma: Parameter, beta: Parameter
    public let statistics: BatchNormStatistics

    public init(channels: Int) {
        gamma = Parameter(Tensor(shape: [channels], repeating: 1))
        beta = Parameter(Tensor(zeros: [channels]))
        statistics = BatchNormStatistics(channels: channels)
    }

    public func callAsFunction(_ x: Variable, tape: Tape, training: Bool, relu: Bool = false) -> Variable {
        tape.batchNorm(x, gamma: tape.parameter(gamma), beta: tape.parameter(beta), statistics: statistics,
                       training: training, relu: relu)
    }
}

public final class DenseLayer {
    public let weight: Parameter, bias: Parameter

    public init(inputs: Int, outputs: Int, rng: inout RandomGenerator) {
        let bound = 1 / Float(inputs).squareRoot()
        weight = Parameter(Tensor(shape: [outputs, inputs], values: (0..<(inputs * outputs)).map { _ in (rng.uniform() * 2 - 1) * bound }))
        bias = Parameter(Tensor(shape: [outputs], values: (0..<outputs).map { _ in (rng.uniform() * 2 - 1) * bound }))
    }

    public func callAsFunction(_ x: Variable, tape: Tape) -> Variable {
        tape.dense(x, weight: tape.parameter(weight), bias: tape.parameter(bias))
    }
}

/// Collects parameters, buffers and slots under stable dotted names while a model is built.
public struct ParameterRegistry {
    public private(set) var parameters: [NamedParameter] = []
    public private(set) var buffers: [NamedBuffer] = []
    public private(set) var slots: [ActivationSlot] = []

    public init() {}

    public mutating func add(_ conv: Conv2DLayer, _ name: String) {
        parameters.append(NamedParameter(name: name + ".weight", parameter: conv.weight, decays: true))
    }

    public mutating func add(_ bn: BatchNormLayer, _ name: String) {
        parameters.append(NamedParameter(name: name + ".gamma", parameter: bn.gamma, decays: false))
        parameters.append(NamedParameter(name: name + ".beta", parameter: bn.beta, decays: false))
        buffers.append(NamedBuffer(name: name + ".running_mean", tensor: bn.statistics.mean))
        buffers.append(NamedBuffer(name: name + ".running_var", tensor: bn.statistics.variance))
    }

    public mutating func add(_ dense: DenseLayer, _ name: String) {
        parameters.append(NamedParameter(name: name + ".weight", parameter: dense.weight, decays: true))
        parameters.append(NamedParameter(name: name + ".bias", parameter: dense.bias, decays: false))
    }

    public mutating func add(_ slot: ActivationSlot) { slots.append(slot) }
}
