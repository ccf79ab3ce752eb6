// The server's side of the HE linear-layer primitive: from the client's encrypted mask Enc(r) it
// computes Enc(L r - s) for its weights L and a fresh random share s, rerandomises and floods the
// result (circuit privacy), switches it to small power-of-two moduli and sends only what the client
// needs.
//
// Circuit privacy (semi-honest client, 40-bit statistical + RLWE):
// - c1: the product alone has c1 = sum_j K_j a_j, a fixed linear function of the client's known a_j,
//   which would reveal the kernels K_j. Flooding c0 does not help with that, and with secret-key
//   encryption the server cannot create encryptions of zero itself. So the client sends once per
//   session a rerandomisation key (b, a') = (-a' s + e', a'), an encryption of zero, and the server adds
//   (b u + e0, a' u + e1) with a fresh ternary u and fresh errors e0, e1 to every response (the
//   public-key encryption of zero of Lyubashevsky-Peikert-Regev/SEAL). a' u + e1 is an RLWE sample with
//   secret u, so the response's c1 is pseudorandom and independent of K.
// - c0: the decryption noise is E = sum_j K_j (e_j + eps_j) + e' u + e0 + s e1 - eps_s, which depends
//   on K and u. The server adds to every revealed c0 coefficient a uniform integer from
//   [-2^f, 2^f) with 2^f >= 2^40 B, B the public bound on |E| (from the layer's shape and weight
//   bound), so each revealed coefficient is within statistical distance 2^-40 of one that depends only
//   on L r - s (summed over the n revealed coefficients of a layer: n 2^-40).
// - Only the output coefficients of c0 are sent; the others (partial sums) are never revealed.
// Modulus switching then rounds c1 to 2^c1Bits and the revealed c0 to 2^c0Bits (a public function of
// the flooded ciphertext, so it reveals nothing more).

import ModularMath

/// The server of the HE linear layer.
public final class LinearLayerServer: Sendable {
    public let context: BFVContext
    /// The client's rerandomisation key in evaluation form.
    let keyB: PolyRq<Eval>
    let keyA: PolyRq<Eval>

    /// Reads the client's setup message (its rerandomisation key).
    public init(context: BFVContext, setupMessage: [UInt8]) throws {
        self.context = context
        var r = MessageReader(setupMessage)
        try LinearLayerMessage.readHeader(&r, .setup, fingerprint: nil)
        let seed = try PRGSeed(bytes: try r.raw(32))
        let b: PolyRq<Coeff> = try context.readPolynomial(from: &r)
        try r.expectEnd()
        keyB = b.forwardNTT()
        keyA = context.uniformHalf(seed: seed, index: 0, purpose: .publicKeyHalf)
    }

    /// Encodes a layer's kernel polynomials in evaluation form. They depend only on the weights, so a
    /// server prepares each layer once per model and reuses it for every request.
    public func prepare(_ layer: LinearLayer) throws -> PreparedLinearLayer {
        let plan = try LinearLayerPlan(shape: layer.shape, parameters: context.parameters)
        var kernels: [[PolyRq<Eval>]] = []
        for g in 0..<plan.groups {
            kernels.append(try (0..<plan.channelBlocks).map { cb in
                try context.plaintext(weights: plan.kernelPolynomial(layer.weights, group: g, channelBlock: cb))
            })
        }
        return PreparedLinearLayer(layer: layer, plan: plan, kernels: kernels, ring: context.ring)
    }

    /// Answers a request for an unprepared layer (prepares it first; see `prepare`).
    public func offlineResponse(request: [UInt8], layer: LinearLayer) throws -> (message: [UInt8], serverShare: [UInt64]) {
        try offlineResponse(request: request, layer: try prepare(layer))
    }

