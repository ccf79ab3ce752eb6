// The model owner's server: accepts TCP clients and runs one SecureServerSession per client, with
// admission control and deadlines so that idle, slow or hostile clients cannot lock others out.
//
// A connection goes through three stages, each bounded:
//   1. handshake (at most `maxHandshaking` at once, each within `handshakeSeconds` of being accepted):
//      the server sends the public architecture and reads the client's HE setup. This costs the
//      server nothing but a thread and a descriptor, so a client that connects and says nothing, or
//      trickles its setup, never takes a session slot: it is dropped when its handshake deadline passes.
//   2. queue (at most `maxQueued`, each for at most `queueSeconds`): handshake done, waiting for a slot.
//   3. session (at most `maxConcurrent`): HE setup, base OTs and images, with an idle limit between
//      messages, a limit per message however steadily it trickles, and a deadline for the whole session.
// A client beyond a stage's bound is told the server is busy (a `busy` frame the client prints) and
// closed; the accept loop itself never waits. Every exit path closes the connection and frees its slot.
import Foundation
import NetworkCost
import Transport
#if canImport(Glibc)
import Glibc
#endif

/// Bounds on what one client, and all clients together, can hold of the server.
public struct ServerLimits: Sendable, Equatable {
    /// Sessions computing at once (each costs about one core and a few hundred MB at ResNet-32 size).
    public var maxConcurrent = 2
    /// Clients past the handshake waiting for a session slot.
    public var maxQueued = 16
    /// Connections in the handshake at once (threads parked in a read, a descriptor each).
    public var maxHandshaking = 128
    /// From accept to the client's complete HE setup.
    public var handshakeSeconds = 10.0
    /// Longest wait in the queue before the client is told the server is busy.
    public var queueSeconds = 30.0
    /// Longest silence between messages of a session (also between images).
    public var idleSeconds = 60.0
    /// Longest time one message (a frame header or payload, or one send) may take once it started.
    public var messageSeconds = 60.0
    /// Longest session, from admission to the last image.
    public var sessionSeconds = 3600.0

    public init() {}
}

/// Log lines at a bounded rate: at most `burst` lines at once and `perSecond` on average; what is over
/// is counted and reported in the next line that gets through, so a flood of bad clients cannot fill a
/// disk with the server's log.
public final class RateLimitedLog: @unchecked Sendable {
    private let lock = NSLock()
    private let burst: Double, perSecond: Double
    private var tokens: Double
    private var last = ProcessInfo.processInfo.systemUptime
    private var suppressed = 0
    private let write: @Sendable (String) -> Void

    public init(burst: Int = 20, perSecond: Double = 5, write: @escaping @Sendable (String) -> Void) {
        self.burst = Double(burst)
        self.perSecond = perSecond
        tokens = Double(burst)
        self.write = write
    }

    public func callAsFunction(_ line: @autoclosure () -> String) {
        lock.lock()
        let now = ProcessInfo.processInfo.systemUptime
        tokens = min(burst, tokens + (now - last) * perSecond)
        last = now
        guard tokens >= 1 else {
            suppressed += 1
            lock.unlock()
            return
        }
        tokens -= 1
        let dropped = suppressed
        suppressed = 0
        lock.unlock()
        write(dropped > 0 ? "(\(dropped) log lines suppressed) \(line())" : line())
    }
}

public final class InferenceServer: @unchecked Sendable {
    public let program: FixedPointProgram
    public let architecture: PublicArchitecture
    public let limits: ServerLimits
    private let prepared: PreparedLayers<BFVLinearScheme.Server>
    private let log: RateLimitedLog
    private let state = NSCondition()
    private var handshaking = 0, active = 0, running = 0
    /// Tickets of the clients in the queue, in arrival order.
    private var waiting: [Int] = []
    private var nextTicket = 0
    private var trimPending = false

    /// The correlated-OT source every session runs (announced in the architecture).
    public let ot: OTChoice

    public init(program: FixedPointProgram, architecture: PublicArchitecture, limits: ServerLimits, log: RateLimitedLog,
                ot: OTChoice = .iknp, relu: ReLUProtocol = .garbled) {
        self.program = program
        var architecture = architecture
        architecture.ot = ot.rawValue
        architecture.relu = relu == .garbled ? nil : relu
        self.architecture = architecture
        self.ot = ot
        self.limits = limits
        self.log = log
        prepared = PreparedLayers<BFVLinearScheme.Server>(program: program)
    }

    /// Connections in each stage now (for tests and monitoring).
    public var occupancy: (handshaking: Int, queued: Int, active: Int) {
        state.lock()
        defer { state.unlock() }
        return (handshaking, waiting.count, active)
    }

