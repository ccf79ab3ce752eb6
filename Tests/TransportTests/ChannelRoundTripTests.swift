import NetworkCost
import Transport
import XCTest
import TestSupport

/// Round trips of raw bytes and framed messages over both channel kinds, and traffic accounting.
final class ChannelRoundTripTests: XCTestCase {
    /// One party sends a few frames (small and large) and raw values, the other echoes them back.
    private func exerciseEcho(_ a: any Channel, _ b: any Channel, seed: UInt64) throws {
        let sizes = [0, 1, 15, 16, 1000, 300_000, 3_000_000]
        let payloads = sizes.enumerated().map { testBytes(count: $0.element, seed: seed &+ UInt64($0.offset)) }
        let echo = Background { () throws -> Int in
            for (index, size) in sizes.enumerated() {
                let payload = try b.receiveMessage(expecting: UInt16(0x10 + index))
                XCTAssertEqual(payload.count, size)
                try b.sendMessage(type: UInt16(0x80 + index), payload)
            }
            let words = try b.receive(UInt64.self, count: 3)
            try b.send(words.map { $0 &+ 1 })
            try b.flush()
            return words.count
        }
        for (index, payload) in payloads.enumerated() {
            try a.sendMessage(type: UInt16(0x10 + index), payload)
            let back = try a.receiveMessage(expecting: UInt16(0x80 + index))
            XCTAssertEqual(back, payload, "seed \(seed), frame \(index)")
        }
        try a.send([UInt64(1), 2, .max])
        XCTAssertEqual(try a.receive(UInt64.self, count: 3), [2, 3, 0])
        XCTAssertEqual(try echo.value(), 3)

        let total = UInt64(payloads.reduce(0) { $0 + $1.count } + sizes.count * Framing.headerSize + 24)
        XCTAssertEqual(a.stats.bytesSent, total)
        XCTAssertEqual(a.stats.bytesReceived, total)
        XCTAssertEqual(a.stats.roundsSent, UInt64(sizes.count + 1))
        XCTAssertEqual(a.stats.roundsReceived, UInt64(sizes.count + 1))
        XCTAssertEqual(b.stats.bytesSent, a.stats.bytesReceived)
        XCTAssertEqual(b.stats.roundsReceived, a.stats.roundsSent)
        a.resetStats()
        XCTAssertEqual(a.stats, ChannelStats())
    }

    func testInMemoryRoundTrip() throws {
        let (a, b) = InMemoryChannel.makePair(timeout: 10)
        try exerciseEcho(a, b, seed: 1)
    }

    func testBoundedInMemoryRoundTrip() throws {
        let (a, b) = InMemoryChannel.makePair(capacity: 4096, timeout: 10)
        try exerciseEcho(a, b, seed: 2)
    }

    func testTCPRoundTrip() throws {
        let (client, server) = try makeTCPPair()
        defer { client.close(); server.close() }
        try exerciseEcho(client, server, seed: 3)
    }

    /// Both ends write 24 MiB in frames before either reads (the pipelined offline phase's pattern): far
    /// beyond the socket buffers, so each send waits for room, and reads what the peer sent meanwhile
    /// instead of deadlocking; every frame then arrives intact and in order, and the counters count what
    /// the protocol received, not when the bytes were drained.
    func testTCPBothSidesWritingFirstDoNotDeadlock() throws {
        let (client, server) = try makeTCPPair(timeout: 20)
        defer { client.close(); server.close() }
        let frames = (0..<12).map { testBytes(count: 2 << 20, seed: 100 + UInt64($0)) }
        @Sendable func writeThenRead(_ channel: TCPChannel, _ mine: [[UInt8]]) throws -> [[UInt8]] {
            for frame in mine { try channel.sendMessage(type: 7, frame) }
            try channel.flush()
            return try mine.map { _ in try channel.receiveMessage(expecting: 7) }
        }
        let serverSide = Background { try writeThenRead(server, frames.reversed()) }
        let received = try writeThenRead(client, frames)
        XCTAssertEqual(received, frames.reversed())
        XCTAssertEqual(try serverSide.value(), frames)
        XCTAssertEqual(client.stats.roundsSent, 1)
        XCTAssertEqual(client.stats.roundsReceived, 1)
        XCTAssertEqual(client.stats.bytesReceived, client.stats.bytesSent)
    }

