// The client's side of the HE linear-layer primitive (Delphi's offline phase, Mishra et al. USENIX
// Security 2020, with Cheetah's coefficient packing): the client encrypts its mask r under its own
// secret key (seeded uniform halves: only c0 and one seed travel) and decrypts L r - s.

import ModularMath

/// What the client keeps between a request and its response.
public struct LinearLayerClientState: Sendable {
    public let plan: LinearLayerPlan
}

/// The client of the HE linear layer: holds the secret key.
public final class LinearLayerClient: Sendable {
    public let context: BFVContext
    let secretKey: SecretKey
    let rerandomisationSeed: PRGSeed

    /// A client with a fresh secret key from the OS CSPRNG.
    public init(context: BFVContext) {
        self.context = context
        self.secretKey = SecretKey(context: context)
        self.rerandomisationSeed = .random()
    }

    /// Once per session, before any request: the rerandomisation key, an encryption of zero
    /// (b = -a s + e, with a expanded from a seed). The server uses it to add fresh encryptions of zero
    /// to its responses, which hides its weights in the responses' c1 (see LinearLayerServer).
    /// Size: version, type, 32-byte seed, one packed polynomial in R_Q.
    public func setupMessage() throws -> [UInt8] {
        let a = context.uniformHalf(seed: rerandomisationSeed, index: 0, purpose: .publicKeyHalf)
        let b = try context.encryptC0([], secretKey: secretKey, a: a, noise: PRG(purpose: .error))
        var w = MessageWriter()
        LinearLayerMessage.writeHeader(&w, .setup, fingerprint: nil)
        w.raw(rerandomisationSeed.bytes)
        context.writePolynomial(b, to: &w)
        return w.finish()
    }

    /// Encrypts the mask r (layout [C][H][W], values in Z_(2^64)) for a layer of the given shape.
    /// Message: version, type, fingerprint, 32-byte seed, upload count, mode 0, then per upload c0: its
    /// residues, or (ResponseWidths.requestBits below Q's bit length) round(2^b c0 / Q) in b bits.
    public func offlineRequest(r: [UInt64], layer: LinearLayerShape) throws -> (message: [UInt8], state: LinearLayerClientState) {
        guard r.count == layer.inputCount else {
            throw LatticeError.shapeMismatch("mask has \(r.count) values, \(layer) needs \(layer.inputCount)")
        }
        let (message, state, _) = try request(given: r, layer: layer)
        return (message, state)
    }

    /// The request for a mask the request chooses itself, returned with it: where an input value first
    /// enters an upload, its mask is the rounding that makes that coefficient of c0 small,
    ///     b = -a s + e,   r_p = -round(t b_p / Q) mod t,   c0_p = b_p + Delta(r_p),   |c0_p| <= Q / (2t) + 1/2,
    /// so c0_p travels in `compactRequestBits` bits instead of log2 Q (69 against 132 at t = 2^64; b - k + 1
    /// against b where the request is switched to 2^b, ResponseWidths.requestBits). Only the low k bits of
    /// r are chosen (t = 2^k, the shape's plaintextBits); the others are drawn from the OS CSPRNG.
    /// The ciphertext is an ordinary encryption of r (same noise, same response). r stays uniform and
    /// hidden from the server: b is pseudorandom (RLWE), and for uniform b_p the pair (r_p, c0_p) is b_p's
    /// split into high and low parts, so r_p given c0_p is uniform up to t / Q per value (2^-68 at
    /// t = 2^64, less below). Inputs in no upload (a strided 1x1 convolution's skipped positions) get
    /// masks from the OS CSPRNG. A t too small to gain (2^2) draws the mask and sends it as given (mode 0).
    /// Message: as `offlineRequest(r:layer:)` with mode 1; per upload the first-occurrence positions'
    /// c0 (LinearLayerPlan.firstOccurrences, two's complement), then the other positions (residues, or
    /// switched values of b bits).
    public func offlineRequest(choosingMaskFor layer: LinearLayerShape) throws
        -> (message: [UInt8], state: LinearLayerClientState, mask: [UInt64]) {
        try request(given: nil, layer: layer)
    }

