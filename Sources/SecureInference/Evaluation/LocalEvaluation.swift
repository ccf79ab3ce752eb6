import Foundation
import Lattice
import NetworkCost
import NetworkPlan
import Transport

/// The outcome of one securely evaluated image.
public struct SecureImageResult: Codable, Sendable {
    public var index: Int
    public var label: Int?
    /// Logits the client reconstructed, decoded.
    public var logits: [Double]
    public var top1: Int
    /// Whether the secure logits equal the fixed-point oracle's bit for bit (always, for plans without
    /// local truncations: every all-ReLU plan).
    public var matchesOracle: Bool
    /// Largest difference between a secure and an oracle logit, decoded: local truncations (polynomial
    /// activations) add up to one unit in the last place each; a failed truncation shows as a huge value.
    public var oracleDeviation: Double
    public var oracleTop1: Int
    public var costs: ImageCosts
}

/// What `sibyl evaluate` measures: Sibyl's schemes.
public typealias LocalSecureEvaluation = LocalEvaluation<BFVLinearScheme, IKNPScheme>

/// A connected client session, whatever its schemes: what `sibyl query` drives.
public protocol InferenceClient: AnyObject {
    var architecture: PublicArchitecture { get }
    func infer(input: [UInt64]) throws -> (logits: [UInt64], costs: ImageCosts)
    func finish()
}

extension ClientSession: InferenceClient {}

/// The correlated-OT source a run uses, by name (`sibyl evaluate --ot`, `sibyl serve --ot`).
public enum OTChoice: String, CaseIterable, Sendable {
    /// IKNP extension: 128 bits per COT, the fastest to compute.
    case iknp
    /// Silent OT: about 1.45 bits per chosen COT, more computation.
    case silent

    /// The source a user of `network` (a `NetworkProfile` name) is offered by default (`evaluate` and `serve`):
    /// silent OT on a WAN, where its offline bytes are about a tenth of IKNP's; IKNP elsewhere, the faster to compute.
    public static func defaultChoice(network: String) -> OTChoice { network == NetworkProfile.wan.name ? .silent : .iknp }

    /// The client session for a server's announced architecture (`PublicArchitecture.ot`; nil: IKNP), after
    /// `ClientSession.handshake`.
    public static func client(channel: any Channel, architecture: PublicArchitecture) throws -> any InferenceClient {
        switch OTChoice(rawValue: architecture.ot ?? OTChoice.iknp.rawValue) {
        case .iknp: return try ClientSession<BFVLinearScheme, IKNPScheme>(channel: channel, architecture: architecture)
        case .silent: return try ClientSession<BFVLinearScheme, SilentOTScheme>(channel: channel, architecture: architecture)
        case nil:
            throw SecureInferenceError.unsupported("the server runs \(architecture.ot ?? "") OT, which this client does not know (iknp, silent)")
        }
    }

    /// Serves one connected client with this OT source after its handshake (`ServerSession.greet`); returns
    /// the images served.
    public func serve(program: FixedPointProgram, architecture: PublicArchitecture, channel: any Channel,
                      prepared: PreparedLayers<BFVLinearScheme.Server>, setup: [UInt8]) throws -> Int {
        switch self {
        case .iknp:
            return try ServerSession<BFVLinearScheme, IKNPScheme>(program: program, architecture: architecture, channel: channel,
                                                                 prepared: prepared, setup: setup).serveAll()
        case .silent:
            return try ServerSession<BFVLinearScheme, SilentOTScheme>(program: program, architecture: architecture, channel: channel,
                                                                     prepared: prepared, setup: setup).serveAll()
        }
    }

    /// Evaluates `inputs` with BFV linear layers and this OT source (`LocalEvaluation.run`).
    public func evaluate(program: FixedPointProgram, architecture: PublicArchitecture, inputs: [[UInt64]], labels: [Int]? = nil,
                         link: LocalLink = .tcp, onImage: (SecureImageResult) -> Void = { _ in }) throws -> [SecureImageResult] {
        switch self {
        case .iknp:
            return try LocalEvaluation<BFVLinearScheme, IKNPScheme>(program: program, architecture: architecture)
                .run(inputs: inputs, labels: labels, link: link, onImage: onImage)
        case .silent:
            return try LocalEvaluation<BFVLinearScheme, SilentOTScheme>(program: program, architecture: architecture)
                .run(inputs: inputs, labels: labels, link: link, onImage: onImage)
        }
    }
}

