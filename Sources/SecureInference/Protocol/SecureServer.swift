// The server's side of Sibyl's two-party inference (semi-honest): it holds the weights and learns
// nothing about the client's input. Protocol (Sources/SecureInference/README.md): the client's share of
// every tensor is fixed offline, so linear layers cost nothing online; ReLUs are garbled circuits whose
// client inputs come by OT offline (Delphi, Mishra et al. USENIX Security 2020), or with `--relu ot` a
// millionaires' comparison and multiplexer whose OTs all run offline (TwoParty.OTReLU); squares use an OT-based
// OLE offline and one round trip online (TwoParty.OneRoundSquare); polynomials of degree >= 3 use
// HE-batched OLEs over three primes offline (Lattice.PrimeOLE, the client's key set up once per session)
// and one round trip online (TwoParty.OneRoundPolynomial); truncations are local (SecureML), exact up to
// one unit in the last place.
import Foundation
import Lattice
import ModularMath
import NetworkCost
import NetworkPlan
import Transport
import TwoParty

/// How a session evaluates ReLUs (`sibyl evaluate --relu`, `sibyl serve --relu`): the cost vocabulary's
/// enum, so that the planner predicts for the same choice.
public typealias ReLUProtocol = NetworkCost.ReLUProtocol

/// What the server shows a client when it connects: the architecture without weights.
public struct PublicArchitecture: Codable, Sendable, Equatable {
    /// Always the public view (no weights): set only by `init`.
    public private(set) var program: FixedPointProgram
    public var input: InputSpec
    public var classNames: [String]
    public var planName: String
    /// The BFV parameters both parties use for this plan.
    public var heParameters: HEParameterSet
    /// The correlated-OT source the server runs (`OTScheme.name`); nil: IKNP, as servers announced before
    /// the field existed. The client must run the same.
    public var ot: String?
    /// The ReLU protocol the server runs; nil: garbled circuits, as servers announced before the field existed.
    public var relu: ReLUProtocol?
    /// The ReLU protocol both sessions run.
    public var reluProtocol: ReLUProtocol { relu ?? .garbled }

    /// Throws when no parameter set holds the plan's layers.
    public init(program: FixedPointProgram, input: InputSpec, classNames: [String], planName: String) throws {
        self.program = program.publicView()
        self.input = input
        self.classNames = classNames
        self.planName = planName
        heParameters = try HEParameterSet.select(for: program)
    }
}

extension FixedPointProgram {
    /// The correlated OTs one image's OT-based ReLUs take, per direction (none with garbled ReLUs).
    func otReLUCorrelations(_ reluProtocol: ReLUProtocol) -> (forward: Int, reverse: Int) {
        guard reluProtocol == .ot else { return (0, 0) }
        var total = (forward: 0, reverse: 0)
        for case .relu(let output, _, let valueBits, let shift, _) in steps {
            let layer = OTReLU.correlatedOTs(count: tensors[output].shape.elements, valueBits: valueBits, truncation: shift)
            total = (total.forward + layer.forward, total.reverse + layer.reverse)
        }
        return total
    }
}

/// The server's per-image offline material.
struct ServerOfflineState {
    /// Per linear step output: the sum of the HE shares s (the client holds L c - s).
    var linearMasks: [Int: [UInt64]] = [:]
    var relus: [Int: ReLUGarblerBatch] = [:]
    var squares: [Int: OneRoundSquare.ServerState] = [:]
    /// Per polynomial output: the masks and OLE shares of the one-round polynomial.
    var polynomials: [Int: OneRoundPolynomial.ServerState] = [:]
    /// Per OT-based ReLU output: its correlations, made offline.
    var otReLUs: [Int: OTReLU.ServerPreparation] = [:]
}

/// Sibyl's server session: BFV linear layers, IKNP OTs.
public typealias SecureServerSession = ServerSession<BFVLinearScheme, IKNPScheme>

/// One server connection: set up once (HE keys, base OTs), then any number of images. Generic over the
/// linear-layer primitive and the OT source (ProtocolSchemes.swift), so tests run it over stand-ins too.
public final class ServerSession<Linear: LinearLayerScheme, OT: OTScheme> {
    public let program: FixedPointProgram
    let architecture: PublicArchitecture
    let channel: any Channel
    let linearServer: Linear.Server
    let prepared: [Int: [Linear.Server.Prepared]]
    /// The correlated OT (nil for programs with neither ReLUs nor squares: no OT setup at all).
    let ot: (any CorrelatedOTSender)?
    /// The OT with the client as sender, for the OT-based ReLU's multiplexer (nil with garbled ReLUs).
    let reverse: (any CorrelatedOTReceiver)?
    /// The polynomials' batched OLE (nil for programs without polynomial steps).
    let ole: PrimeOLEServer?
    /// The garbled-circuit tweaks used so far under the OT's Δ, every garbled ReLU layer's offset.
    var tweaks = TweakSpace()
    var reluProtocol: ReLUProtocol { architecture.reluProtocol }

