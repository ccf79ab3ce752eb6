// Public descriptions of linear layers (shapes, known to both parties) and the server's weights, with
// a naive integer reference evaluation in Z_(2^64).

import ModularMath

/// The public shape of a linear layer: both parties know it; the weights stay with the server.
public struct LinearLayerShape: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// 2-D convolution (cross-correlation, no bias) with square stride and symmetric zero padding.
        case convolution(outputChannels: Int, kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int)
        /// Matrix-vector product y = W x.
        case dense(outputs: Int)
    }

    public let kind: Kind
    /// Input tensor shape C x H x W (dense layers: C inputs, H = W = 1).
    public let inputChannels: Int
    public let inputHeight: Int
    public let inputWidth: Int
    /// Public bound on the weights: |w| < 2^weightBits (fixed-point integers).
    public let weightBits: Int
    /// The HE protocol computes the output shares modulo 2^plaintextBits (its plaintext modulus t): 64 for
    /// the whole share ring, fewer where every reader of the output needs only its low bits (a ReLU reads
    /// k' of them: FixedPointProgram.shareBitsNeeded). The online phase and the reference stay in Z_(2^64).
    public private(set) var plaintextBits: Int = 64

    /// A convolution layer; throws for non-positive sizes or a kernel larger than the padded input.
    public static func convolution(inputChannels: Int, height: Int, width: Int, outputChannels: Int,
                                   kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0,
                                   weightBits: Int = 12) throws -> LinearLayerShape {
        guard inputChannels > 0, height > 0, width > 0, outputChannels > 0, kernelHeight > 0, kernelWidth > 0,
              stride > 0, padding >= 0 else {
            throw LatticeError.shapeMismatch("convolution sizes must be positive (padding non-negative)")
        }
        guard height + 2 * padding >= kernelHeight, width + 2 * padding >= kernelWidth else {
            throw LatticeError.shapeMismatch("kernel \(kernelHeight)x\(kernelWidth) exceeds the padded input")
        }
        guard (1...40).contains(weightBits) else { throw LatticeError.shapeMismatch("weightBits must lie in 1...40") }
        return LinearLayerShape(kind: .convolution(outputChannels: outputChannels, kernelHeight: kernelHeight,
                                                   kernelWidth: kernelWidth, stride: stride, padding: padding),
                                inputChannels: inputChannels, inputHeight: height, inputWidth: width,
                                weightBits: weightBits)
    }

    /// A dense (fully connected) layer with `inputs` inputs and `outputs` outputs.
    public static func dense(inputs: Int, outputs: Int, weightBits: Int = 12) throws -> LinearLayerShape {
        guard inputs > 0, outputs > 0 else { throw LatticeError.shapeMismatch("dense sizes must be positive") }
        guard (1...40).contains(weightBits) else { throw LatticeError.shapeMismatch("weightBits must lie in 1...40") }
        return LinearLayerShape(kind: .dense(outputs: outputs), inputChannels: inputs, inputHeight: 1,
                                inputWidth: 1, weightBits: weightBits)
    }

    /// The same shape with outputs modulo 2^bits (2 ... 64).
    public func withPlaintextBits(_ bits: Int) throws -> LinearLayerShape {
        guard (2...64).contains(bits) else { throw LatticeError.shapeMismatch("plaintextBits \(bits) must lie in 2...64") }
        var copy = self
        copy.plaintextBits = bits
        return copy
    }

    /// 2^plaintextBits - 1: the bits of a share the layer's outputs keep.
    public var plaintextMask: UInt64 { plaintextBits == 64 ? .max : (UInt64(1) << UInt64(plaintextBits)) - 1 }

    /// Number of input values (C * H * W).
    public var inputCount: Int { inputChannels * inputHeight * inputWidth }

    /// Output shape (channels, height, width).
    public var outputShape: (channels: Int, height: Int, width: Int) {
        switch kind {
        case .dense(let m): return (m, 1, 1)
        case .convolution(let m, let kh, let kw, let s, let p):
            return (m, (inputHeight + 2 * p - kh) / s + 1, (inputWidth + 2 * p - kw) / s + 1)
        }
    }

    /// Number of output values.
    public var outputCount: Int { let o = outputShape; return o.channels * o.height * o.width }

    /// Number of weights (conv: M x C x kh x kw; dense: M x C).
    public var weightCount: Int {
        switch kind {
        case .dense(let m): return m * inputChannels
        case .convolution(let m, let kh, let kw, _, _): return m * inputChannels * kh * kw
        }
    }

    /// Nonzero weight terms per output value (the row length of L).
    public var termsPerOutput: Int { weightCount / outputShape.channels }

    public var description: String {
        let modulus = plaintextBits == 64 ? "" : ", mod 2^\(plaintextBits)"
        switch kind {
        case .dense(let m): return "dense \(inputChannels) -> \(m)\(modulus)"
        case .convolution(let m, let kh, let kw, let s, let p):
            return "conv \(inputChannels)x\(inputHeight)x\(inputWidth) -> \(m), \(kh)x\(kw), stride \(s), padding \(p)\(modulus)"
        }
    }
}

/// A linear layer with the server's integer (fixed-point) weights.
public struct LinearLayer: Sendable {
    public let shape: LinearLayerShape
    /// Weights, conv: [M][C][kh][kw]; dense: [M][C]; each |w| < 2^weightBits.
    public let weights: [Int64]

    /// Checks the count and the public weight bound.
    public init(shape: LinearLayerShape, weights: [Int64]) throws {
        guard weights.count == shape.weightCount else {
            throw LatticeError.shapeMismatch("\(weights.count) weights for \(shape) (needs \(shape.weightCount))")
        }
        let bound = Int64(1) << Int64(shape.weightBits)
        if let bad = weights.first(where: { $0 >= bound || $0 <= -bound }) {
            throw LatticeError.malformedInput("weight \(bad) exceeds the public bound 2^\(shape.weightBits)")
        }
        self.shape = shape
        self.weights = weights
    }

    /// L x mod 2^64, computed naively (the reference for the HE protocol). Input layout [C][H][W];
    /// output layout [M][Ho][Wo].
    public func applyReference(_ x: [UInt64]) throws -> [UInt64] {
        guard x.count == shape.inputCount else {
            throw LatticeError.shapeMismatch("\(x.count) inputs for \(shape) (needs \(shape.inputCount))")
        }
        let c = shape.inputChannels, h = shape.inputHeight, w = shape.inputWidth
        switch shape.kind {
        case .dense(let m):
            return (0..<m).map { o in
                var acc: UInt64 = 0
                for i in 0..<c { acc &+= UInt64(bitPattern: weights[o * c + i]) &* x[i] }
                return acc
            }
        case .convolution(let m, let kh, let kw, let s, let p):
            let (_, ho, wo) = shape.outputShape
            var out = [UInt64](repeating: 0, count: m * ho * wo)
            for o in 0..<m {
                for oi in 0..<ho {
                    for oj in 0..<wo {
                        var acc: UInt64 = 0
                        for ci in 0..<c {
                            for di in 0..<kh {
                                let ii = oi * s + di - p
                                if ii < 0 || ii >= h { continue }
                                for dj in 0..<kw {
                                    let jj = oj * s + dj - p
                                    if jj < 0 || jj >= w { continue }
                                    let wt = weights[((o * c + ci) * kh + di) * kw + dj]
                                    acc &+= UInt64(bitPattern: wt) &* x[(ci * h + ii) * w + jj]
                                }
                            }
                        }
                        out[(o * ho + oi) * wo + oj] = acc
                    }
                }
            }
            return out
        }
    }
}
