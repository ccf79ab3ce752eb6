// The MiniONN CIFAR-10 network (Liu, Juuti, Lu, Asokan, "Oblivious Neural Network Predictions via
// MiniONN Transformations", CCS 2017, Figure 13; also Delphi's MiniONN benchmark): 7 convolutions and
// one dense layer: conv3x3(64) x2, avgpool 2, conv3x3(64) x2, avgpool 2, conv3x3(64), conv1x1(64),
// conv1x1(16), dense 1024 -> classes. Deviation: each convolution is followed by batch norm (which
// folds into a convolution bias at export) instead of carrying a bias, so it trains without tuning.
// Names: conv{1..7}, bn{1..7}, act{1..7}, fc.
import Tensors

public final class MiniONN: RegisteredNetwork {
    public let kind = ModelKind.minionn
    public let classCount: Int
    let convs: [Conv2DLayer], bns: [BatchNormLayer], acts: [ActivationSlot]
    let fc: DenseLayer
    let registry: ParameterRegistry

    public init(classes: Int, rng: inout RandomGenerator) {
        classCount = classes
        // (in, out, kernel, padding, spatial size of the output)
        let spec = [(3, 64, 3, 1, 32), (64, 64, 3, 1, 32), (64, 64, 3, 1, 16), (64, 64, 3, 1, 16),
                    (64, 64, 3, 1, 8), (64, 64, 1, 0, 8), (64, 16, 1, 0, 8)]
        var reg = ParameterRegistry()
        var c: [Conv2DLayer] = [], b: [BatchNormLayer] = [], a: [ActivationSlot] = []
        for (i, s) in spec.enumerated() {
            let conv = Conv2DLayer(inChannels: s.0, outChannels: s.1, kernel: s.2, padding: s.3, rng: &rng)
            let bn = BatchNormLayer(channels: s.1)
            let act = ActivationSlot(name: "act\(i + 1)", channels: s.1, elementsPerImage: s.1 * s.4 * s.4)
            reg.add(conv, "conv\(i + 1)"); reg.add(bn, "bn\(i + 1)"); reg.add(act)
            c.append(conv); b.append(bn); a.append(act)
        }
        convs = c; bns = b; acts = a
        fc = DenseLayer(inputs: 1024, outputs: classes, rng: &rng)
        reg.add(fc, "fc")
        registry = reg
    }


    public func forward(_ input: Variable, tape: Tape, training: Bool) -> Variable {
        var x = input
        for i in 0..<7 {
            x = convNormalizeActivate(x, convs[i], bns[i], acts[i], tape: tape, training: training)
            if i == 1 || i == 3 { x = tape.averagePool(x, kernel: 2, stride: 2) }
        }
        return fc(tape.reshape(x, [x.shape[0], 1024]), tape: tape)
    }
}
