// A seeded mutation fuzzer for everything that parses bytes from a peer or a file: the frame decoder,
// the server's hello (public architecture, validated program), the busy notice, a garbled ReLU batch,
// the client's HE setup and linear-layer requests, and plan.json. (libFuzzer through
// `swift build -sanitize=fuzzer` needs a fuzzer-instrumented runtime that this toolchain's Linux build
// does not link into a package with an executable target, so the mutation loop is our own.)
//
// Each execution takes an input from the corpus, applies 1-8 random mutations (bit flips, byte sets,
// "interesting" integers such as 0, -1 and 2^k-1 written over 1, 2, 4 or 8 bytes, inserts, deletes,
// duplicated and spliced ranges) and runs the target. A thrown error is the expected outcome for a bad
// input; a trap (crash) ends the process, which is the failure a test or benchmark sees. Inputs that
// end in an error message not seen before join the working corpus: cheap feedback that walks the
// parsers deeper than mutations of the seeds alone.
import Foundation
import Lattice
import NetworkPlan
import Transport
import TwoParty

public struct DecoderFuzzer {
    /// A parser under test: bytes in; returns normally or throws.
    public struct Target: Sendable {
        public let name: String
        public let run: @Sendable ([UInt8]) throws -> Void

        public init(name: String, run: @escaping @Sendable ([UInt8]) throws -> Void) {
            self.name = name
            self.run = run
        }
    }

    public struct Report: Codable, Sendable {
        public var target: String
        public var executions: Int
        public var seconds: Double
        public var rejected: Int
        public var distinctOutcomes: Int
        public var corpusSize: Int
        public var slowestExecutionSeconds: Double
        public var largestInput: Int
    }

    /// Frames a decoder accepts in these targets: inputs may announce anything, and nothing larger than
    /// this may be allocated for them.
    public static let frameLimit: UInt64 = 1 << 20
    /// The working corpus stops growing at this many bytes.
    public static let maximumCorpusBytes = 32 << 20

    /// The targets for `program` (its tensors size the linear layer the request target parses against).
    public static func targets(program: FixedPointProgram) throws -> [Target] {
        let context = try HEParameterSet.select(for: program).context
        let client = LinearLayerClient(context: context)
        let server = try LinearLayerServer(context: context, setupMessage: try client.setupMessage())
        let (shape, layer) = try firstLinearLayer(program)
        let prepared = try server.prepare(layer)
        // The same layer at t = 2^64 too when the program runs it modulo less (a ReLU reads it): both request
        // layouts (residues, and coefficients switched to fewer bits) are parsed.
        let full = try server.prepare(try LinearLayer(shape: shape.withPlaintextBits(64), weights: layer.weights))
        let ole = try oleEndpoints(), oleLayout = Self.oleLayout, oleFactors = Self.oleFactors
        return [
            Target(name: "frames") { bytes in
                let channel = ReplayChannel(bytes)
                channel.maxFrameLength = frameLimit
                for _ in 0..<64 { _ = try channel.receiveAnyMessage() }
            },
            Target(name: "hello") { bytes in
                let channel = ReplayChannel(bytes)
                channel.maxFrameLength = ProtocolMessage.helloLimit
                let payload = try SecureClientSession.receiveUnlessBusy(channel, expecting: ProtocolMessage.hello)
                _ = SecureClientSession.maximumServerFrame(try SecureClientSession.architecture(hello: payload).program)
            },
            Target(name: "garbled-batch") { bytes in _ = try GarbledBatch(serialized: bytes) },
            Target(name: "he-setup") { bytes in _ = try LinearLayerServer(context: context, setupMessage: bytes) },
            Target(name: "linear-request") { bytes in _ = try server.offlineResponse(request: bytes, layer: prepared) },
            Target(name: "linear-request-64") { bytes in _ = try server.offlineResponse(request: bytes, layer: full) },
            Target(name: "ole-request") { bytes in
                _ = try ole.server.respond(bytes, factors: oleFactors, primes: oleLayout.primes, terms: oleLayout.terms)
            },
            Target(name: "ole-response") { bytes in
                _ = try ole.client.decode(bytes, counts: oleLayout.counts, primes: oleLayout.primes, terms: oleLayout.terms)
            },
            Target(name: "plan-manifest") { bytes in _ = try PlanManifest.decode(Data(bytes), path: "fuzz") },
        ]
    }

    /// The polynomials' batched OLE in the targets: one prime, two terms of 20 values (one request
    /// ciphertext each, one response), a client with its key and a server holding its setup.
    static let oleLayout = (counts: [20, 20], primes: [0, 0], terms: 2)
    static var oleFactors: [[UInt64]] { oleLayout.counts.map { count in (0..<count).map { UInt64($0 + 1) } } }
    static func oleEndpoints() throws -> (client: PrimeOLEClient, server: PrimeOLEServer) {
        let client = PrimeOLEClient(context: .standard)
        return (client, try PrimeOLEServer(context: .standard, setupMessage: try client.setupMessage()))
    }

