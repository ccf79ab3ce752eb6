import ArgumentParser
import Pipeline
import Foundation
import SecureInference
import Transport

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a plan to clients over TCP: the model owner's side of the secure protocol.",
        discussion: """
            The server keeps the weights; a client (`sibyl query`) learns the architecture and its own
            logits only. A connection first completes a cheap handshake (the server sends the architecture,
            the client its HE setup) within --handshake-timeout, without taking a session slot; then it
            waits for one of --max-concurrent slots in a queue of --queue clients for at most
            --queue-timeout; a client beyond these bounds is told the server is busy. In a session, a
            client silent for --timeout, one message taking longer than --message-timeout, or a session
            longer than --session-timeout is dropped. A client that disconnects, times out or sends
            garbage ends its own connection only. Log lines are rate-limited.
            """)

    @Argument(help: "Plan directory (plan.json + weights.h5).") var plan: String
    @Option(help: "TCP port to listen on.") var port: UInt16 = 7070
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Sessions served at the same time.") var maxConcurrent = 2
    @Option(help: "Clients past the handshake that may wait for a session slot.") var queue = 16
    @Option(help: "Connections that may be in their handshake at once.") var maxHandshaking = 128
    @Option(help: "Seconds from connecting to a complete handshake.", transform: FlagValue.positive)
    var handshakeTimeout = 10.0
    @Option(help: "Seconds a client may wait in the queue.", transform: FlagValue.positive) var queueTimeout = 30.0
    @Option(help: "Seconds a client may stay silent in a session.", transform: FlagValue.positive) var timeout = 60.0
    @Option(help: "Seconds one message may take once it started.", transform: FlagValue.positive) var messageTimeout = 60.0
    @Option(help: "Seconds a whole session may take.", transform: FlagValue.positive) var sessionTimeout = 3600.0
    @Option(help: "Stop after this many connections (default: serve forever).") var connections: Int?
    @Option(help: "The network clients reach this server over (loopback, lan, wan): chooses the default --ot (silent on wan, where its offline bytes are about a tenth of IKNP's: for the ResNet-32 all-ReLU plan with OT-based ReLUs about 40 MB a query instead of 360 MB; iknp elsewhere, the faster to compute).")
    var network: NetworkChoice = .lan
    @Option(help: "Correlated OT every session runs, announced to clients (sibyl query follows): iknp (128 bits per COT) or silent (about 1.45 bits per COT, more computation). Default: by --network.")
    var ot: OTChoice?
    @Option(help: "ReLU protocol: ot (millionaire and multiplexer over OT, every OT offline: the faster online phase and a tenth of the bytes) or garbled (garbled circuits, Delphi); clients follow.")
    var relu: ReLUProtocol?

    func validate() throws {
        guard maxConcurrent >= 1 else { throw ValidationError("--max-concurrent must be at least 1") }
        guard queue >= 0 else { throw ValidationError("--queue must be at least 0") }
        guard maxHandshaking >= 1 else { throw ValidationError("--max-handshaking must be at least 1") }
        if let connections, connections < 1 { throw ValidationError("--connections must be at least 1") }
    }

    func run() throws {
        let ot = self.ot ?? .defaultChoice(network: network.rawValue)
        let relu = self.relu ?? .defaultChoice(network: network.rawValue)
        let plan = try SecurePlan(directory: self.plan)
        var limits = ServerLimits()
        limits.maxConcurrent = maxConcurrent
        limits.maxQueued = queue
        limits.maxHandshaking = maxHandshaking
        limits.handshakeSeconds = handshakeTimeout
        limits.queueSeconds = queueTimeout
        limits.idleSeconds = timeout
        limits.messageSeconds = messageTimeout
        limits.sessionSeconds = sessionTimeout
        let server = InferenceServer(program: plan.program, architecture: plan.architecture, limits: limits,
                                     log: RateLimitedLog(write: log), ot: ot, relu: relu)
        let listener = try TCPListener(host: host, port: port, backlog: 128)
        log("serving plan \(plan.contents.manifest.name) (\(plan.program.reluCount) ReLUs per image, \(ot.rawValue) OT, \(relu.rawValue) ReLUs) on \(host):\(listener.port)")
        server.serve(listener, connections: connections)
        listener.close()
    }
}

@Sendable func log(_ message: String) {
    let stamp = ISO8601DateFormatter().string(from: Date())
    FileHandle.standardError.write(Data("[\(stamp)] \(message)\n".utf8))
}