    /// Runs the whole session setup with a connected client: the handshake (`greet`), admission at once,
    /// then the HE setup and base OTs. `prepared` caches the HE-encoded weights across sessions.
    public convenience init(program: FixedPointProgram, architecture: PublicArchitecture, channel: any Channel,
                            prepared: PreparedLayers<Linear.Server>) throws {
        let setup = try Self.greet(channel: channel, program: program, architecture: architecture)
        try self.init(program: program, architecture: architecture, channel: channel, prepared: prepared, setup: setup)
    }

    /// The handshake: sends the public architecture and returns the client's HE setup message. Cheap
    /// for the server (nothing is computed), so `InferenceServer` runs it before a client gets a slot.
    public static func greet(channel: any Channel, program: FixedPointProgram, architecture: PublicArchitecture) throws -> [UInt8] {
        // Nothing a client legitimately sends is large (HE uploads are about 1 MB per layer, masked
        // tensors 8 bytes per element), so a hostile length field cannot make the server allocate much.
        channel.maxFrameLength = maximumClientFrame(program)
        let encoded = try JSONEncoder().encode(architecture)
        try channel.sendMessage(type: ProtocolMessage.hello, [UInt8](encoded))
        try channel.flush()
        return try channel.receiveMessage(expecting: ProtocolMessage.heSetup)
    }

    /// Tells a client that will not be served why, and closes the connection (best effort: the peer
    /// may already be gone).
    public static func decline(channel: any Channel, reason: String) {
        try? channel.sendMessage(type: ProtocolMessage.busy, Array(reason.utf8.prefix(ProtocolMessage.busyReasonLimit)))
        try? channel.flush()
        channel.close()
    }

    /// Admits a client whose handshake is done: tells it so, then sets up HE and runs base OTs.
    public init(program: FixedPointProgram, architecture: PublicArchitecture, channel: any Channel,
                prepared: PreparedLayers<Linear.Server>, setup: [UInt8]) throws {
        self.program = program
        self.architecture = architecture
        self.channel = channel
        channel.maxFrameLength = Self.maximumClientFrame(program)
        try channel.sendMessage(type: ProtocolMessage.admitted, [UInt8]())
        try channel.flush()
        linearServer = try Linear.server(parameters: architecture.heParameters, setup: setup)
        self.prepared = try prepared.layers(for: linearServer)
        ot = program.needsOT ? try OT.sender(channel: channel) : nil
        reverse = program.needsOT && architecture.reluProtocol == .ot ? try OT.lightReceiver(channel: channel) : nil
        // The memory each image's OT-ReLU COTs take, faulted in once per session (ClientSession too).
        let correlations = program.otReLUCorrelations(architecture.reluProtocol)
        ot?.reserveStorage(forBatchesOf: correlations.forward)
        reverse?.reserveStorage(forBatchesOf: correlations.reverse)
        ole = program.hasPolynomials
            ? try PrimeOLEServer(context: .standard, setupMessage: try channel.receiveMessage(expecting: ProtocolMessage.oleSetup))
            : nil
    }

    /// The largest frame a client may send: 16 MiB, or more for programs with huge tensors or polynomial
    /// layers whose OLE requests (21 bytes per slot per power and plaintext prime) need more.
    static func maximumClientFrame(_ program: FixedPointProgram) -> UInt64 {
        let largest = program.tensors.map(\.shape.elements).max() ?? 0
        var frame = max(16 << 20, UInt64(largest) * 8 * 4)
        for step in program.steps {
            if case .polynomial(let output, _, let degree, _, _, _) = step {
                let slots = (program.tensors[output].shape.elements + 8191) / 8192 * 8192
                frame = max(frame, UInt64(slots * degree * OneRoundPolynomial.residues.moduli.count * 22 + 4096))
            }
        }
        return frame
    }

