// The client's side of Sibyl's two-party inference: it holds the input image and learns only the
// logits. See SecureServer.swift for the protocol.
import Foundation
import Lattice
import ModularMath
import NetworkPlan
import Transport
import TwoParty

/// The client's per-image offline material.
struct ClientOfflineState {
    /// The client's share of every tensor (fixed offline; the input's is the mask it subtracts).
    var shares: [[UInt64]]
    var relus: [Int: (batch: GarbledBatch, labels: [Block], evaluator: ReLUEvaluator)] = [:]
    var squares: [Int: OneRoundSquare.ClientState] = [:]
    var polynomials: [Int: OneRoundPolynomial.ClientState] = [:]
    /// Per OT-based ReLU output: its correlations, made offline from the client's input share.
    var otReLUs: [Int: OTReLU.ClientPreparation] = [:]
}

/// Costs of one image, by phase.
public struct ImageCosts: Codable, Sendable, Hashable {
    public var offline: PhaseStats
    public var online: PhaseStats
}

/// Sibyl's client session: BFV linear layers, IKNP OTs.
public typealias SecureClientSession = ClientSession<BFVLinearScheme, IKNPScheme>

/// The client's side of a connection, generic like `ServerSession`.
public final class ClientSession<Linear: LinearLayerScheme, OT: OTScheme> {
    public let architecture: PublicArchitecture
    public var program: FixedPointProgram { architecture.program }
    let channel: any Channel
    let linearClient: Linear.Client
    /// The correlated OT (nil for programs with neither ReLUs nor squares: no OT setup at all).
    let ot: (any CorrelatedOTReceiver)?
    /// The OT with this side as sender, for the OT-based ReLU's multiplexer (nil with garbled ReLUs).
    let reverse: (any CorrelatedOTSender)?
    /// The polynomials' batched OLE (nil for programs without polynomial steps).
    let ole: PrimeOLEClient?
    var reluProtocol: ReLUProtocol { architecture.reluProtocol }
    /// The HE shape of every linear term (`FixedPointProgram.linearShapes`), lowered once per session.
    let linearShapes: [Int: [LinearLayerShape]]
    /// Per tensor: whether the client's share is drawn rather than derived (the input's mask, the output of
    /// a ReLU, square or polynomial); see `share` and `sendRequest`.
    let drawnShares: [Bool]

    /// Connects the session: receives the public architecture and validates it before anything is
    /// sized by it, lets `admit` refuse it (e.g. a plan for another dataset) before the server does any
    /// work, sends the HE setup (with the parameter set the server announced), waits to be admitted (a
    /// busy server says so: `.serverBusy`), runs base OTs. The client trusts nothing the server
    /// announces: frames are limited to 4 MiB until the program is known, then to what it needs.
    public convenience init(channel: any Channel, admit: (PublicArchitecture) throws -> Void = { _ in }) throws {
        try self.init(channel: channel, architecture: try Self.handshake(channel: channel, admit: admit))
    }

    /// The first half of connecting: receives and validates the server's architecture (frames limited to
    /// 4 MiB until then, to what the program needs after) and lets `admit` refuse it. A client that picks
    /// its session type by the announced OT (`PublicArchitecture.ot`) calls this, then `init(channel:architecture:)`.
    public static func handshake(channel: any Channel, admit: (PublicArchitecture) throws -> Void = { _ in }) throws -> PublicArchitecture {
        channel.maxFrameLength = ProtocolMessage.helloLimit
        let architecture = try Self.architecture(hello: try Self.receiveUnlessBusy(channel, expecting: ProtocolMessage.hello))
        channel.maxFrameLength = Self.maximumServerFrame(architecture.program)
        try admit(architecture)
        return architecture
    }

