import ArgumentParser
import Foundation
import Lattice
import SecureInference
import Transport

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a plan to clients over TCP: the model owner's side of the secure protocol.",
        discussion: """
            The server keeps the weights; a client (`sibyl query`) learns the architecture and its own
            logits only. Each connection runs on its own thread (at most --max-concurrent at once); a client
            that disconnects, times out or sends garbage ends its own connection only.
            """)

    @Argument(help: "Plan directory (plan.json + weights.h5).") var plan: String
    @Option(help: "TCP port to listen on.") var port: UInt16 = 7070
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Connections served at the same time.") var maxConcurrent = 2
    @Option(help: "Seconds a client may stay silent before its connection is dropped.") var timeout = 300.0
    @Option(help: "Stop after this many connections (default: serve forever).") var connections: Int?

    func validate() throws {
        guard maxConcurrent >= 1 else { throw ValidationError("--max-concurrent must be at least 1") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        let plan = try SecurePlan(directory: self.plan)
        let prepared = PreparedLayers(program: plan.program)
        let listener = try TCPListener(host: host, port: port)
        log("serving plan \(plan.contents.manifest.name) (\(plan.program.reluCount) ReLUs per image) on \(host):\(listener.port)")
        let slots = DispatchSemaphore(value: maxConcurrent)
        let group = DispatchGroup()
        var accepted = 0
        while connections.map({ accepted < $0 }) ?? true {
            let channel: TCPChannel
            do {
                channel = try listener.accept(acceptTimeout: nil, timeout: timeout)
            } catch {
                log("accept failed: \(error)")
                continue
            }
            accepted += 1
            let client = accepted
            slots.wait()
            group.enter()
            let program = plan.program, architecture = plan.architecture
            let worker = Thread {
                defer { channel.close(); slots.signal(); group.leave() }
                do {
                    let session = try SecureServerSession(program: program, architecture: architecture,
                                                          channel: channel, prepared: prepared)
                    let served = try session.serveAll()
                    log("client \(client): served \(served) image(s); \(channel.stats)")
                } catch {
                    log("client \(client): connection dropped: \(error)")
                }
            }
            worker.stackSize = 16 << 20
            worker.start()
        }
        group.wait()
        listener.close()
    }
}

func log(_ message: String) {
    let stamp = ISO8601DateFormatter().string(from: Date())
    FileHandle.standardError.write(Data("[\(stamp)] \(message)\n".utf8))
}
