// Coefficient packing of convolutions and matrix-vector products into polynomial products
// (Cheetah: Huang, Lu, Hong, Ding, "Cheetah: Lean and Fast Secure Two-Party Deep Neural Network
// Inference", USENIX Security 2022, section 4).
//
// Every layer is first rewritten as a stride-1 "valid" cross-correlation of a C' x H' x W' input with an
// M x C' x h' x w' kernel:
// - padding becomes explicit zeros in the client's packed input;
// - a stride-s convolution is split into s^2 polyphase components (C' = s^2 C, h' = ceil(kh / s)), so it
//   is computed at output resolution instead of at full resolution and subsampled;
// - a dense layer is the case H' = W' = h' = w' = 1.
// The input is cut into blocks of Cb channels and Hb x Wb positions (tiles overlap by h'-1, w'-1). With
// S = Cb Hb Wb, a block x is the polynomial sum x[c][i][j] X^(c Hb Wb + i Wb + j), and the kernel of k
// output channels is sum_o X^(o S) sum K[o][c][di][dj] X^((Cb-1-c) Hb Wb + (h'-1-di) Wb + (w'-1-dj)).
// The product's coefficient o S + (Cb-1) Hb Wb + (oi+h'-1) Wb + (oj+w'-1) is then exactly the output
// (o, oi, oj) of that block for oi <= Hb - h', oj <= Wb - w'; k S <= N keeps the negacyclic wrap-around
// and the other output channels away from these positions. Summing over channel blocks gives the layer.

/// How a layer is packed into polynomials: public, derived from the shape and the ring degree alone.
public struct LinearLayerPlan: Sendable, Hashable, CustomStringConvertible {
    public let shape: LinearLayerShape
    public let degree: Int
    /// The stride-1 valid correlation the layer is rewritten to.
    public let channels: Int, height: Int, width: Int
    public let kernelHeight: Int, kernelWidth: Int
    public let outputChannels: Int, outputHeight: Int, outputWidth: Int
    let stride: Int, padding: Int
    /// Block sizes and output channels per response polynomial.
    public let channelBlock: Int, blockHeight: Int, blockWidth: Int, channelsPerResponse: Int

    public var tileHeight: Int { blockHeight - kernelHeight + 1 }
    public var tileWidth: Int { blockWidth - kernelWidth + 1 }
    public var tilesDown: Int { (outputHeight + tileHeight - 1) / tileHeight }
    public var tilesAcross: Int { (outputWidth + tileWidth - 1) / tileWidth }
    public var tiles: Int { tilesDown * tilesAcross }
    public var channelBlocks: Int { (channels + channelBlock - 1) / channelBlock }
    public var groups: Int { (outputChannels + channelsPerResponse - 1) / channelsPerResponse }
    /// Number of uploaded ciphertexts (one per tile and channel block).
    public var uploadCount: Int { tiles * channelBlocks }
    /// Number of response ciphertexts (one per tile and group of output channels).
    public var responseCount: Int { tiles * groups }
    /// Polynomial products the server computes.
    public var productCount: Int { tiles * groups * channelBlocks }
    var slot: Int { channelBlock * blockHeight * blockWidth }

    public var description: String {
        "plan(\(shape): blocks \(channelBlock)x\(blockHeight)x\(blockWidth), \(channelsPerResponse) outputs/response, \(uploadCount) uploads, \(responseCount) responses)"
    }