    /// The second half: the HE setup, admission, and the OT setup of this session's scheme, which must be
    /// the one the server announced.
    public init(channel: any Channel, architecture: PublicArchitecture) throws {
        if let announced = architecture.ot, announced != OT.name {
            throw SecureInferenceError.protocolFailure("the server runs \(announced) OT and this client \(OT.name); "
                                                       + "connect with the server's OT (sibyl query follows the server by itself)")
        }
        self.channel = channel
        self.architecture = architecture
        linearShapes = try architecture.program.linearShapes()
        var drawn = [Bool](repeating: false, count: architecture.program.tensors.count)
        drawn[FixedPointProgram.input] = true
        for step in architecture.program.steps {
            switch step {
            case .relu, .square, .polynomial: drawn[step.output] = true
            case .linear, .add, .truncate, .gather, .scatter: break
            }
        }
        drawnShares = drawn
        linearClient = try Linear.client(parameters: architecture.heParameters)
        try channel.sendMessage(type: ProtocolMessage.heSetup, try linearClient.setupMessage())
        try channel.flush()
        guard try Self.receiveUnlessBusy(channel, expecting: ProtocolMessage.admitted).isEmpty else {
            throw SecureInferenceError.protocolFailure("the server's admission message is not empty")
        }
        let needsOT = architecture.program.needsOT
        ot = needsOT ? try OT.receiver(channel: channel) : nil
        reverse = needsOT && architecture.reluProtocol == .ot ? try OT.lightSender(channel: channel) : nil
        // The memory each image's OT-ReLU COTs take, faulted in once here rather than in the first images.
        let correlations = architecture.program.otReLUCorrelations(architecture.reluProtocol)
        ot?.reserveStorage(forBatchesOf: correlations.forward)
        reverse?.reserveStorage(forBatchesOf: correlations.reverse)
        if architecture.program.hasPolynomials {
            let ole = PrimeOLEClient(context: .standard)
            try channel.sendMessage(type: ProtocolMessage.oleSetup, try ole.setupMessage())
            try channel.flush()
            self.ole = ole
        } else {
            ole = nil
        }
    }

    /// Decodes and checks the server's hello before anything is sized by it: the program (tensor sizes,
    /// shapes, bit widths), the input spec, and that the two agree.
    static func architecture(hello: [UInt8]) throws -> PublicArchitecture {
        let architecture: PublicArchitecture
        do {
            architecture = try JSONDecoder().decode(PublicArchitecture.self, from: Data(hello))
        } catch {
            throw SecureInferenceError.protocolFailure("the server's architecture message is malformed (\(error))")
        }
        try architecture.program.validate()
        if let problem = architecture.input.problem {
            throw SecureInferenceError.protocolFailure("the server's architecture is malformed: \(problem)")
        }
        guard architecture.input.shape == architecture.program.inputTensor.shape else {
            throw SecureInferenceError.protocolFailure("the server's architecture is malformed: input \(architecture.input.shape) "
                                                       + "but the program's input tensor is \(architecture.program.inputTensor.shape)")
        }
        _ = try architecture.heParameters.context
        return architecture
    }

    /// The next frame, which must be `type`, or the server's busy notice (thrown as `.serverBusy`).
    static func receiveUnlessBusy(_ channel: any Channel, expecting type: UInt16) throws -> [UInt8] {
        let header = try channel.receiveHeader()
        if header.type == ProtocolMessage.busy {
            guard header.length <= UInt64(ProtocolMessage.busyReasonLimit) else {
                throw SecureInferenceError.protocolFailure("the server's busy notice is \(header.length) bytes long")
            }
            let reason = try channel.receiveBytes(count: Int(header.length))
            throw SecureInferenceError.serverBusy(String(decoding: reason, as: UTF8.self))
        }
        guard header.type == type else { throw TransportError.unexpectedMessageType(expected: type, received: header.type) }
        return try channel.receiveBytes(count: Int(header.length))
    }

    /// The largest frame a server running `program` sends: a layer's garbled ReLU batch (tables and
    /// output rows), its labels or OT corrections, or an HE response, with room to spare; at least 16 MiB
    /// and never more than 1 GiB, whatever the program says.
    static func maximumServerFrame(_ program: FixedPointProgram) -> UInt64 {
        var largest: UInt64 = 16 << 20
        for step in program.steps {
            let elements = UInt64(program.tensors[step.output].shape.elements)
            switch step {
            case .relu(_, _, let valueBits, let shift, _):
                let gates = UInt64((try? ReLUCircuit(valueBits: valueBits, truncationBits: shift).circuit.andCount) ?? 64 * 64)
                largest = max(largest, elements * (gates * 32 + UInt64(valueBits) * 32 + 64 * 16) + 4096)
            case .linear:
                largest = max(largest, elements * 8 * 16)
            case .square:
                // The OLE's corrections: 252 bytes per element in one message.
                largest = max(largest, elements * 256 + 4096)
            case .polynomial(_, _, let degree, _, _, _):
                // The masked H_i (18 bytes each per element at most), or the OLE's response (at most 48 bytes per
                // element, whole ciphertexts of 8,192).
                let slots = (elements + 8191) / 8192 * 8192
                largest = max(largest, slots * UInt64(max(18 * degree, 48)) + 4096)
            case .add, .truncate, .gather, .scatter:
                break
            }
        }
        return min(largest, Framing.defaultMaxFrameLength)
    }