    /// Real messages of a session over `program`, one list per target: the starting corpus.
    public static func seeds(program: FixedPointProgram, architecture: PublicArchitecture, manifest: Data) throws -> [String: [[UInt8]]] {
        let hello = try JSONEncoder().encode(architecture)
        func frame(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
            FrameHeader(type: type, length: UInt64(payload.count)).encoded() + payload
        }
        let helloFrame = frame(ProtocolMessage.hello, [UInt8](hello))
        let busyFrame = frame(ProtocolMessage.busy, Array("all sessions busy".utf8))
        let context = try architecture.heParameters.context
        let client = LinearLayerClient(context: context)
        let (shape, _) = try firstLinearLayer(program)
        let r = (0..<shape.inputCount).map { UInt64($0) &* 0x9E37_79B9_7F4A_7C15 }
        let request = try client.offlineRequest(r: r, layer: shape).message
        let chosenRequest = try client.offlineRequest(choosingMaskFor: shape).message   // mode 1: compact coefficients
        let full = try shape.withPlaintextBits(64)
        let fullRequests = [try client.offlineRequest(r: r, layer: full).message, try client.offlineRequest(choosingMaskFor: full).message]
        let ole = try oleEndpoints()
        let oleRequest = try ole.client.request(oleLayout.counts.map { count in (0..<count).map { UInt64($0 * 7) } },
                                                primes: oleLayout.primes)
        let oleResponse = try ole.server.respond(oleRequest, factors: oleFactors, primes: oleLayout.primes, terms: oleLayout.terms).message
        var garbled: [[UInt8]] = []
        for case .relu(_, _, let valueBits, let shift, _) in program.steps.prefix(8) {
            var garbler = ReLUGarbler(try ReLUCircuit(valueBits: valueBits, truncationBits: shift))
            garbled.append(try garbler.garbleOffline(count: 3).batch.serialized())
            if garbled.count == 2 { break }
        }
        return [
            "frames": [helloFrame + busyFrame, frame(ProtocolMessage.imageRequest, []) + frame(ProtocolMessage.goodbye, []),
                       frame(ProtocolMessage.maskedInput, [UInt8](repeating: 7, count: 64))],
            "hello": [helloFrame, busyFrame],
            "garbled-batch": garbled,
            "he-setup": [try client.setupMessage()],
            "linear-request": [request, chosenRequest],
            "linear-request-64": fullRequests,
            "ole-request": [oleRequest],
            "ole-response": [oleResponse],
            "plan-manifest": [[UInt8](manifest)],
        ]
    }

    /// The first linear term of the program as an HE layer shape (as the session lowers it, with its
    /// plaintext modulus) and a layer with small weights.
    static func firstLinearLayer(_ program: FixedPointProgram) throws -> (LinearLayerShape, LinearLayer) {
        let shapes = try program.linearShapes()
        for case (let index, .linear(_, let terms, _, _)) in program.steps.enumerated() {
            guard let term = terms.first, let shape = shapes[index]?.first else { continue }
            let input = program.tensors[term.input].shape
            var weights = LinearLowering.weights(of: term.map, input: input)
            if weights.allSatisfy({ $0 == 0 }) { weights = weights.indices.map { Int64($0 % 5) - 2 } }
            return (shape, try LinearLayer(shape: shape, weights: weights))
        }
        throw SecureInferenceError.invalidPlan("the program has no linear layer to fuzz against")
    }