    /// Accepts connections on `listener` until `connections` have been accepted (nil: forever), then
    /// waits for the last of them to end.
    public func serve(_ listener: TCPListener, connections: Int? = nil) {
        var accepted = 0
        while connections.map({ accepted < $0 }) ?? true {
            let channel: TCPChannel
            do {
                channel = try listener.accept(acceptTimeout: nil, timeout: limits.idleSeconds)
            } catch {
                log("accept failed: \(error)")
                usleep(10_000)   // e.g. out of descriptors: do not spin
                continue
            }
            accepted += 1
            let client = "client \(accepted) (\(channel.peerDescription))"
            state.lock()
            let admitted = handshaking < limits.maxHandshaking
            if admitted { handshaking += 1; running += 1 }
            state.unlock()
            guard admitted else {
                log("\(client): declined: \(limits.maxHandshaking) connections are already in their handshake")
                decline(channel, "too many connections at once")
                continue
            }
            let worker = Thread { [self] in
                handle(channel, client: client)
                state.lock()
                running -= 1
                let quiet = running == 0
                state.broadcast()
                state.unlock()
                if quiet { releaseFreedMemory() }
            }
            worker.stackSize = 16 << 20
            worker.start()
        }
        state.lock()
        while running > 0 { state.wait() }
        state.unlock()
    }

    /// One connection, from handshake to goodbye; the channel is closed on every path.
    private func handle(_ channel: TCPChannel, client: String) {
        defer { channel.close() }
        channel.messageTimeout = limits.messageSeconds
        channel.setDeadline(secondsFromNow: limits.handshakeSeconds)
        let setup: [UInt8]
        do {
            setup = try SecureServerSession.greet(channel: channel, program: program, architecture: architecture)
        } catch {
            leave(stage: \.handshaking)
            log("\(client): dropped in the handshake: \(error)")
            return
        }
        guard acquireSlot(client: client, channel: channel) else { return }
        defer { leave(stage: \.active) }
        channel.setDeadline(secondsFromNow: limits.sessionSeconds)
        do {
            let images = try ot.serve(program: program, architecture: architecture, channel: channel, prepared: prepared, setup: setup)
            log("\(client): served \(images) image(s); \(channel.stats)")
        } catch {
            log("\(client): session dropped: \(error)")
        }
    }

    /// Moves a client from the handshake into a session slot, waiting in the queue if need be, first
    /// come first served; false (the client told it is busy) when the queue is full or the wait runs out.
    private func acquireSlot(client: String, channel: TCPChannel) -> Bool {
        state.lock()
        handshaking -= 1
        if waiting.isEmpty && active < limits.maxConcurrent {
            active += 1
            state.unlock()
            return true
        }
        guard waiting.count < limits.maxQueued else {
            state.unlock()
            log("\(client): declined: \(limits.maxConcurrent) sessions running and \(limits.maxQueued) clients queued")
            decline(channel, "all sessions busy and the queue is full")
            return false
        }
        nextTicket += 1
        let ticket = nextTicket
        waiting.append(ticket)
        let giveUp = Date(timeIntervalSinceNow: limits.queueSeconds)
        var got = false
        while true {
            if waiting.first == ticket && active < limits.maxConcurrent { got = true; break }
            if !state.wait(until: giveUp) && !(waiting.first == ticket && active < limits.maxConcurrent) { break }
        }
        waiting.removeAll { $0 == ticket }
        if got { active += 1 }
        state.broadcast()   // the next in line may go now
        state.unlock()
        if !got {
            log("\(client): declined after waiting \(limits.queueSeconds) s for a session slot")
            decline(channel, "no session slot within \(limits.queueSeconds) s")
        }
        return got
    }

    /// The busy notice, with a fresh second to deliver it (the handshake deadline may have passed in the queue).
    private func decline(_ channel: TCPChannel, _ reason: String) {
        channel.setDeadline(secondsFromNow: 1)
        SecureServerSession.decline(channel: channel, reason: reason)
    }

    /// Hands memory freed by ended connections back to the system half a second after the last
    /// connection ended (at most one trim pending at a time): glibc keeps freed chunks in per-thread
    /// arenas, so after a burst of connections the server would otherwise stay at its peak resident size.
    private func releaseFreedMemory() {
        state.lock()
        defer { state.unlock() }
        guard !trimPending else { return }
        trimPending = true
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { [self] in
            state.lock()
            trimPending = false
            let quiet = running == 0
            state.unlock()
            if quiet { Self.mallocTrim?(0) }
        }
    }

    /// glibc's malloc_trim (not exported by Swift's Glibc module), looked up once; nil elsewhere.
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()

    private func leave(stage: ReferenceWritableKeyPath<InferenceServer, Int>) {
        state.lock()
        self[keyPath: stage] -= 1
        state.broadcast()
        state.unlock()
    }
}