    /// The request of linear term `order[t]` for its input's share in `state`, sent. A drawn share not
    /// drawn yet is chosen by the request itself (LinearLayerClient.offlineRequest(choosingMaskFor:): as
    /// uniform and hidden, and its first occurrences travel in 69 bits instead of 132).
    private func sendRequest(_ t: Int, order: [(step: Int, term: Int)], state: inout ClientOfflineState) throws -> LinearLayerClientState {
        let (index, term) = order[t]
        guard case .linear(_, let terms, _, _) = program.steps[index], let shapes = linearShapes[index], shapes.count == terms.count else {
            throw SecureInferenceError.invalidPlan("step \(index) has no lowered linear shapes")
        }
        let input = terms[term].input
        let request: [UInt8], pending: LinearLayerClientState
        if state.shares[input].isEmpty && drawnShares[input] {
            let mask: [UInt64]
            (request, pending, mask) = try linearClient.offlineRequest(choosingMaskFor: shapes[term])
            state.shares[input] = mask
        } else {
            (request, pending) = try linearClient.offlineRequest(r: try share(input, &state), layer: shapes[term])
        }
        try channel.sendMessage(type: ProtocolMessage.linearRequest, request)
        try channel.flush()
        return pending
    }

    /// The client's share of tensor `t`, made when first needed: a drawn one (the input's mask, a ReLU's,
    /// square's or polynomial's output) from the OS CSPRNG unless a linear request chose it first, a local
    /// step's (add, truncation, gather, scatter) from its inputs' shares. A linear output's comes only from
    /// its responses.
    private func share(_ t: Int, _ state: inout ClientOfflineState) throws -> [UInt64] {
        if state.shares[t].isEmpty {
            if drawnShares[t] {
                state.shares[t] = ShareRing.random(count: program.tensors[t].shape.elements)
            } else if let producer = program.steps.first(where: { $0.output == t }), isLocal(producer) {
                state.shares[t] = try localOfflineShare(producer, state: &state)
            } else {
                throw SecureInferenceError.protocolFailure("the client's share of tensor \(t) is needed before it is known")
            }
        }
        return state.shares[t]
    }

    private func isLocal(_ step: ProgramStep) -> Bool {
        switch step {
        case .add, .truncate, .gather, .scatter: return true
        case .linear, .relu, .square, .polynomial: return false
        }
    }

