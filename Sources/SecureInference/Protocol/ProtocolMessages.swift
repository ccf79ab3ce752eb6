import Lattice
import NetworkPlan
import Transport

/// Frame type tags of the secure-inference protocol (a range of its own; OT and HE use theirs inside).
enum ProtocolMessage {
    static let hello: UInt16 = 0x5100
    static let heSetup: UInt16 = 0x5101
    /// The client's rerandomisation key for the polynomials' batched OLE (PrimeOLE), after the OT setup,
    /// only for programs with polynomial steps.
    static let oleSetup: UInt16 = 0x5102
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
    /// Each term computes its outputs modulo 2^(the bits their readers use: `shareBitsNeeded`).
    public func linearShapes() throws -> [Int: [LinearLayerShape]] {
        var shapes: [Int: [LinearLayerShape]] = [:]
        let need = shareBitsNeeded()
        for (index, step) in steps.enumerated() {
            guard case .linear(let output, let terms, _, _) = step else { continue }
            shapes[index] = try terms.map { term in
                try LinearLowering.shape(of: term.map, input: tensors[term.input].shape, output: tensors[output].shape,
                                         weightBits: term.weightBits).withPlaintextBits(need[output] == 0 ? 64 : max(need[output], 2))
            }
        }
        return shapes
    }

    /// Per tensor, how many low bits of its shares the program's readers use (0: none): a ReLU reads its
    /// k' = valueBits (both ReLU protocols take only the low k' bits of each share), a linear term, a
    /// gather or a scatter what its output needs (products and sums modulo 2^n need their inputs modulo
    /// 2^n), an add what its output needs less the left shift of that input; a truncation, a square, a
    /// polynomial (they lift the shares to integers) and the logits need all 64. The HE linear layers then
    /// run modulo 2^(their outputs' need): an all-ReLU network's shares are right in their low k' bits and
    /// the response of each layer is 64 - k' bits per coefficient shorter.
    public func shareBitsNeeded() -> [Int] {
        var need = [Int](repeating: 0, count: tensors.count)
        func require(_ t: Int, _ bits: Int) { need[t] = max(need[t], min(64, max(bits, 1))) }
        require(output, 64)
        for step in steps.reversed() {
            let n = need[step.output]
            switch step {
            case .linear(_, let terms, _, _):
                for term in terms where n > 0 { require(term.input, n) }
            case .add(_, let a, let shiftA, let b, let shiftB):
                if n > 0 { require(a, n - shiftA); require(b, n - shiftB) }
            case .gather(_, let input, _):
                if n > 0 { require(input, n) }
            case .scatter(_, let parts):
                for part in parts where n > 0 { require(part.input, n) }
            case .relu(_, let input, let valueBits, _, _):
                require(input, valueBits)
            case .truncate(_, let input, _), .square(_, let input, _), .polynomial(_, let input, _, _, _, _):
                require(input, 64)
            }
        }
        return need
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
