// Helpers of the transport tests: error matching, deterministic payloads, TCP pairs.
import Foundation
import TestSupport
import Transport
import XCTest

/// Asserts that `body` throws exactly `expected`.
func assertThrows<T>(_ expected: TransportErrorMatcher, file: StaticString = #filePath, line: UInt = #line,
                     _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected \(expected), nothing was thrown", file: file, line: line)
    } catch {
        XCTAssertTrue(expected.matches(error), "expected \(expected), got \(error)", file: file, line: line)
    }
}

/// Matches a TransportError by case (payloads ignored unless given).
enum TransportErrorMatcher: CustomStringConvertible {
    case exactly(TransportError)
    case peerClosedMidFrame
    case malformedHeader
    case timeout
    case connectionRefused

    func matches(_ error: any Error) -> Bool {
        guard let error = error as? TransportError else { return false }
        switch (self, error) {
        case let (.exactly(expected), actual): return expected == actual
        case (.peerClosedMidFrame, .peerClosedMidFrame): return true
        case (.malformedHeader, .malformedHeader): return true
        case (.timeout, .timeout): return true
        case (.connectionRefused, .connectionRefused): return true
        default: return false
        }
    }

    var description: String {
        switch self {
        case let .exactly(error): return "\(error)"
        case .peerClosedMidFrame: return "peerClosedMidFrame"
        case .malformedHeader: return "malformedHeader"
        case .timeout: return "timeout"
        case .connectionRefused: return "connectionRefused"
        }
    }
}

/// Deterministic bytes for payloads (SplitMix64).
func testBytes(count: Int, seed: UInt64) -> [UInt8] {
    var random = SplitMix64(seed: seed)
    return random.bytes(count)
}

/// A connected TCP pair on 127.0.0.1 with an ephemeral port.
func makeTCPPair(timeout: Double = 10) throws -> (client: TCPChannel, server: TCPChannel) {
    let listener = try TCPListener(host: "127.0.0.1", port: 0)
    let port = listener.port
    let client = Background { try TCPChannel.connect(host: "127.0.0.1", port: port, timeout: timeout) }
    let server = try listener.accept(acceptTimeout: 10, timeout: timeout)
    return (try client.value(), server)
}
