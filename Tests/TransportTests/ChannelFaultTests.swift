import Transport
import XCTest

/// Channel faults raise the right TransportError, never crash or hang (every wait is bounded).
final class ChannelFaultTests: XCTestCase {
    /// Makes a connected pair of each kind: (victim, peer).
    private func pairs() throws -> [(String, any Channel, any Channel)] {
        let (a, b) = InMemoryChannel.makePair(timeout: 5)
        let (client, server) = try makeTCPPair(timeout: 5)
        return [("in-memory", a, b), ("tcp", client, server)]
    }

    func testPeerClosesBetweenFrames() throws {
        for (kind, victim, peer) in try pairs() {
            try peer.sendMessage(type: 1, [UInt8](repeating: 7, count: 10))
            peer.close()
            XCTAssertEqual(try victim.receiveMessage(expecting: 1).count, 10, kind)
            assertThrows(.exactly(.peerClosed)) { try victim.receiveMessage(expecting: 1) }
            victim.close()
        }
    }

    func testPeerClosesInsideHeader() throws {
        for (_, victim, peer) in try pairs() {
            let header = FrameHeader(type: 1, length: 100).encoded()
            try header[0..<7].withUnsafeBytes { try peer.send($0) }
            peer.close()
            assertThrows(.exactly(.peerClosedMidFrame(receivedBytes: 7, frameBytes: 16))) {
                try victim.receiveMessage(expecting: 1)
            }
            victim.close()
        }
    }

    func testPeerClosesInsidePayload() throws {
        for (_, victim, peer) in try pairs() {
            try peer.send(FrameHeader(type: 1, length: 100).encoded())
            try peer.send([UInt8](repeating: 1, count: 40))
            peer.close()
            assertThrows(.exactly(.peerClosedMidFrame(receivedBytes: 56, frameBytes: 116))) {
                try victim.receiveMessage(expecting: 1)
            }
            victim.close()
        }
    }

    func testRawShortRead() throws {
        for (_, victim, peer) in try pairs() {
            try peer.send([UInt8](repeating: 1, count: 5))
            peer.close()
            assertThrows(.exactly(.shortRead(expected: 8, received: 5))) { try victim.receiveBytes(count: 8) }
            victim.close()
        }
    }

    func testOversizedFrame() throws {
        for (_, victim, peer) in try pairs() {
            victim.maxFrameLength = 1024
            try peer.send(FrameHeader(type: 1, length: 1025).encoded())
            try peer.flush()
            assertThrows(.exactly(.oversizedFrame(length: 1025, limit: 1024))) { try victim.receiveMessage(expecting: 1) }
            try peer.send(FrameHeader(type: 1, length: .max).encoded())
            try peer.flush()
            assertThrows(.exactly(.oversizedFrame(length: .max, limit: 1024))) { try victim.receiveMessage(expecting: 1) }
            victim.maxFrameLength = .max
            try peer.send(FrameHeader(type: 1, length: .max).encoded())
            try peer.flush()
            assertThrows(.exactly(.oversizedFrame(length: .max, limit: UInt64(Int.max) - 16))) {
                try victim.receiveMessage(expecting: 1)
            }
            victim.close(); peer.close()
        }
    }

    func testWrongVersion() throws {
        for (_, victim, peer) in try pairs() {
            try peer.send(FrameHeader(type: 1, length: 0).encoded(version: Framing.version + 1))
            try peer.flush()
            assertThrows(.exactly(.versionMismatch(local: Framing.version, remote: Framing.version + 1))) {
                try victim.receiveMessage(expecting: 1)
            }
            victim.close(); peer.close()
        }
    }

    func testGarbageBytes() throws {
        for (_, victim, peer) in try pairs() {
            try peer.send(testBytes(count: 64, seed: 99))
            try peer.flush()
            assertThrows(.malformedHeader) { try victim.receiveMessage(expecting: 1) }
            victim.close(); peer.close()
        }
    }

    func testUnexpectedTypeAndLength() throws {
        for (_, victim, peer) in try pairs() {
            try peer.sendMessage(type: 2, [UInt8](repeating: 0, count: 4))
            try peer.sendMessage(type: 3, [UInt8](repeating: 0, count: 4))
            try peer.flush()
            assertThrows(.exactly(.unexpectedMessageType(expected: 1, received: 2))) { try victim.receiveMessage(expecting: 1) }
            _ = try victim.receiveBytes(count: 4)
            assertThrows(.exactly(.unexpectedMessageLength(type: 3, expected: 2, received: 4))) {
                try victim.receiveMessage(expecting: 3, UInt8.self, count: 2)
            }
            victim.close(); peer.close()
        }
    }

    func testReceiveTimesOut() throws {
        let (a, b) = InMemoryChannel.makePair(timeout: 0.2)
        assertThrows(.timeout) { try a.receiveMessage(expecting: 1) }
        b.close()
        let (client, server) = try makeTCPPair(timeout: 0.2)
        assertThrows(.timeout) { try client.receiveMessage(expecting: 1) }
        server.close()
        client.close()
    }

    func testBoundedSendTimesOutWhenPeerDoesNotRead() throws {
        let (a, b) = InMemoryChannel.makePair(capacity: 16, timeout: 0.2)
        try a.send([UInt8](repeating: 0, count: 16))
        try a.flush()
        try a.send([UInt8](repeating: 0, count: 16))
        assertThrows(.timeout) { try a.flush() }
        b.close()
    }

    func testUseAfterCloseAndSendToClosedPeer() throws {
        let (a, b) = InMemoryChannel.makePair(timeout: 1)
        a.close()
        assertThrows(.exactly(.channelClosed)) { try a.send([UInt8(1)]) }
        try b.send([UInt8(1)])
        assertThrows(.exactly(.peerClosed)) { try b.flush() }
    }

    func testConnectRefusedAndAcceptTimeout() throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        let port = listener.port
        assertThrows(.timeout) { try listener.accept(acceptTimeout: 0.1) }
        listener.close()
        assertThrows(.connectionRefused) { try TCPChannel.connect(host: "127.0.0.1", port: port, connectTimeout: 1) }
    }

    func testErrorsReadWell() {
        let error = TransportError.oversizedFrame(length: 10, limit: 5)
        XCTAssertTrue(error.description.contains("10") && error.description.contains("maxFrameLength"))
        XCTAssertTrue(TransportError.versionMismatch(local: 1, remote: 2).description.contains("version 2"))
    }
}