    func offline(meter: inout StepMeter) throws -> ClientOfflineState {
        // Shares start empty and are made when first needed (`share`), so that a linear request can choose a
        // drawn one (`sendRequest`). Pipelining (FixedPointProgram+Pipelining.swift): a term whose input no
        // response fixes sends its request before the previous term's response is read.
        var state = ClientOfflineState(shares: [[UInt64]](repeating: [], count: program.tensors.count))
        let order = program.linearTermOrder, early = program.earlyRequests(reluProtocol: reluProtocol)
        let drawnFirst = early.contains(true) ? program.responseFreeShares(reluProtocol: reluProtocol) : []
        // Requests sent and not yet answered, oldest first; `sent` counts every request sent.
        var pendingRequests: [LinearLayerClientState] = []
        var sent = 0, next = 0
        for (index, step) in program.steps.enumerated() {
            let outShape = program.tensors[step.output].shape
            try meter.measure(index, step.label) {
                let drawn = !drawnFirst.isEmpty && drawnFirst[step.output]
                if drawn && !exchangesOffline(step) { return }
                switch step {
                case .linear(let output, let terms, _, _):
                    var y = [UInt64](repeating: 0, count: outShape.elements)
                    for _ in terms {
                        // This term's request, then every early one after it, before reading its response.
                        if sent == next { pendingRequests.append(try sendRequest(sent, order: order, state: &state)); sent += 1 }
                        while sent < order.count && early[sent] {
                            pendingRequests.append(try sendRequest(sent, order: order, state: &state))
                            sent += 1
                        }
                        next += 1
                        let response = try channel.receiveMessage(expecting: ProtocolMessage.linearResponse)
                        let part = try linearClient.decodeResponse(response, state: pendingRequests.removeFirst())
                        for i in y.indices { y[i] &+= part[i] }
                    }
                    state.shares[output] = y
                case .add, .truncate, .gather, .scatter:
                    _ = try share(step.output, &state)
                case .relu where reluProtocol == .ot:
                    break   // its output share is drawn (re-shared online); its correlations come after the loop
                case .relu(let output, let input, let valueBits, let shift, _):
                    let evaluator = ReLUEvaluator(try ReLUCircuit(valueBits: valueBits, truncationBits: shift))
                    let choices = ChoiceBits(evaluator.choiceBits(clientShares: try share(input, &state)))
                    let labels = try ot!.correlated(choices: choices)   // its active labels (the server's Δ is the offset)
                    let batch = try GarbledBatch(serialized: channel.receiveMessage(expecting: ProtocolMessage.garbledBatch))
                    state.relus[output] = (batch, labels, evaluator)
                case .square(let output, let input, _):
                    state.squares[output] = try OneRoundSquare.clientOffline(shares: try share(input, &state), ot: ot!)
                case .polynomial(let output, let input, let degree, _, _, _):
                    state.polynomials[output] = try OneRoundPolynomial.clientOffline(shares: try share(input, &state), degree: degree,
                                                                                     ole: ole!, channel: channel)
                }
            }
        }
        // Shares no step needed offline (a ReLU's output read only online, a sum the pipelining skipped).
        for t in program.tensors.indices { _ = try share(t, &state) }
        // The OT-based ReLUs' correlations, after every linear layer (the server's order): every COT first,
        // then per layer the choices this side sends ahead (reading nothing), the server's reverse choices,
        // the triples' tables.
        let correlations = program.otReLUCorrelations(reluProtocol)
        if correlations.forward > 0 {
            try meter.measure(FixedPointProgram.reluPreparationStep, "correlated OTs of the ReLUs") {
                try ot!.prepare(correlations.forward)
                try reverse!.prepare(correlations.reverse)
            }
            var pending: [(index: Int, output: Int, pending: OTReLU.ClientPending)] = []
            for (index, step) in program.steps.enumerated() {
                guard case .relu(let output, let input, let valueBits, let shift, _) = step else { continue }
                try meter.measure(index, step.label) {
                    pending.append((index, output, try OTReLU.beginClient(state.shares[input], valueBits: valueBits, truncation: shift,
                                                                          forward: ot!)))
                }
            }
            for i in pending.indices {
                try meter.measure(pending[i].index, program.steps[pending[i].index].label) { try pending[i].pending.reverse(reverse!) }
            }
            for (index, output, layer) in pending {
                try meter.measure(index, program.steps[index].label) {
                    state.otReLUs[output] = try OTReLU.finishClient(layer, channel: channel)
                }
            }
        }
        _ = try channel.receiveMessage(expecting: ProtocolMessage.offlineDone)
        return state
    }

    /// Whether the step exchanges messages of its own offline (a garbled ReLU, a square, a polynomial);
    /// the client draws its output share afresh either way.
    private func exchangesOffline(_ step: ProgramStep) -> Bool {
        switch step {
        case .relu: return reluProtocol == .garbled
        case .square, .polynomial: return true
        case .linear, .add, .truncate, .gather, .scatter: return false
        }
    }

    /// The client's offline share of a step that derives it locally from its inputs' shares (an add, a
    /// truncation, a gather or a scatter).
    private func localOfflineShare(_ step: ProgramStep, state: inout ClientOfflineState) throws -> [UInt64] {
        let outShape = program.tensors[step.output].shape
        switch step {
        case .add(_, let a, let shiftA, let b, let shiftB):
            return RingKernels.shiftedSum(try share(a, &state), shiftA: shiftA, try share(b, &state), shiftB: shiftB)
        case .truncate(_, let input, let bits):
            // SecureML local truncation (Mohassel and Zhang, S&P 2017): no communication; the sum of the
            // truncated shares is x >> bits up to 1 in the last place, or wrong with probability about
            // |x| / 2^64. (Revealing low bits of a share to make this exact would leak the low bits of x
            // itself, since the server holds x minus that share.)
            return ShareRing.truncate(shares: try share(input, &state), by: bits, party: .client)
        case .gather(_, let input, let channels):
            return RingKernels.gather(try share(input, &state), channels: channels, plane: outShape.height * outShape.width)
        case .scatter(_, let parts):
            var inputs: [([UInt64], [Int])] = []
            for part in parts { inputs.append((try share(part.input, &state), part.channels)) }
            return RingKernels.scatter(inputs, shape: outShape)
        case .linear, .relu, .square, .polynomial:
            throw SecureInferenceError.protocolFailure("step \(step.label) exchanges messages offline")
        }
    }