    private func request(given: [UInt64]?, layer: LinearLayerShape) throws
        -> (message: [UInt8], state: LinearLayerClientState, mask: [UInt64]) {
        let ctx = context
        let plan = try LinearLayerPlan(shape: layer, parameters: ctx.parameters)
        let n = ctx.parameters.degree
        let seed = PRGSeed.random()
        let noise = PRG(purpose: .error)
        var mask = given ?? ShareRing.random(count: layer.inputCount)
        let k = layer.plaintextBits, low = layer.plaintextMask
        // The request's width (ResponseWidths.requestBits: switched to 2^b below Q's bit length L).
        let fullBits = ctx.modulusBitLength
        let b = try ResponseWidths(plan: plan, context: ctx).requestBits, switched = b < fullBits
        // Compact when the request chooses the mask and t has a compact form (not for tiny t: drawn masks then).
        let width = given == nil ? ctx.compactRequestBits(plaintextBits: k, requestBits: b) : nil
        let firsts = width != nil ? plan.firstOccurrences() : []
        let limit = (Int128(1) << Int128((width ?? 2) - 1)) - 1
        // Only the low k bits of the mask enter the product modulo t = 2^k.
        func plaintext(_ j: Int) -> [UInt64] { plan.inputPolynomial(mask, upload: j).map { $0 & low } }
        var w = MessageWriter()
        LinearLayerMessage.writeHeader(&w, .request, fingerprint: ctx.fingerprint(plan))
        w.raw(seed.bytes)
        w.uint32(UInt32(plan.uploadCount))
        w.byte(width != nil ? 1 : 0)
        for j in 0..<plan.uploadCount {
            let a = ctx.uniformHalf(seed: seed, index: UInt64(j))
            var compact = [Bool](repeating: false, count: n)
            let chosen = width == nil ? [] : firsts[j]
            var c0: PolyRq<Coeff>
            if width == nil {
                c0 = try ctx.encryptC0(plaintext(j), plaintextBits: k, secretKey: secretKey, a: a, noise: noise)
            } else {
                c0 = try ctx.encryptC0([], secretKey: secretKey, a: a, noise: noise)   // b = -a s + e
                for (position, input) in firsts[j] {
                    // The low k bits chosen, the others (unused by this layer) left as drawn.
                    mask[input] = mask[input] & ~low | (0 &- ctx.roundToPlaintext(plaintextBits: k) { c0.data[$0 * n + position] }) & low
                }
                c0 += try ctx.encode(plaintext(j), plaintextBits: k)
                for (position, _) in chosen { compact[position] = true }
            }
            // A compact coefficient as sent: c0_p switched to 2^b and centered, or c0_p itself.
            func small(_ position: Int) -> Int128 {
                if switched {
                    let x = ctx.switchToPowerOfTwo(bits: b) { c0.data[$0 * n + position] }
                    return x >> UInt128(b - 1) == 0 ? Int128(x) : Int128(x) - (Int128(1) << Int128(b))
                }
                return Int128(bitPattern: ctx.centeredLiftLow128 { c0.data[$0 * n + position] })
            }
            // Compact coefficients first (two's complement), then the others (switched, or residues).
            for (position, input) in chosen {
                var x = small(position)
                if x.magnitude > limit.magnitude {
                    // Only when the fixed-point rounding of t b_p / Q met a tie within 2^-60: one step of
                    // r_p moves c0_p by Q / t back into range.
                    let before = try ctx.encode(Self.single(mask[input] & low, at: position), plaintextBits: k)
                    let step = x > 0 ? mask[input] &- 1 : mask[input] &+ 1
                    mask[input] = mask[input] & ~low | step & low
                    let after = try ctx.encode(Self.single(mask[input] & low, at: position), plaintextBits: k)
                    for i in 0..<ctx.moduli.count {
                        let m = ctx.moduli[i], index = i * n + position
                        c0.data[index] = m.add(m.subtract(c0.data[index], before.data[index]), after.data[index])
                    }
                    x = small(position)
                }
                guard x.magnitude <= limit.magnitude, let width else {
                    throw LatticeError.malformedInput("request coefficient \(x) exceeds \(width ?? 0) bits (t = 2^\(k), b = \(b); internal error)")
                }
                w.bits(UInt128(bitPattern: x) & ((UInt128(1) << UInt128(width)) - 1), width: width)
            }
            if switched {
                for p in 0..<n where !compact[p] { w.bits(ctx.switchToPowerOfTwo(bits: b) { c0.data[$0 * n + p] }, width: b) }
                w.flushBits()
            } else {
                ctx.writePolynomial(c0, to: &w, skipping: compact)
            }
        }
        return (w.finish(), LinearLayerClientState(plan: plan), mask)
    }

    private static func single(_ value: UInt64, at position: Int) -> [UInt64] {
        var m = [UInt64](repeating: 0, count: position + 1)
        m[position] = value
        return m
    }

    /// Decrypts the server's response to the client's share L r - s (layout [M][Ho][Wo]), modulo
    /// 2^plaintextBits of the layer's shape.
    public func decodeResponse(_ message: [UInt8], state: LinearLayerClientState) throws -> [UInt64] {
        let plan = state.plan
        let ctx = context
        let n = ctx.parameters.degree
        let widths = try ResponseWidths(plan: plan, context: ctx)
        let b0 = widths.c0Bits, b1 = widths.c1Bits
        var r = MessageReader(message)
        try LinearLayerMessage.readHeader(&r, .response, fingerprint: ctx.fingerprint(plan))
        let count = Int(try r.uint32())
        guard count == plan.responseCount else {
            throw LatticeError.malformedInput("response has \(count) ciphertexts, the plan needs \(plan.responseCount)")
        }
        let needed = r.offset + widths.responseBytes(plan: plan)
        guard message.count >= needed else { throw LatticeError.truncatedMessage(expected: needed, actual: message.count) }
        var out = [UInt64](repeating: 0, count: plan.shape.outputCount)
        for resp in 0..<count {
            let positions = plan.outputPositions(response: resp)
            let c1 = try (0..<n).map { _ in try r.bits(width: b1) }
            let c0 = try positions.map { _ in try r.bits(width: b0) }
            let ct = try SwitchedCiphertext(c0Bits: b0, c1Bits: b1, positions: positions.map { $0.position }, c0: c0, c1: c1)
            for (k, value) in try ctx.decrypt(ct, secretKey: secretKey, plaintextBits: plan.shape.plaintextBits).enumerated() {
                out[positions[k].output] = value
            }
        }
        try r.expectEnd()
        return out
    }
}
