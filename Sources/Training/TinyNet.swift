// A tiny CNN for tests and smoke runs: conv3x3(8) + BN + act, avgpool 2, conv3x3 stride 2 (16) + BN +
// act, global average pooling, dense. Names: conv1, bn1, act1, conv2, bn2, act2, fc.
import Tensors

public final class TinyNet: RegisteredNetwork {
    public let kind = ModelKind.tiny
    public let classCount: Int
    let conv1: Conv2DLayer, bn1: BatchNormLayer, act1: ActivationSlot
    let conv2: Conv2DLayer, bn2: BatchNormLayer, act2: ActivationSlot
    let fc: DenseLayer
    let registry: ParameterRegistry

    public init(classes: Int, rng: inout RandomGenerator) {
        classCount = classes
        conv1 = Conv2DLayer(inChannels: 3, outChannels: 8, kernel: 3, padding: 1, rng: &rng)
        bn1 = BatchNormLayer(channels: 8)
        act1 = ActivationSlot(name: "act1", channels: 8, elementsPerImage: 8 * 32 * 32)
        conv2 = Conv2DLayer(inChannels: 8, outChannels: 16, kernel: 3, stride: 2, padding: 1, rng: &rng)
        bn2 = BatchNormLayer(channels: 16)
        act2 = ActivationSlot(name: "act2", channels: 16, elementsPerImage: 16 * 8 * 8)
        fc = DenseLayer(inputs: 16, outputs: classes, rng: &rng)
        var reg = ParameterRegistry()
        reg.add(conv1, "conv1"); reg.add(bn1, "bn1"); reg.add(act1)
        reg.add(conv2, "conv2"); reg.add(bn2, "bn2"); reg.add(act2)
        reg.add(fc, "fc")
        registry = reg
    }


    public func forward(_ input: Variable, tape: Tape, training: Bool) -> Variable {
        var x = convNormalizeActivate(input, conv1, bn1, act1, tape: tape, training: training)
        x = tape.averagePool(x, kernel: 2, stride: 2)
        x = convNormalizeActivate(x, conv2, bn2, act2, tape: tape, training: training)
        return fc(tape.globalAveragePool(x), tape: tape)
    }
}
