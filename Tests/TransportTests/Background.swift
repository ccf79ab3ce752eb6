// Runs one party of a test on its own thread and waits for it with a bounded timeout.
import Foundation
import XCTest

struct BackgroundTimeout: Error, CustomStringConvertible {
    let seconds: Double
    var description: String { "background party did not finish within \(seconds) s" }
}

final class Background<T: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<T, any Error>?

    init(_ body: @escaping @Sendable () throws -> T) {
        Thread.detachNewThread { [self] in
            let outcome = Result { try body() }
            self.result = outcome
            self.done.signal()
        }
    }

    func value(timeout: Double = 30) throws -> T {
        guard done.wait(timeout: .now() + timeout) == .success else { throw BackgroundTimeout(seconds: timeout) }
        return try result!.get()
    }
}

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

import Transport

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
    var state = seed
    return (0..<count).map { _ in
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return UInt8(truncatingIfNeeded: z ^ (z >> 31))
    }
}

/// A connected TCP pair on 127.0.0.1 with an ephemeral port.
func makeTCPPair(timeout: Double = 10) throws -> (client: TCPChannel, server: TCPChannel) {
    let listener = try TCPListener(host: "127.0.0.1", port: 0)
    let port = listener.port
    let client = Background { try TCPChannel.connect(host: "127.0.0.1", port: port, timeout: timeout) }
    let server = try listener.accept(acceptTimeout: 10, timeout: timeout)
    return (try client.value(), server)
}