    /// Chooses the packing with the fewest bytes on the wire for these parameters (ties: fewest
    /// products).
    public init(shape: LinearLayerShape, parameters: HEParameters) throws {
        let n = parameters.degree
        let (m, ho, wo) = shape.outputShape
        var cP = shape.inputChannels, hP = shape.inputHeight, wP = shape.inputWidth, khP = 1, kwP = 1
        var s = 1, p = 0
        if case .convolution(_, let kh, let kw, let st, let pad) = shape.kind {
            s = st; p = pad
            cP = shape.inputChannels * s * s
            hP = (shape.inputHeight + 2 * pad + s - 1) / s
            wP = (shape.inputWidth + 2 * pad + s - 1) / s
            khP = (kh + s - 1) / s
            kwP = (kw + s - 1) / s
        }
        guard khP * kwP <= n else { throw LatticeError.shapeMismatch("kernel too large for degree \(n)") }
        let uploadBits = parameters.primes.reduce(0) { $0 + 64 - $1.leadingZeroBitCount }
        var best: (cost: Double, products: Int, cb: Int, hb: Int, wb: Int, k: Int)? = nil
        for hb in khP...(ho + khP - 1) {
            for wb in kwP...(wo + kwP - 1) where hb * wb <= n {
                let tiles = ((ho + hb - khP) / (hb - khP + 1)) * ((wo + wb - kwP) / (wb - kwP + 1))
                for cb in 1...cP {
                    let slot = cb * hb * wb
                    if slot > n { break }
                    let k = min(m, n / slot)
                    let uploads = tiles * ((cP + cb - 1) / cb)
                    let responses = tiles * ((m + k - 1) / k)
                    let bytes = Double(uploads * n * uploadBits + responses * n * 74) / 8  // c1 ~ 64 + 10 bits
                    let products = responses * ((cP + cb - 1) / cb)
                    if best == nil || bytes < best!.cost || (bytes == best!.cost && products < best!.products) {
                        best = (bytes, products, cb, hb, wb, k)
                    }
                }
            }
        }
        guard let b = best else { throw LatticeError.shapeMismatch("no packing fits degree \(n) for \(shape)") }
        self.shape = shape
        self.degree = n
        self.channels = cP; self.height = hP; self.width = wP
        self.kernelHeight = khP; self.kernelWidth = kwP
        self.outputChannels = m; self.outputHeight = ho; self.outputWidth = wo
        self.stride = s; self.padding = p
        self.channelBlock = b.cb; self.blockHeight = b.hb; self.blockWidth = b.wb; self.channelsPerResponse = b.k
    }

    /// Index in the layer input ([C][H][W]) of the rewritten input X'[c'][i][j]; nil where X' is zero
    /// (padding, the polyphase components' overhang, beyond the input).
    @inline(__always) func transformedIndex(_ c: Int, _ i: Int, _ j: Int) -> Int? {
        let s = stride
        let c0 = c / (s * s), phase = c % (s * s)
        let ii = s * i + phase / s - padding, jj = s * j + phase % s - padding
        guard c < channels, i < height, j < width, ii >= 0, jj >= 0, ii < shape.inputHeight, jj < shape.inputWidth else { return nil }
        return (c0 * shape.inputHeight + ii) * shape.inputWidth + jj
    }

    /// Value of the rewritten input X'[c'][i][j] from the layer input x ([C][H][W]), zero outside.
    @inline(__always) func transformedInput(_ x: [UInt64], _ c: Int, _ i: Int, _ j: Int) -> UInt64 {
        transformedIndex(c, i, j).map { x[$0] } ?? 0
    }

    /// Per upload, the coefficient positions that carry an input value seen in no earlier upload (tiles
    /// overlap), with the input index each carries, in increasing position order. A request that chooses
    /// the mask itself chooses it at these positions (LinearLayerClient.offlineRequest(choosingMaskFor:)).
    public func firstOccurrences() -> [[(position: Int, input: Int)]] {
        var seen = [Bool](repeating: false, count: shape.inputCount)
        return (0..<uploadCount).map { index in
            let tile = index / channelBlocks, cb = index % channelBlocks
            let i0 = (tile / tilesAcross) * tileHeight, j0 = (tile % tilesAcross) * tileWidth
            var out: [(Int, Int)] = []
            for cl in 0..<channelBlock {
                for i in 0..<blockHeight {
                    for j in 0..<blockWidth {
                        guard let input = transformedIndex(cb * channelBlock + cl, i0 + i, j0 + j), !seen[input] else { continue }
                        seen[input] = true
                        out.append(((cl * blockHeight + i) * blockWidth + j, input))
                    }
                }
            }
            return out
        }
    }