    func testBoundedQueueBlocksUntilRead() throws {
        let (a, b) = InMemoryChannel.makePair(capacity: 1024, timeout: 10)
        let data = testBytes(count: 200_000, seed: 4)
        let reader = Background { () throws -> [UInt8] in
            var collected: [UInt8] = []
            for _ in 0..<200 { collected += try b.receiveBytes(count: 1000) }
            return collected
        }
        for start in stride(from: 0, to: data.count, by: 500) {
            try data[start..<(start + 500)].withUnsafeBytes { try a.send($0) }
            try a.flush()
        }
        XCTAssertEqual(try reader.value(), data)
    }

    func testRoundsCountDirectionChanges() throws {
        let (a, b) = InMemoryChannel.makePair(timeout: 10)
        try a.send([UInt8(1)])
        try a.send([UInt8(2)])          // same flight
        try a.flush()                   // one thread drives both ends here, so flush by hand
        XCTAssertEqual(try b.receiveBytes(count: 2), [1, 2])
        try b.send([UInt8(3)])
        try b.flush()
        XCTAssertEqual(try a.receiveBytes(count: 1), [3])
        try a.send([UInt8(4)])
        try a.flush()
        XCTAssertEqual(try b.receiveBytes(count: 1), [4])
        XCTAssertEqual(a.stats, ChannelStats(bytesSent: 3, bytesReceived: 1, roundsSent: 2, roundsReceived: 1))
        XCTAssertEqual(b.stats, ChannelStats(bytesSent: 1, bytesReceived: 3, roundsSent: 1, roundsReceived: 2))
        let delta = a.stats - ChannelStats(bytesSent: 1, bytesReceived: 0, roundsSent: 1, roundsReceived: 0)
        XCTAssertEqual(delta, ChannelStats(bytesSent: 2, bytesReceived: 1, roundsSent: 1, roundsReceived: 1))
    }

    func testNetworkModelPrediction() {
        let stats = ChannelStats(bytesSent: 3_000_000, bytesReceived: 750_000, roundsSent: 2, roundsReceived: 2)
        // 30 Mbit at 3 Gbps = 10 ms; 4 flights x 0.15 ms = 0.6 ms.
        XCTAssertEqual(NetworkProfile.lan.predictedSeconds(for: stats), 0.0106, accuracy: 1e-9)
        // 30 Mbit at 400 Mbps = 75 ms; 4 flights x 20 ms = 80 ms.
        XCTAssertEqual(NetworkProfile.wan.predictedSeconds(for: stats), 0.155, accuracy: 1e-9)
    }

    func testReceiveAnyMessageDispatchesOnType() throws {
        let (a, b) = InMemoryChannel.makePair(timeout: 10)
        try a.sendMessage(type: 7, [UInt8]([1, 2, 3]))
        try a.sendMessage(type: 9, [UInt8]())
        try a.flush()
        let first = try b.receiveAnyMessage()
        XCTAssertEqual(first.type, 7)
        XCTAssertEqual(first.payload, [1, 2, 3])
        let second = try b.receiveAnyMessage()
        XCTAssertEqual(second.type, 9)
        XCTAssertEqual(second.payload, [])
    }

    func testHeaderEncodingRoundTrips() throws {
        let header = FrameHeader(type: 0xBEEF, length: 123_456_789)
        let bytes = header.encoded()
        XCTAssertEqual(bytes.count, Framing.headerSize)
        XCTAssertEqual(Array(bytes[0..<4]), Array("SBYL".utf8))
        let decoded = try bytes.withUnsafeBytes { try FrameHeader.decode($0, maxLength: .max) }
        XCTAssertEqual(decoded, header)
    }
}
