// The OT-based ReLU (millionaire, exact truncation, multiplexer with OT both ways) against the garbled ReLU
// circuit's function (ReLUCircuit.reference: what the garbled ReLU computes, bit for bit) on random and edge
// values: 0, ±1, the largest values of either sign, ±2^f and its neighbours (where truncation carries), with
// random high bits in both shares; over IKNP and silent OT, in both directions.
import Transport
import TwoParty
import XCTest

final class OTReLUTests: XCTestCase {
    func testOTReLUComputesWhatTheGarbledCircuitComputes() throws {
        var generator = testGenerator(seed: 60)
        // Trees of 0 to 5 levels: the server learns its shares first (even) or the client does (odd).
        for (k, f) in [(2, 0), (2, 1), (3, 1), (8, 0), (8, 3), (35, 13), (40, 12), (64, 0), (64, 20)] {
            let half: UInt64 = 1 << UInt64(k - 1)
            let top = half - 1                                   // the largest |x| allowed: |x| < 2^(k-1)
            let unit: UInt64 = 1 << UInt64(f)
            var values: [UInt64] = [0, 1, 0 &- 1, top, 0 &- top, unit, unit - 1, unit + 1, 0 &- unit, 0 &- (unit - 1),
                                    top &- unit, top & ~(unit - 1)]
            values = values.filter { Int64(bitPattern: $0).magnitude < half }   // the edges that exist for small k
            for _ in 0..<300 {
                let magnitude = generator.nextUInt64() % half    // |x| < 2^(k-1)
                values.append(generator.nextUInt64() & 1 == 0 ? magnitude : 0 &- magnitude)
            }
            let s = values.map { _ in generator.nextUInt64() }
            let c = zip(values, s).map { $0 &- $1 }
            let relu = try ReLUCircuit(valueBits: k, truncationBits: f)
            for silent in [false, true] {
                let (y0, y1) = try runTwoParties(
                    first: { channel -> [UInt64] in
                        let forward: any CorrelatedOTSender = silent
                            ? try SilentOTSender(channel: channel, parameters: SilentOTTests.toy) : try IKNPSender(channel: channel)
                        let reverse: any CorrelatedOTReceiver = silent
                            ? try SilentOTReceiver(channel: channel, parameters: SilentOTTests.toy) : try IKNPReceiver(channel: channel)
                        return try OTReLU.server(s, valueBits: k, truncation: f, forward: forward, reverse: reverse)
                    },
                    second: { channel -> [UInt64] in
                        let forward: any CorrelatedOTReceiver = silent
                            ? try SilentOTReceiver(channel: channel, parameters: SilentOTTests.toy) : try IKNPReceiver(channel: channel)
                        let reverse: any CorrelatedOTSender = silent
                            ? try SilentOTSender(channel: channel, parameters: SilentOTTests.toy) : try IKNPSender(channel: channel)
                        return try OTReLU.client(c, valueBits: k, truncation: f, forward: forward, reverse: reverse)
                    })
                for e in values.indices {
                    let expected = relu.reference(clientShare: c[e], serverShare: s[e], mask: 0)
                    if y0[e] &+ y1[e] != expected {
                        XCTFail("k = \(k), f = \(f), silent \(silent): ReLU(\(Int64(bitPattern: values[e]))) >> f gave "
                                + "\(y0[e] &+ y1[e]), the circuit \(expected)")
                        break
                    }
                }
                // Fresh shares: neither side's share is the result.
                XCTAssertNotEqual(y0, values.indices.map { relu.reference(clientShare: c[$0], serverShare: s[$0], mask: 0) })
            }
        }
    }

    /// `correlatedOTs` counts exactly what a layer takes in each direction: prepared ahead, the layer runs
    /// no silent OT iteration, serves that many COTs, and still computes the circuit's function.
    func testPreparedCorrelatedOTsCoverALayerExactly() throws {
        var generator = testGenerator(seed: 61)
        for (k, f, n) in [(2, 1, 1), (8, 3, 70), (35, 13, 200), (64, 20, 65)] {
            let half: UInt64 = 1 << UInt64(k - 1)
            let values = (0..<n).map { _ in
                let magnitude = generator.nextUInt64() % half
                return generator.nextUInt64() & 1 == 0 ? magnitude : 0 &- magnitude
            }
            let s = values.map { _ in generator.nextUInt64() }
            let c = zip(values, s).map { $0 &- $1 }
            let counts = OTReLU.correlatedOTs(count: n, valueBits: k, truncation: f)
            // A side's result and the change of (iterations forward, reverse, COTs served forward, reverse) it caused.
            @Sendable func measured(_ counters: () -> [UInt64], _ body: () throws -> [UInt64]) rethrows -> ([UInt64], [UInt64]) {
                let before = counters()
                let y = try body()
                return (y, zip(counters(), before).map { $0 - $1 })
            }
            let ((y0, server), (y1, client)) = try runTwoParties(
                first: { channel -> ([UInt64], [UInt64]) in
                    let forward = try SilentOTSender(channel: channel, parameters: SilentOTTests.toy)
                    let reverse = try SilentOTReceiver(channel: channel, parameters: SilentOTTests.toy)
                    try forward.prepare(counts.forward)
                    try reverse.prepare(counts.reverse)
                    return try measured({ [forward.iterations, reverse.iterations, forward.served, reverse.served] }) {
                        try OTReLU.server(s, valueBits: k, truncation: f, forward: forward, reverse: reverse)
                    }
                },
                second: { channel -> ([UInt64], [UInt64]) in
                    let forward = try SilentOTReceiver(channel: channel, parameters: SilentOTTests.toy)
                    let reverse = try SilentOTSender(channel: channel, parameters: SilentOTTests.toy)
                    try forward.prepare(counts.forward)
                    try reverse.prepare(counts.reverse)
                    return try measured({ [forward.iterations, reverse.iterations, forward.served, reverse.served] }) {
                        try OTReLU.client(c, valueBits: k, truncation: f, forward: forward, reverse: reverse)
                    }
                })
            let expected: [UInt64] = [0, 0, UInt64(counts.forward), UInt64(counts.reverse)]
            XCTAssertEqual(server, expected, "k = \(k), f = \(f): server's iterations and COTs served")
            XCTAssertEqual(client, expected, "k = \(k), f = \(f): client's iterations and COTs served")
            let relu = try ReLUCircuit(valueBits: k, truncationBits: f)
            for e in 0..<n where y0[e] &+ y1[e] != relu.reference(clientShare: c[e], serverShare: s[e], mask: 0) {
                XCTFail("k = \(k), f = \(f): element \(e) wrong")
                break
            }
        }
    }