/// Where two local parties talk: real TCP on 127.0.0.1, or an in-memory pair.
public enum LocalLink: Sendable { case tcp, inMemory }

/// Runs both parties in one process, each on its own thread, over real TCP on 127.0.0.1 (or an
/// in-memory pair), with the given schemes (ProtocolSchemes.swift).
public final class LocalEvaluation<Linear: LinearLayerScheme, OT: OTScheme> {
    public typealias Link = LocalLink

    public let program: FixedPointProgram
    public let architecture: PublicArchitecture
    public let prepared: PreparedLayers<Linear.Server>

    public init(program: FixedPointProgram, architecture: PublicArchitecture) {
        self.program = program
        self.architecture = architecture
        prepared = PreparedLayers<Linear.Server>(program: program)
    }

    /// Evaluates `inputs` (encoded at the input scale); `onImage` sees each result as it completes.
    public func run(inputs: [[UInt64]], labels: [Int]? = nil, link: Link = .tcp,
                    onImage: (SecureImageResult) -> Void = { _ in }) throws -> [SecureImageResult] {
        let oracle = FixedPointOracle(program: program)
        let (serverChannel, clientChannel) = try connect(link)
        let failure = ErrorBox()
        let serverDone = DispatchSemaphore(value: 0)
        let server = Thread { [program, architecture, prepared] in
            defer { serverDone.signal() }
            var channel: (any Channel)?
            do {
                channel = try serverChannel()
                let session = try ServerSession<Linear, OT>(program: program, architecture: architecture,
                                                            channel: channel!, prepared: prepared)
                try session.serveAll()
            } catch {
                failure.set(error)
                // The client must not wait for messages that will never come.
                channel?.close()
            }
        }
        server.stackSize = 16 << 20
        server.start()
        var results: [SecureImageResult] = []
        var session: ClientSession<Linear, OT>?
        do {
            session = try ClientSession<Linear, OT>(channel: clientChannel)
            for (index, input) in inputs.enumerated() {
                let (logits, costs) = try session!.infer(input: input)
                let expected = oracle.evaluate(input: input)
                let decoded = oracle.decode(logits)
                let expectedDecoded = oracle.decode(expected)
                let deviation = zip(decoded, expectedDecoded).reduce(0.0) { max($0, abs($1.0 - $1.1)) }
                let label = labels.flatMap { index < $0.count ? $0[index] : nil }
                let result = SecureImageResult(index: index, label: label, logits: decoded,
                                               top1: argmax(decoded), matchesOracle: logits == expected,
                                               oracleDeviation: deviation, oracleTop1: argmax(expectedDecoded),
                                               costs: costs)
                results.append(result)
                onImage(result)
            }
        } catch {
            clientChannel.close()
            serverDone.wait()
            // The server's error explains a client that saw its peer vanish; otherwise the client's own.
            if case TransportError.peerClosed = error, let serverError = failure.get() { throw serverError }
            if case TransportError.peerClosedMidFrame = error, let serverError = failure.get() { throw serverError }
            throw error
        }
        session?.finish()
        serverDone.wait()
        clientChannel.close()
        if let error = failure.get() { throw error }
        return results
    }

    /// The two ends; the server's end is created on its own thread (TCP accept).
    func connect(_ link: Link) throws -> (server: @Sendable () throws -> any Channel, client: any Channel) {
        switch link {
        case .inMemory:
            let (a, b) = InMemoryChannel.makePair(timeout: 600)
            return ({ a }, b)
        case .tcp:
            let listener = try TCPListener(host: "127.0.0.1", port: 0)
            let port = listener.port
            let accept: @Sendable () throws -> any Channel = {
                defer { listener.close() }
                return try listener.accept(acceptTimeout: 60, timeout: 600)
            }
            // Connect after the server thread starts accepting; the listen backlog holds the connection.
            let client = try TCPChannel.connect(host: "127.0.0.1", port: port, connectTimeout: 10, retryFor: 5,
                                                timeout: 600)
            return (accept, client)
        }
    }
}

public func argmax(_ values: [Double]) -> Int {
    var best = 0
    for i in values.indices where values[i] > values[best] { best = i }
    return best
}

/// Thread-safe holder for the first error of a worker thread.
final class ErrorBox: @unchecked Sendable {
    private var error: Error?
    private let lock = NSLock()
    func set(_ newValue: Error) { lock.lock(); if error == nil { error = newValue }; lock.unlock() }
    func get() -> Error? { lock.lock(); defer { lock.unlock() }; return error }
}
