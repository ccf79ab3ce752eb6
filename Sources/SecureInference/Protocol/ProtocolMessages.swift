import Lattice
import NetworkPlan
import Transport

/// Frame type tags of the secure-inference protocol (a range of its own; OT and HE use theirs inside).
enum ProtocolMessage {
    static let hello: UInt16 = 0x5100
    static let heSetup: UInt16 = 0x5101
    static let linearRequest: UInt16 = 0x5110
    static let linearResponse: UInt16 = 0x5111
    static let garbledBatch: UInt16 = 0x5130
    static let reluServerLabels: UInt16 = 0x5140
    static let reluClientReply: UInt16 = 0x5141
    /// OT-based ReLU: the client's output share minus the share it fixed offline (re-sharing).
    static let reluReshare: UInt16 = 0x5142
    static let maskedInput: UInt16 = 0x5160
    static let outputShare: UInt16 = 0x5161
    static let offlineDone: UInt16 = 0x5170
    static let imageRequest: UInt16 = 0x5180
    static let goodbye: UInt16 = 0x5181
    /// Server to client, instead of `hello` or `admitted`: the server will not serve this connection now
    /// (UTF-8 reason, at most `busyReasonLimit` bytes); it closes the connection after it.
    static let busy: UInt16 = 0x5182
    /// Server to client after the client's HE setup: a session slot is the client's; base OTs follow.
    static let admitted: UInt16 = 0x5183
    static let busyReasonLimit = 1024
    /// Largest `hello` (the public architecture as JSON) a client accepts: ResNet-32's is about
    /// 20 KB, so a hostile server cannot make a client buffer more than this before anything is checked.
    static let helloLimit: UInt64 = 4 << 20
}

extension FixedPointProgram {
    /// The HE layer shape of every term of every linear step, by step index: the one lowering of the
    /// program's linear layers that parameter selection, the server's prepared weights and the client's
    /// requests all read (each computes it once: per plan, per model, per session).
    public func linearShapes() throws -> [Int: [LinearLayerShape]] {
        var shapes: [Int: [LinearLayerShape]] = [:]
        for (index, step) in steps.enumerated() {
            guard case .linear(let output, let terms, _, _) = step else { continue }
            shapes[index] = try terms.map { term in
                try LinearLowering.shape(of: term.map, input: tensors[term.input].shape, output: tensors[output].shape,
                                         weightBits: term.weightBits)
            }
        }
        return shapes
    }
}

/// The public shape of a linear map, as the HE protocol needs it (the client knows this; not the weights).
enum LinearLowering {
    /// The HE layer shape of a term, from public information only.
    static func shape(of map: LinearMap, input: TensorShape, output: TensorShape, weightBits: Int) throws -> LinearLayerShape {
        switch map {
        case .conv(_, let inChannels, let outChannels, let kernel, let stride, let padding):
            return try .convolution(inputChannels: inChannels, height: input.height, width: input.width,
                                    outputChannels: outChannels, kernelHeight: kernel, kernelWidth: kernel,
                                    stride: stride, padding: padding, weightBits: weightBits)
        case .dense(_, let inFeatures, let outFeatures):
            return try .dense(inputs: inFeatures, outputs: outFeatures, weightBits: weightBits)
        case .diagonal:
            return try .convolution(inputChannels: input.channels, height: input.height, width: input.width,
                                    outputChannels: input.channels, kernelHeight: 1, kernelWidth: 1,
                                    weightBits: weightBits)
        case .windowSum(let kernel, let stride):
            return try .convolution(inputChannels: input.channels, height: input.height, width: input.width,
                                    outputChannels: output.channels, kernelHeight: kernel, kernelWidth: kernel,
                                    stride: stride, weightBits: weightBits)
        }
    }

    /// Weights of a term as the HE layer's signed integers ([out][in][k][k] or [out][in]).
    static func weights(of map: LinearMap, input: TensorShape) -> [Int64] {
        switch map {
        case .conv(let weights, _, _, _, _, _), .dense(let weights, _, _):
            return weights.map { Int64(bitPattern: $0) }
        case .diagonal(let scale):
            let c = input.channels
            var w = [Int64](repeating: 0, count: c * c)
            for i in 0..<c { w[i * c + i] = Int64(bitPattern: scale[i]) }
            return w
        case .windowSum(let kernel, _):
            let c = input.channels
            var w = [Int64](repeating: 0, count: c * c * kernel * kernel)
            for i in 0..<c { for j in 0..<(kernel * kernel) { w[(i * c + i) * kernel * kernel + j] = 1 } }
            return w
        }
    }
}
