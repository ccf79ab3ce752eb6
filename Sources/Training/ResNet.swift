// CIFAR ResNets (He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016, §4.2):
// depth 6n+2, three stages of n basic blocks at 16/32/64 channels (32x32, 16x16, 8x8), 1x1 conv + BN
// projection shortcuts where the shape changes (as Delphi's Keras ResNet-32 and
// shared/bench/torch_reference.py), global average pooling and a dense classifier.
// Names: stem.conv, stem.bn, stem.act; stage{1,2,3}.block{i}.{conv1,bn1,act1,conv2,bn2,act2};
// stage{s}.block0.shortcut.{conv,bn}; fc.
import Tensors

public final class ResNet: RegisteredNetwork {
    final class Block {
        let conv1: Conv2DLayer, bn1: BatchNormLayer, act1: ActivationSlot
        let conv2: Conv2DLayer, bn2: BatchNormLayer, act2: ActivationSlot
        let shortcut: (conv: Conv2DLayer, bn: BatchNormLayer)?

        init(name: String, inChannels: Int, outChannels: Int, stride: Int, outSize: Int, registry: inout ParameterRegistry,
             rng: inout RandomGenerator) {
            conv1 = Conv2DLayer(inChannels: inChannels, outChannels: outChannels, kernel: 3, stride: stride, padding: 1, rng: &rng)
            bn1 = BatchNormLayer(channels: outChannels)
            act1 = ActivationSlot(name: name + ".act1", channels: outChannels, elementsPerImage: outChannels * outSize * outSize)
            conv2 = Conv2DLayer(inChannels: outChannels, outChannels: outChannels, kernel: 3, stride: 1, padding: 1, rng: &rng)
            bn2 = BatchNormLayer(channels: outChannels)
            act2 = ActivationSlot(name: name + ".act2", channels: outChannels, elementsPerImage: outChannels * outSize * outSize)
            if stride != 1 || inChannels != outChannels {
                shortcut = (Conv2DLayer(inChannels: inChannels, outChannels: outChannels, kernel: 1, stride: stride, rng: &rng),
                            BatchNormLayer(channels: outChannels))
            } else {
                shortcut = nil
            }
            registry.add(conv1, name + ".conv1"); registry.add(bn1, name + ".bn1"); registry.add(act1)
            registry.add(conv2, name + ".conv2"); registry.add(bn2, name + ".bn2")
            if let shortcut {
                registry.add(shortcut.conv, name + ".shortcut.conv"); registry.add(shortcut.bn, name + ".shortcut.bn")
            }
            registry.add(act2)
        }
    }

    public let kind: ModelKind
    public let classCount: Int
    public let depth: Int
    let stemConv: Conv2DLayer, stemBN: BatchNormLayer, stemAct: ActivationSlot
    let blocks: [Block]
    let fc: DenseLayer
    let registry: ParameterRegistry

    public init(depth: Int, classes: Int, rng: inout RandomGenerator) {
        precondition(depth >= 8 && (depth - 2) % 6 == 0, "CIFAR ResNet depth must be 6n+2, got \(depth)")
        self.depth = depth
        self.classCount = classes
        self.kind = ModelKind(rawValue: "resnet\(depth)") ?? .resnet32
        var reg = ParameterRegistry()
        stemConv = Conv2DLayer(inChannels: 3, outChannels: 16, kernel: 3, padding: 1, rng: &rng)
        stemBN = BatchNormLayer(channels: 16)
        stemAct = ActivationSlot(name: "stem.act", channels: 16, elementsPerImage: 16 * 32 * 32)
        reg.add(stemConv, "stem.conv"); reg.add(stemBN, "stem.bn"); reg.add(stemAct)
        let n = (depth - 2) / 6
        var list: [Block] = []
        var cin = 16, size = 32
        for (stage, (cout, stride)) in [(16, 1), (32, 2), (64, 2)].enumerated() {
            for i in 0..<n {
                let s = i == 0 ? stride : 1
                size /= s
                list.append(Block(name: "stage\(stage + 1).block\(i)", inChannels: cin, outChannels: cout, stride: s,
                                  outSize: size, registry: &reg, rng: &rng))
                cin = cout
            }
        }
        blocks = list
        fc = DenseLayer(inputs: 64, outputs: classes, rng: &rng)
        reg.add(fc, "fc")
        registry = reg
    }


    public func forward(_ input: Variable, tape: Tape, training: Bool) -> Variable {
        var x = convNormalizeActivate(input, stemConv, stemBN, stemAct, tape: tape, training: training)
        for b in blocks {
            let y = convNormalizeActivate(x, b.conv1, b.bn1, b.act1, tape: tape, training: training)
            if fusesEvaluation(tape: tape, training: training) {
                // Evaluating: the shortcut first, so that the second convolution adds it (and the ReLU) in its stores.
                let s = b.shortcut.map { convNormalize(x, $0.conv, $0.bn, tape: tape, training: false, relu: false) } ?? x
                let z = convNormalize(y, b.conv2, b.bn2, tape: tape, training: false, relu: b.act2.isReLU, residual: s)
                x = b.act2.isReLU ? z : b.act2(z, tape: tape, training: false)
                continue
            }
            let z = b.bn2(b.conv2(y, tape: tape), tape: tape, training: training)
            let s = b.shortcut.map { $0.bn($0.conv(x, tape: tape), tape: tape, training: training) } ?? x
            x = b.act2.isReLU ? tape.addReLU(z, s) : b.act2(tape.add(z, s), tape: tape, training: training)
        }
        return fc(tape.globalAveragePool(x), tape: tape)
    }
}