    func online(_ state: ClientOfflineState, input: [UInt64], meter: inout StepMeter) throws -> [UInt64] {
        var state = state   // the OT ReLUs' preparations are taken out as they are used (single use)
        let shares = state.shares
        try meter.measure(-1, "input") {
            try channel.sendMessage(type: ProtocolMessage.maskedInput, zip(input, shares[FixedPointProgram.input]).map { $0 &- $1 })
            try channel.flush()
        }
        // Replies wait until the next barrier (`FixedPointProgram.onlineBarriers`): the server sends every
        // message of a group before it reads a reply, so this side reads all of them, then replies to all.
        var replies: [(step: Int, type: UInt16, values: [UInt64])] = []
        func settle(_ meter: inout StepMeter) throws {
            for (position, reply) in replies.enumerated() {
                try meter.measure(reply.step, program.steps[reply.step].label) {
                    try channel.sendMessage(type: reply.type, reply.values)
                    if position == replies.count - 1 { try channel.flush() }
                }
            }
            replies.removeAll()
        }
        let barriers = program.onlineBarriers
        for (index, step) in program.steps.enumerated() {
            if barriers[index] { try settle(&meter) }
            // The OT-based ReLU is interactive: replies still waiting go first (the server settles too).
            if case .relu = step, reluProtocol == .ot { try settle(&meter) }
            let outShape = program.tensors[step.output].shape
            try meter.measure(index, step.label) {
                switch step {
                case .linear, .add, .truncate, .gather, .scatter:
                    break   // server-local online; the client's share was fixed offline
                case .relu(let output, _, _, _, _) where reluProtocol == .ot:
                    let own = try OTReLU.client(prepared: state.otReLUs.removeValue(forKey: output)!, channel: channel)   // single use
                    replies.append((index, ProtocolMessage.reluReshare, zip(own, shares[output]).map { $0 &- $1 }))
                case .relu(let output, _, let valueBits, _, _):
                    let (batch, labels, evaluator) = state.relus[output]!
                    // The server's labels come in frames (`ReLUEvaluator.frames`): each is evaluated as it arrives.
                    var masked: [UInt64] = []
                    masked.reserveCapacity(outShape.elements)
                    for frame in ReLUEvaluator.frames(count: outShape.elements) {
                        let serverLabels = try channel.receiveBlocks(expecting: ProtocolMessage.reluServerLabels,
                                                                     count: frame.count * valueBits)
                        masked += try evaluator.evaluate(batch, evaluatorLabels: labels, garblerLabels: serverLabels, copies: frame)
                    }
                    replies.append((index, ProtocolMessage.reluClientReply, zip(masked, shares[output]).map { $0 &- $1 }))
                case .square(let output, _, _):
                    replies.append((index, OneRoundSquare.replyMessage,
                                    try OneRoundSquare.clientReply(state.squares[output]!, output: shares[output], channel: channel)))
                case .polynomial(let output, _, _, _, let shift, _):
                    replies.append((index, OneRoundPolynomial.replyMessage,
                                    try OneRoundPolynomial.clientReply(state.polynomials[output]!, output: shares[output],
                                                                       shift: shift, channel: channel)))
                }
            }
        }
        try settle(&meter)
        return try meter.measure(program.steps.count, "output") {
            let serverShare = try channel.receiveMessage(expecting: ProtocolMessage.outputShare, UInt64.self,
                                                         count: program.tensors[program.output].shape.elements)
            return zip(serverShare, shares[program.output]).map { $0 &+ $1 }
        }
    }

    /// Runs one image (offline, then online) and returns its logits (ring elements at the output scale)
    /// and costs.
    public func infer(input: [UInt64]) throws -> (logits: [UInt64], costs: ImageCosts) {
        guard input.count == program.inputTensor.shape.elements else {
            throw SecureInferenceError.protocolFailure("input has \(input.count) values, the plan expects \(program.inputTensor.shape)")
        }
        var offlineMeter = StepMeter(channel: channel)
        try channel.sendMessage(type: ProtocolMessage.imageRequest, [UInt8]())
        try channel.flush()
        let state = try offline(meter: &offlineMeter)
        var onlineMeter = StepMeter(channel: channel)
        let logits = try online(state, input: input, meter: &onlineMeter)
        return (logits, ImageCosts(offline: offlineMeter.phase, online: onlineMeter.phase))
    }

    /// Ends the session politely (the server stops waiting for images).
    public func finish() {
        try? channel.sendMessage(type: ProtocolMessage.goodbye, [UInt8]())
        try? channel.flush()
        channel.close()
    }
}