    /// Runs `target` for `executions` mutated inputs (or until `seconds` pass), starting from `corpus`.
    /// `seed` makes a run reproducible (print it); `discovered` receives inputs that joined the corpus.
    public static func run(_ target: Target, corpus seeds: [[UInt8]], executions: Int, seconds: Double = .infinity,
                           seed: UInt64, discovered: ([UInt8]) -> Void = { _ in }) -> Report {
        var random = AESPRG(seed: Block(bytes: (0..<16).map { UInt8(truncatingIfNeeded: seed >> (8 * ($0 % 8))) ^ UInt8($0) }))
        var corpus = seeds.isEmpty ? [[UInt8]()] : seeds
        var corpusBytes = corpus.map(\.count).reduce(0, +)
        var outcomes = Set<String>()
        var rejected = 0, done = 0, largest = 0
        var slowest = 0.0
        let start = ProcessInfo.processInfo.systemUptime
        for input in corpus { _ = try? target.run(input) }
        while done < executions {
            if done % 256 == 0 && ProcessInfo.processInfo.systemUptime - start > seconds { break }
            var input = corpus[Int(random.next() % UInt64(corpus.count))]
            let other = corpus[Int(random.next() % UInt64(corpus.count))]
            for _ in 0..<(1 + Int(random.next() % 8)) { mutate(&input, splice: other, random: &random) }
            largest = max(largest, input.count)
            let began = ProcessInfo.processInfo.systemUptime
            do {
                try target.run(input)
            } catch {
                rejected += 1
                // The error's kind, its numbers left out (a new length is not a new path through the parser).
                let outcome = String(String(describing: error).filter { !$0.isNumber }.prefix(40))
                if outcomes.insert(outcome).inserted && corpusBytes + input.count <= maximumCorpusBytes {
                    corpus.append(input)
                    corpusBytes += input.count
                    discovered(input)
                }
            }
            slowest = max(slowest, ProcessInfo.processInfo.systemUptime - began)
            done += 1
        }
        return Report(target: target.name, executions: done, seconds: ProcessInfo.processInfo.systemUptime - start,
                      rejected: rejected, distinctOutcomes: outcomes.count, corpusSize: corpus.count,
                      slowestExecutionSeconds: slowest, largestInput: largest)
    }

    static let interesting: [UInt64] = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF,
                                        0x8000_0000_0000_0000, UInt64.max, 1 << 20, 1 << 30, 16, 64, 4096]

    static func mutate(_ input: inout [UInt8], splice other: [UInt8], random: inout AESPRG) {
        func index(_ bound: Int) -> Int { bound <= 0 ? 0 : Int(random.next() % UInt64(bound)) }
        switch random.next() % 7 {
        case 0 where !input.isEmpty:
            input[index(input.count)] ^= UInt8(1) << UInt8(random.next() % 8)
        case 1 where !input.isEmpty:
            input[index(input.count)] = UInt8(truncatingIfNeeded: random.next())
        case 2 where !input.isEmpty:
            let width = [1, 2, 4, 8][index(4)]
            let at = index(input.count)
            let value = interesting[index(interesting.count)]
            for b in 0..<width where at + b < input.count { input[at + b] = UInt8(truncatingIfNeeded: value >> (8 * b)) }
        case 3:
            let count = 1 + index(16)
            input.insert(contentsOf: (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: index(input.count + 1))
        case 4 where !input.isEmpty:
            let at = index(input.count)
            input.removeSubrange(at..<min(input.count, at + 1 + index(64)))
        case 5 where !input.isEmpty:
            let at = index(input.count)
            let piece = input[at..<min(input.count, at + 1 + index(64))]
            input.insert(contentsOf: piece, at: index(input.count + 1))
        case 6 where !other.isEmpty:
            let at = index(other.count)
            input = Array(input.prefix(index(input.count + 1))) + other[at...]
        default:
            input.append(UInt8(truncatingIfNeeded: random.next()))
        }
        if input.count > 1 << 22 { input.removeLast(input.count - (1 << 22)) }
    }
}

/// A channel that delivers a fixed byte string and swallows what is sent (for fuzzing decoders).
final class ReplayChannel: Channel, @unchecked Sendable {
    private let bytes: [UInt8]
    private var offset = 0
    var maxFrameLength: UInt64 = Framing.defaultMaxFrameLength

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func send(_ bytes: UnsafeRawBufferPointer) throws {}
    func flush() throws {}
    func close() {}
    var stats: ChannelStats { ChannelStats() }
    func resetStats() {}

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws {
        let available = bytes.count - offset
        guard available >= buffer.count else {
            if available == 0 { throw TransportError.peerClosed }
            offset = bytes.count
            throw TransportError.shortRead(expected: buffer.count, received: available)
        }
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + buffer.count)])) }
        offset += buffer.count
    }
}

/// A fuzzing corpus on disk: DIR/<target>/<first 16 hex digits of a hash>.bin, one input per file.
public enum FuzzCorpus {
    public static func load(target: String, from directory: URL) throws -> [[UInt8]] {
        let folder = directory.appendingPathComponent(target)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        return try names.filter { $0.hasSuffix(".bin") }.sorted().map {
            [UInt8](try Data(contentsOf: folder.appendingPathComponent($0)))
        }
    }

    public static func save(_ input: [UInt8], target: String, in directory: URL) throws {
        let folder = directory.appendingPathComponent(target)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // FNV-1a, 64 bits: a stable name, so the same input is stored once.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in input { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let name = String(hash, radix: 16).leftPadded(to: 16) + ".bin"
        try Data(input).write(to: folder.appendingPathComponent(name), options: .atomic)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