    /// Answers a request: returns the response message and the server's share s (layout [M][Ho][Wo]),
    /// so that the client decrypts L r - s (modulo 2^plaintextBits of the shape).
    /// Message: version, type, fingerprint, response count, then per response c1 (N values of
    /// c1Bits) and the output coefficients of c0 (c0Bits each), bit-packed.
    public func offlineResponse(request: [UInt8], layer prepared: PreparedLinearLayer) throws -> (message: [UInt8], serverShare: [UInt64]) {
        let ctx = context
        let params = ctx.parameters
        let n = params.degree
        guard prepared.ring === ctx.ring else {
            throw LatticeError.invalidParameters("the layer was prepared by a server with another context")
        }
        let plan = prepared.plan
        let kernels = prepared.kernels
        let fp = ctx.fingerprint(plan)

        let widths = try ResponseWidths(plan: plan, context: ctx)
        let floodBits = widths.floodBits

        // Parse the request.
        var r = MessageReader(request)
        try LinearLayerMessage.readHeader(&r, .request, fingerprint: fp)
        let seed = try PRGSeed(bytes: try r.raw(32))
        let count = Int(try r.uint32())
        guard count == plan.uploadCount else {
            throw LatticeError.malformedInput("request has \(count) ciphertexts, the plan needs \(plan.uploadCount)")
        }
        let mode = try r.byte()
        guard mode <= 1 else { throw LatticeError.malformedInput("request mode \(mode) is neither 0 (given mask) nor 1 (chosen mask)") }
        let b = widths.requestBits, switched = b < ctx.modulusBitLength
        let compactWidth = ctx.compactRequestBits(plaintextBits: plan.shape.plaintextBits, requestBits: b)
        guard mode == 0 || compactWidth != nil else {
            throw LatticeError.malformedInput("request mode 1 (compact) for a plaintext modulus that has no compact form")
        }
        let firsts = mode == 1 ? plan.firstOccurrences() : []
        let needed = ctx.requestBytes(plan: plan, firsts: mode == 1 ? firsts : nil, requestBits: b)
        guard request.count >= needed else { throw LatticeError.truncatedMessage(expected: needed, actual: request.count) }
        let width = compactWidth ?? 0
        let inverses = switched ? try ctx.powerOfTwoInverses(bits: b) : []
        var c0s: [PolyRq<Eval>] = []
        var c1s: [PolyRq<Eval>] = []
        for j in 0..<count {
            var c0 = PolyRq<Coeff>.zero(ctx.ring)
            var compact = [Bool](repeating: false, count: n)
            func set(_ position: Int, residues: [UInt64]) { for i in residues.indices { c0.data[i * n + position] = residues[i] } }
            // Compact coefficients first (two's complement, |c0_p| < 2^(width - 1)), then the others.
            for (position, _) in mode == 1 ? firsts[j] : [] {
                compact[position] = true
                let bits = try r.bits(width: width)
                let negative = bits >> UInt128(width - 1) != 0
                if switched {
                    // Back to c0 mod 2^b: the value itself, or 2^b minus its magnitude.
                    let value = negative ? (UInt128(1) << UInt128(b)) - ((UInt128(1) << UInt128(width)) - bits) : bits
                    ctx.switchBack(value, bits: b, inverses: inverses, into: &c0, position: position)
                } else {
                    let magnitude = negative ? (UInt128(1) << UInt128(width)) - bits : bits
                    set(position, residues: ctx.moduli.indices.map { i in
                        let residue = ctx.reduce128(magnitude, prime: i)
                        return negative ? ctx.moduli[i].negate(residue) : residue
                    })
                }
            }
            if switched {
                for p in 0..<n where !compact[p] { ctx.switchBack(try r.bits(width: b), bits: b, inverses: inverses, into: &c0, position: p) }
                r.alignBits()
            } else {
                c0 = try ctx.readPolynomial(from: &r, into: c0, skipping: compact)
            }
            c0s.append(c0.forwardNTT())
            c1s.append(ctx.uniformHalf(seed: seed, index: UInt64(j)))
        }
        try r.expectEnd()

        // Fresh randomness from the OS CSPRNG: the share s, rerandomisation, flooding.
        let rng = PRG(purpose: .rerandomisation)
        var share = [UInt64](repeating: 0, count: plan.shape.outputCount)
        for i in 0..<share.count { share[i] = rng.next() }

        var w = MessageWriter(capacity: widths.responseBytes(plan: plan) + 16)
        LinearLayerMessage.writeHeader(&w, .response, fingerprint: fp)
        w.uint32(UInt32(plan.responseCount))
        let b0 = widths.c0Bits, b1 = widths.c1Bits
        for resp in 0..<plan.responseCount {
            let tile = resp / plan.groups, g = resp % plan.groups
            // sum over channel blocks of K * (c0, c1), plus a fresh encryption of zero (b u, a' u).
            let u = PolyRq<Coeff>(context: ctx.ring, signed: (0..<n).map { _ in rng.ternary() }).forwardNTT()
            var firsts: [PolyRq<Eval>] = [keyB], seconds: [PolyRq<Eval>] = [keyA], factors: [PolyRq<Eval>] = [u]
            for cb in 0..<plan.channelBlocks {
                let j = tile * plan.channelBlocks + cb
                firsts.append(c0s[j]); seconds.append(c1s[j]); factors.append(kernels[g][cb])
            }
            let (acc0, acc1) = PolyRq<Eval>.dotProducts(firsts, seconds, factors)
            var c0 = acc0.inverseNTT(), c1 = acc1.inverseNTT()
            c0 += ctx.errorPolynomial(prg: rng)
            c1 += ctx.errorPolynomial(prg: rng)

            // Subtract Delta(s) at the output positions and flood them.
            let positions = plan.outputPositions(response: resp)
            var sharePoly = [UInt64](repeating: 0, count: n)
            let low = plan.shape.plaintextMask
            for (pos, output) in positions { sharePoly[pos] = share[output] & low }
            c0 -= try ctx.encode(sharePoly, plaintextBits: plan.shape.plaintextBits)
            ctx.flood(&c0, bits: floodBits, prg: rng, positions: positions.map { $0.position })

            // Modulus switching and compact serialisation.
            let switched = try ctx.switchModulus(Ciphertext(c0: c0, c1: c1), c0Bits: b0, c1Bits: b1,
                                                 positions: positions.map { $0.position })
            for v in switched.c1 { w.bits(v, width: b1) }
            for v in switched.c0 { w.bits(v, width: b0) }
        }
        return (w.finish(), share)
    }
}

extension PRG {
    /// `bits` uniform bits (<= 128) as an unsigned integer.
    func wideBits(_ bits: Int) -> UInt128 {
        let v = UInt128(next()) | UInt128(next()) << 64
        return bits >= 128 ? v : v & ((UInt128(1) << UInt128(bits)) - 1)
    }
}

/// A layer with its kernel polynomials encoded for the server's products (see
/// `LinearLayerServer.prepare`).
public struct PreparedLinearLayer: Sendable {
    public let layer: LinearLayer
    public let plan: LinearLayerPlan
    let kernels: [[PolyRq<Eval>]]
    let ring: RingContext
}