    /// A server that disappears after the offline part or mid-protocol, or sends a comparison table of the
    /// wrong length (short or long), makes the client's side fail with a transport error instead of hanging
    /// or reading garbage.
    func testPeerFaultsAreErrors() throws {
        let shares = (0..<64).map { UInt64($0) &* 0x9E37_79B9 }
        @Sendable func client(_ channel: any Channel) -> Error? {
            do {
                let forward = try IKNPReceiver(channel: channel), reverse = try IKNPSender(channel: channel)
                _ = try OTReLU.client(shares, valueBits: 40, truncation: 12, forward: forward, reverse: reverse)
                return nil
            } catch { return error }
        }
        // The real offline part, then the client's first online flight (its opening of m_c).
        @Sendable func offline(_ channel: any Channel) throws -> OTReLU.ServerPreparation {
            let forward = try IKNPSender(channel: channel), reverse = try IKNPReceiver(channel: channel)
            let prepared = try OTReLU.prepareServer(count: 64, valueBits: 40, truncation: 12, forward: forward, reverse: reverse)
            try OTReLU.sendTables(prepared, channel: channel)
            return prepared
        }
        let cases: [(String, @Sendable (any Channel) throws -> Void)] = [
            ("closes after the offline part", { channel in _ = try offline(channel); channel.close() }),
            ("closes after the comparison, before the products", { channel in
                let prepared = try offline(channel)
                _ = try channel.receiveMessage(expecting: 0x0303, UInt64.self, count: 1)
                _ = try Millionaire.send(shares.map { $0 & ((1 << 39) - 1) }, prepared: prepared.comparison, channel: channel) {
                    try channel.sendMessage(type: 0x0303, [UInt64](repeating: 0, count: 64))
                }
                channel.close()
            }),
            ("short table", { channel in
                _ = try offline(channel)
                _ = try channel.receiveMessage(expecting: 0x0303, UInt64.self, count: 1)
                try channel.sendMessage(type: 0x0301, [UInt64](repeating: 0, count: 3))   // SmallOT.tableMessage
                try channel.flush()
            }),
            ("long table", { channel in
                _ = try offline(channel)
                _ = try channel.receiveMessage(expecting: 0x0303, UInt64.self, count: 1)
                try channel.sendMessage(type: 0x0301, [UInt64](repeating: 0, count: 1 << 12))
                try channel.flush()
            }),
        ]
        for (name, server) in cases {
            let (_, failure) = try runTwoParties(first: { try server($0) }, second: client)
            XCTAssertNotNil(failure as? TransportError, "\(name): \(String(describing: failure))")
        }
    }

    /// One OT ReLU layer's online part on its own takes T + 3 flights for a comparison tree of T levels (the
    /// client's opening of m_c, the table, the pipelined openings, the products' exchange); in a network the
    /// client's last flight carries the next layer's first, so T + 2 per layer where T is even. Its offline
    /// part takes 2: the client's choices out; the server's choices and the triples' table back.
    func testOTReLUFlights() throws {
        for (k, f, levels) in [(8, 3, 1), (35, 13, 4), (64, 20, 5)] {
            let shares = (0..<100).map { UInt64($0) &* 0x9E37_79B9_7F4A_7C15 }
            let (_, rounds) = try runTwoParties(
                first: { channel in
                    let forward = try IKNPSender(channel: channel), reverse = try IKNPReceiver(channel: channel)
                    let prepared = try OTReLU.prepareServer(count: shares.count, valueBits: k, truncation: f, forward: forward, reverse: reverse)
                    try OTReLU.sendTables(prepared, channel: channel)
                    _ = try OTReLU.server(shares, prepared: prepared, channel: channel)
                },
                second: { channel -> (offline: UInt64, online: UInt64) in
                    let forward = try IKNPReceiver(channel: channel), reverse = try IKNPSender(channel: channel)
                    channel.resetStats()
                    var pending = try OTReLU.beginClient(shares, valueBits: k, truncation: f, forward: forward)
                    try pending.reverse(reverse)
                    let prepared = try OTReLU.finishClient(pending, channel: channel)
                    let offline = channel.stats.totalRounds
                    channel.resetStats()
                    _ = try OTReLU.client(prepared: prepared, channel: channel)
                    return (offline, channel.stats.totalRounds)
                })
            XCTAssertEqual(rounds.online, UInt64(levels + 3), "k = \(k), f = \(f)")
            XCTAssertEqual(rounds.offline, 2, "k = \(k), f = \(f): the client's choices out, the server's and the table in")
        }
    }
}