    /// Weight of the rewritten kernel K'[o][c'][di][dj], zero outside.
    @inline(__always) func transformedWeight(_ w: [Int64], _ o: Int, _ c: Int, _ di: Int, _ dj: Int) -> Int64 {
        switch shape.kind {
        case .dense:
            return w[o * channels + c]
        case .convolution(_, let kh, let kw, let s, _):
            let c0 = c / (s * s), phase = c % (s * s)
            let ki = s * di + phase / s, kj = s * dj + phase % s
            guard ki < kh, kj < kw else { return 0 }
            return w[((o * shape.inputChannels + c0) * kh + ki) * kw + kj]
        }
    }

    /// The plaintext of upload `index` (tile-major, then channel block): N ring elements.
    public func inputPolynomial(_ x: [UInt64], upload index: Int) -> [UInt64] {
        let tile = index / channelBlocks, cb = index % channelBlocks
        let i0 = (tile / tilesAcross) * tileHeight, j0 = (tile % tilesAcross) * tileWidth
        var poly = [UInt64](repeating: 0, count: degree)
        for cl in 0..<channelBlock {
            for i in 0..<blockHeight {
                for j in 0..<blockWidth {
                    poly[(cl * blockHeight + i) * blockWidth + j] = transformedInput(x, cb * channelBlock + cl, i0 + i, j0 + j)
                }
            }
        }
        return poly
    }

    /// The kernel polynomial of output group `group` and channel block `cb` (same for every tile).
    func kernelPolynomial(_ w: [Int64], group: Int, channelBlock cb: Int) -> [Int64] {
        var poly = [Int64](repeating: 0, count: degree)
        let hw = blockHeight * blockWidth
        for ol in 0..<channelsPerResponse {
            let o = group * channelsPerResponse + ol
            if o >= outputChannels { break }
            for cl in 0..<channelBlock where cb * channelBlock + cl < channels {
                for di in 0..<kernelHeight {
                    for dj in 0..<kernelWidth {
                        let pos = ol * slot + (channelBlock - 1 - cl) * hw + (kernelHeight - 1 - di) * blockWidth + (kernelWidth - 1 - dj)
                        poly[pos] = transformedWeight(w, o, cb * channelBlock + cl, di, dj)
                    }
                }
            }
        }
        return poly
    }

    /// Coefficient positions of response `index` (tile-major, then group) that carry outputs, with
    /// the output index ([M][Ho][Wo]) each one carries, in increasing output order.
    public func outputPositions(response index: Int) -> [(position: Int, output: Int)] {
        let tile = index / groups, g = index % groups
        let i0 = (tile / tilesAcross) * tileHeight, j0 = (tile % tilesAcross) * tileWidth
        var out: [(Int, Int)] = []
        let hw = blockHeight * blockWidth
        for ol in 0..<channelsPerResponse {
            let o = g * channelsPerResponse + ol
            if o >= outputChannels { break }
            for oi in 0..<tileHeight where i0 + oi < outputHeight {
                for oj in 0..<tileWidth where j0 + oj < outputWidth {
                    let pos = ol * slot + (channelBlock - 1) * hw + (oi + kernelHeight - 1) * blockWidth + (oj + kernelWidth - 1)
                    out.append((pos, (o * outputHeight + i0 + oi) * outputWidth + j0 + oj))
                }
            }
        }
        return out
    }

    /// A 32-bit fingerprint of the plan and parameters, sent with messages to catch mismatches.
    var fingerprint: UInt32 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for v in [degree, channels, height, width, kernelHeight, kernelWidth, outputChannels, outputHeight,
                  outputWidth, stride, padding, channelBlock, blockHeight, blockWidth, channelsPerResponse,
                  shape.inputChannels, shape.inputHeight, shape.inputWidth, shape.weightBits, shape.plaintextBits] {
            h = (h ^ UInt64(v)) &* 0x100_0000_01b3
        }
        return UInt32(truncatingIfNeeded: h ^ (h >> 32))
    }
}
