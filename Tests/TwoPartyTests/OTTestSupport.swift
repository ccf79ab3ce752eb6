// Helpers for the OT and multiplication tests: run the two parties on two threads over a chosen
// channel kind, with bounded waits.
import Foundation
import Transport
import TwoParty
import XCTest
import TestSupport

enum OTChannelKind: CaseIterable {
    case inMemory, tcp

    /// A connected pair (first, second).
    func makePair() throws -> (any Channel, any Channel) {
        switch self {
        case .inMemory:
            let (a, b) = InMemoryChannel.makePair(timeout: 30)
            return (a, b)
        case .tcp:
            let listener = try TCPListener(host: "127.0.0.1", port: 0)
            let port = listener.port
            let client = Background { try TCPChannel.connect(host: "127.0.0.1", port: port, timeout: 30) }
            let server = try listener.accept(acceptTimeout: 10, timeout: 30)
            return (try client.value(), server)
        }
    }
}

/// Runs two parties concurrently over a fresh channel pair and returns both results. When one party
/// fails its channel is closed so the other cannot hang.
func runTwoParties<A: Sendable, B: Sendable>(
    _ kind: OTChannelKind = .inMemory,
    first: @escaping @Sendable (any Channel) throws -> A,
    second: @escaping @Sendable (any Channel) throws -> B
) throws -> (A, B) {
    let (a, b) = try kind.makePair()
    defer { a.close(); b.close() }
    let background = Background { () throws -> B in
        do { return try second(b) } catch { b.close(); throw error }
    }
    let resultA: A
    do { resultA = try first(a) } catch { a.close(); throw error }
    return (resultA, try background.value())
}

/// A reproducible generator for test inputs; the seed goes into every failure message.
func testGenerator(seed: UInt64) -> AESPRG {
    AESPRG(seed: Block(lo: seed, hi: 0x5EED))
}

func randomBlocks(_ count: Int, using generator: inout AESPRG) -> [Block] {
    (0..<count).map { _ in generator.nextBlock() }
}
