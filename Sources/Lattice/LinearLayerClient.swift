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
    /// Message: version, type, fingerprint, 32-byte seed, upload count, then one packed c0 per upload.
    public func offlineRequest(r: [UInt64], layer: LinearLayerShape) throws -> (message: [UInt8], state: LinearLayerClientState) {
        guard r.count == layer.inputCount else {
            throw LatticeError.shapeMismatch("mask has \(r.count) values, \(layer) needs \(layer.inputCount)")
        }
        let plan = try LinearLayerPlan(shape: layer, parameters: context.parameters)
        let seed = PRGSeed.random()
        let noise = PRG(purpose: .error)
        var w = MessageWriter()
        LinearLayerMessage.writeHeader(&w, .request, fingerprint: context.fingerprint(plan))
        w.raw(seed.bytes)
        w.uint32(UInt32(plan.uploadCount))
        for j in 0..<plan.uploadCount {
            let m = plan.inputPolynomial(r, upload: j)
            let a = context.uniformHalf(seed: seed, index: UInt64(j))
            let c0 = try context.encryptC0(m, secretKey: secretKey, a: a, noise: noise)
            context.writePolynomial(c0, to: &w)
        }
        return (w.finish(), LinearLayerClientState(plan: plan))
    }

    /// Decrypts the server's response to the client's share L r - s (layout [M][Ho][Wo]).
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
            for (k, value) in try ctx.decrypt(ct, secretKey: secretKey).enumerated() { out[positions[k].output] = value }
        }
        try r.expectEnd()
        return out
    }
}