    /// Offline phase for one image.
    func offline() throws -> ServerOfflineState {
        var state = ServerOfflineState()
        // The client may send a run of requests before it reads the first one's response
        // (FixedPointProgram+Pipelining.swift): each is read when its turn comes and answered at once, so
        // responses flow while requests still arrive; before an exchange of its own, the server reads the
        // requests the client sent ahead of it.
        let early = program.earlyRequests(reluProtocol: reluProtocol)
        var requests: [[UInt8]] = []
        var read = 0, answered = 0
        func readAhead(through last: Int) throws {
            while read <= last {
                requests.append(try channel.receiveMessage(expecting: ProtocolMessage.linearRequest))
                read += 1
            }
        }
        func beforeExchange() throws {
            if answered > 0 { try readAhead(through: FixedPointProgram.endOfEarlyRun(after: answered - 1, early: early)) }
        }
        for (index, step) in program.steps.enumerated() {
            switch step {
            case .linear(let output, let terms, _, _):
                var mask = [UInt64](repeating: 0, count: program.tensors[output].shape.elements)
                for (t, _) in terms.enumerated() {
                    try readAhead(through: answered)
                    let (response, share) = try linearServer.offlineResponse(request: requests.removeFirst(), layer: prepared[index]![t])
                    answered += 1
                    try channel.sendMessage(type: ProtocolMessage.linearResponse, response)
                    try channel.flush()
                    for i in mask.indices { mask[i] &+= share[i] }
                }
                state.linearMasks[output] = mask
            case .truncate:
                break   // local truncation: nothing to prepare
            case .relu where reluProtocol == .ot:
                break   // prepared after the loop
            case .relu(let output, _, let valueBits, let shift, _):
                try beforeExchange()
                let count = program.tensors[output].shape.elements
                // The garbler's free-XOR offset is the OT's own Δ, so the client's input labels are the correlated
                // OTs themselves: zero-label q_j, the client's label q_j ⊕ bit·Δ (no message beyond the OT's;
                // 16 bytes per label before, the correlated-label OT's correction). Layers share Δ, so each
                // takes tweaks no other layer of the session uses.
                let relu = try ReLUCircuit(valueBits: valueBits, truncationBits: shift)
                var garbler = ReLUGarbler(relu, otDelta: ot!.delta, firstCopy: tweaks.reserve(copies: count, of: relu.circuit))
                let zeroLabels = try ot!.correlated(count: count * valueBits)
                let (batch, garbled) = try garbler.garbleOffline(count: count, evaluatorZeroLabels: zeroLabels)
                try channel.sendMessage(type: ProtocolMessage.garbledBatch, batch.serialized())
                try channel.flush()
                state.relus[output] = garbled
            case .square(let output, _, _):
                try beforeExchange()
                state.squares[output] = try OneRoundSquare.serverOffline(count: program.tensors[output].shape.elements, ot: ot!)
            case .polynomial(let output, _, let degree, _, _, _):
                try beforeExchange()
                state.polynomials[output] = try OneRoundPolynomial.serverOffline(
                    count: program.tensors[output].shape.elements, degree: degree, ole: ole!, channel: channel)
            case .add, .gather, .scatter:
                break   // local
            }
            _ = index
        }
        // The OT-based ReLUs, after every linear layer (the HE exchange above stays one pipelined stream):
        // first every COT they take (silent OT iterations back to back), then, layer by layer, everything that
        // does not need the server's shares: the comparison's pads and triples, the multiplexer's random OLEs;
        // the triples' tables go last, once every choice the client sends ahead has been read.
        let correlations = program.otReLUCorrelations(reluProtocol)
        if correlations.forward > 0 {
            try ot!.prepare(correlations.forward)
            try reverse!.prepare(correlations.reverse)
            var prepared: [(output: Int, preparation: OTReLU.ServerPreparation)] = []
            for case .relu(let output, _, let valueBits, let shift, _) in program.steps {
                prepared.append((output, try OTReLU.prepareServer(count: program.tensors[output].shape.elements, valueBits: valueBits,
                                                                  truncation: shift, forward: ot!, reverse: reverse!)))
            }
            for (output, preparation) in prepared {
                try OTReLU.sendTables(preparation, channel: channel)
                state.otReLUs[output] = preparation
            }
        }
        try channel.sendMessage(type: ProtocolMessage.offlineDone, [UInt8]())
        try channel.flush()
        return state
    }

