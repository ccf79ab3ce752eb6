// The two roles of the offline linear-layer primitive as protocols, so that the secure-inference layer
// and its tests can swap the HE implementation for the insecure stand-in below (same messages in
// shape, no cryptography, fast).

/// The client of the offline linear-layer primitive: sends its mask r, receives L r - s.
public protocol LinearLayerOfflineClient: Sendable {
    /// Once per session, before any request.
    func setupMessage() throws -> [UInt8]
    /// The request for mask r (layout [C][H][W]).
    func offlineRequest(r: [UInt64], layer: LinearLayerShape) throws -> (message: [UInt8], state: LinearLayerClientState)
    /// The request for a mask it chooses itself (uniform, as if drawn), returned with it.
    func offlineRequest(choosingMaskFor layer: LinearLayerShape) throws
        -> (message: [UInt8], state: LinearLayerClientState, mask: [UInt64])
    /// The client's share L r - s (layout [M][Ho][Wo]).
    func decodeResponse(_ message: [UInt8], state: LinearLayerClientState) throws -> [UInt64]
}

extension LinearLayerOfflineClient {
    /// A mask from the OS CSPRNG, requested as given (for implementations with nothing to gain).
    public func offlineRequest(choosingMaskFor layer: LinearLayerShape) throws
        -> (message: [UInt8], state: LinearLayerClientState, mask: [UInt64]) {
        let mask = ShareRingRandom.words(layer.inputCount)
        let (message, state) = try offlineRequest(r: mask, layer: layer)
        return (message, state, mask)
    }
}

/// The server of the offline linear-layer primitive: answers with L r - s and keeps s. `prepare` turns a
/// layer's weights into what responses are computed from (HE-encoded weights for BFV), once per model.
public protocol LinearLayerOfflineServer: Sendable {
    associatedtype Prepared: Sendable
    func prepare(_ layer: LinearLayer) throws -> Prepared
    func offlineResponse(request: [UInt8], layer: Prepared) throws -> (message: [UInt8], serverShare: [UInt64])
}

extension LinearLayerOfflineServer {
    /// A response for an unprepared layer (prepares it for this one request).
    public func offlineResponse(request: [UInt8], unprepared layer: LinearLayer) throws -> (message: [UInt8], serverShare: [UInt64]) {
        try offlineResponse(request: request, layer: prepare(layer))
    }
}

extension LinearLayerClient: LinearLayerOfflineClient {}
extension LinearLayerServer: LinearLayerOfflineServer {}

/// INSECURE stand-in for tests: the request carries r in the clear and the response L r - s in the
/// clear (8 bytes per value, same framing as the HE messages). Never use it outside tests.
public struct InsecureLinearLayerClient: LinearLayerOfflineClient {
    public init() {}

    public func setupMessage() throws -> [UInt8] {
        var w = MessageWriter()
        w.byte(InsecureLinearLayerClient.version)
        w.byte(LinearLayerMessage.Kind.setup.rawValue)
        return w.finish()
    }

    public func offlineRequest(r: [UInt64], layer: LinearLayerShape) throws -> (message: [UInt8], state: LinearLayerClientState) {
        guard r.count == layer.inputCount else {
            throw LatticeError.shapeMismatch("mask has \(r.count) values, \(layer) needs \(layer.inputCount)")
        }
        let plan = try LinearLayerPlan(shape: layer, parameters: .default)
        var w = MessageWriter(capacity: 10 + 8 * r.count)
        w.byte(InsecureLinearLayerClient.version)
        w.byte(LinearLayerMessage.Kind.request.rawValue)
        w.uint32(plan.fingerprint)
        w.uint32(UInt32(r.count))
        for v in r { w.bits(v, width: 64) }
        return (w.finish(), LinearLayerClientState(plan: plan))
    }

    public func decodeResponse(_ message: [UInt8], state: LinearLayerClientState) throws -> [UInt64] {
        var rd = MessageReader(message)
        try InsecureLinearLayerClient.readHeader(&rd, .response, fingerprint: state.plan.fingerprint)
        let count = Int(try rd.uint32())
        guard count == state.plan.shape.outputCount else {
            throw LatticeError.malformedInput("response has \(count) values, the layer has \(state.plan.shape.outputCount) outputs")
        }
        let out = try (0..<count).map { _ in try rd.bits64(width: 64) }
        try rd.expectEnd()
        return out
    }

    /// Version byte of the insecure messages (distinct from the HE messages' version).
    static let version: UInt8 = 0xee

    static func readHeader(_ r: inout MessageReader, _ kind: LinearLayerMessage.Kind, fingerprint: UInt32) throws {
        let v = try r.byte()
        guard v == version else { throw LatticeError.unsupportedVersion(found: v, supported: version) }
        let k = try r.byte()
        guard k == kind.rawValue else { throw LatticeError.unexpectedMessageType(found: k, expected: kind.rawValue) }
        let f = try r.uint32()
        guard f == fingerprint else { throw LatticeError.malformedInput("message is for another layer") }
    }
}

/// INSECURE stand-in server for tests (see `InsecureLinearLayerClient`).
public struct InsecureLinearLayerServer: LinearLayerOfflineServer {
    public init() {}

    public func prepare(_ layer: LinearLayer) throws -> LinearLayer { layer }

    public func offlineResponse(request: [UInt8], layer: LinearLayer) throws -> (message: [UInt8], serverShare: [UInt64]) {
        let plan = try LinearLayerPlan(shape: layer.shape, parameters: .default)
        var rd = MessageReader(request)
        try InsecureLinearLayerClient.readHeader(&rd, .request, fingerprint: plan.fingerprint)
        let count = Int(try rd.uint32())
        guard count == layer.shape.inputCount else {
            throw LatticeError.malformedInput("request has \(count) values, the layer has \(layer.shape.inputCount) inputs")
        }
        let r = try (0..<count).map { _ in try rd.bits64(width: 64) }
        try rd.expectEnd()
        let y = try layer.applyReference(r)
        let share = ShareRingRandom.words(y.count)
        var w = MessageWriter(capacity: 10 + 8 * y.count)
        w.byte(InsecureLinearLayerClient.version)
        w.byte(LinearLayerMessage.Kind.response.rawValue)
        w.uint32(plan.fingerprint)
        w.uint32(UInt32(y.count))
        for (v, s) in zip(y, share) { w.bits((v &- s) & layer.shape.plaintextMask, width: 64) }   // modulo t, as BFV
        return (w.finish(), share)
    }
}

/// Uniform words from the OS CSPRNG (through ChaCha20).
enum ShareRingRandom {
    static func words(_ n: Int) -> [UInt64] {
        let prg = PRG(purpose: .rerandomisation)
        return (0..<n).map { _ in prg.next() }
    }
}