    /// Online phase for one image, with that image's offline state. Exchanges between two barriers
    /// (`FixedPointProgram.onlineBarriers`) share a flight: their messages go out together, then every reply
    /// is read.
    func online(_ state: ServerOfflineState) throws {
        var state = state   // the OT ReLUs' preparations are taken out as they are used (single use)
        var shares = [[UInt64]](repeating: [], count: program.tensors.count)
        shares[FixedPointProgram.input] = try channel.receiveMessage(expecting: ProtocolMessage.maskedInput, UInt64.self,
                                               count: program.inputTensor.shape.elements)
        var pending: [(output: Int, finish: () throws -> [UInt64])] = []
        func settle() throws {
            guard !pending.isEmpty else { return }
            try channel.flush()
            for exchange in pending { shares[exchange.output] = try exchange.finish() }
            pending.removeAll()
        }
        let barriers = program.onlineBarriers
        for (index, step) in program.steps.enumerated() {
            if barriers[index] { try settle() }
            let outShape = program.tensors[step.output].shape
            let channel = self.channel
            switch step {
            case .linear(let output, let terms, let bias, _):
                shares[output] = FixedPointOracle.linear(terms, bias: bias, of: shares, in: program,
                                                         onto: state.linearMasks[output]!, shape: outShape)
            case .add(let output, let a, let shiftA, let b, let shiftB):
                shares[output] = RingKernels.shiftedSum(shares[a], shiftA: shiftA, shares[b], shiftB: shiftB)
            case .truncate(let output, let input, let bits):
                shares[output] = ShareRing.truncate(shares: shares[input], by: bits, party: .server)
            case .relu(let output, let input, _, _, _) where reluProtocol == .ot:
                // Interactive: what is pending goes first; then the client re-shares to the share it fixed
                // offline (its reply joins the next flight).
                try settle()
                let own = try OTReLU.server(shares[input], prepared: state.otReLUs.removeValue(forKey: output)!, channel: channel)   // single use
                pending.append((output, {
                    let correction = try channel.receiveMessage(expecting: ProtocolMessage.reluReshare, UInt64.self,
                                                                count: outShape.elements)
                    return zip(own, correction).map { $0 &+ $1 }
                }))
            case .relu(let output, let input, _, _, _):
                let garbled = state.relus[output]!
                // Streamed in frames, each flushed: the client evaluates one while the next is on the wire.
                for frame in ReLUEvaluator.frames(count: outShape.elements) {
                    try channel.sendBlocks(type: ProtocolMessage.reluServerLabels,
                                           try garbled.onlineLabels(serverShares: shares[input], copies: frame))
                    try channel.flush()
                }
                pending.append((output, {
                    let reply = try channel.receiveMessage(expecting: ProtocolMessage.reluClientReply, UInt64.self,
                                                           count: outShape.elements)
                    return zip(reply, garbled.outputShares).map { $0 &+ $1 }
                }))
            case .square(let output, let input, _):
                let sent = try OneRoundSquare.serverSend(state.squares[output]!, shares: shares[input], channel: channel)
                pending.append((output, { try OneRoundSquare.serverFinish(sent, channel: channel) }))
            case .polynomial(let output, let input, _, let coefficients, let shift, _):
                let sent = try OneRoundPolynomial.serverSend(
                    state.polynomials[output]!, shares: shares[input], coefficients: coefficients,
                    plane: outShape.height * outShape.width, shift: shift, channel: channel)
                pending.append((output, { try OneRoundPolynomial.serverFinish(sent, channel: channel) }))
            case .gather(let output, let input, let channels):
                shares[output] = RingKernels.gather(shares[input], channels: channels, plane: outShape.height * outShape.width)
            case .scatter(let output, let parts):
                shares[output] = RingKernels.scatter(parts.map { (shares[$0.input], $0.channels) }, shape: outShape)
            }
        }
        try settle()
        try channel.sendMessage(type: ProtocolMessage.outputShare, shares[program.output])
        try channel.flush()
    }

    /// Serves images until the client says goodbye; returns how many. A client that just disconnects
    /// between images ends the session the same way.
    @discardableResult
    public func serveAll() throws -> Int {
        var served = 0
        while true {
            let header: FrameHeader
            do { header = try channel.receiveHeader() } catch TransportError.peerClosed { return served }
            switch header.type {
            case ProtocolMessage.goodbye:
                return served
            case ProtocolMessage.imageRequest where header.length == 0:
                let state = try offline()
                try online(state)
                served += 1
            default:
                throw SecureInferenceError.protocolFailure(
                    "unexpected message type \(header.type) (\(header.length) bytes) where an image request was expected")
            }
        }
    }
}

/// The prepared weights of every linear term (HE-encoded for BFV), made once per model (they depend only on
/// the weights and the HE parameters, which every session of a server shares) and shared by all sessions.
public final class PreparedLayers<Server: LinearLayerOfflineServer>: @unchecked Sendable {
    public let program: FixedPointProgram
    private var cache: [Int: [Server.Prepared]]?
    private let lock = NSLock()

    public init(program: FixedPointProgram) { self.program = program }

    func layers(for server: Server) throws -> [Int: [Server.Prepared]] {
        lock.lock()
        defer { lock.unlock() }
        if let cache { return cache }
        var result: [Int: [Server.Prepared]] = [:]
        for (index, shapes) in try program.linearShapes() {
            guard case .linear(_, let terms, _, _) = program.steps[index] else { continue }
            result[index] = try zip(terms, shapes).map { term, shape in
                let layer = try LinearLayer(shape: shape, weights: LinearLowering.weights(of: term.map, input: program.tensors[term.input].shape))
                return try server.prepare(layer)
            }
        }
        cache = result
        return result
    }
}
