import Transport
import TwoParty
import XCTest

/// Base OT and IKNP extension: correctness of every flavour, over both channel kinds, cross-checked
/// with the ideal OT.
final class OTTests: XCTestCase {
    func testBaseOTDeliversChosenKeys() throws {
        let seed: UInt64 = 7
        var generator = testGenerator(seed: seed)
        let choices = (0..<128).map { _ in Bool.random(using: &generator) }
        let ((keys0, keys1), chosen) = try runTwoParties(
            first: { try BaseOT.send(count: 128, channel: $0) },
            second: { try BaseOT.receive(choices: choices, channel: $0) })
        for i in 0..<128 {
            XCTAssertEqual(chosen[i], choices[i] ? keys1[i] : keys0[i], "seed \(seed), OT \(i)")
            XCTAssertNotEqual(keys0[i], keys1[i])
        }
        XCTAssertEqual(Set(keys0 + keys1).count, 256, "keys must be distinct")
    }

    func testBaseOTRejectsInvalidPoints() throws {
        // A "receiver" that answers with bytes that are not ristretto255 encodings.
        let (error, _) = try runTwoParties(
            first: { channel -> OTError? in
                do { _ = try BaseOT.send(count: 4, channel: channel); return nil } catch let e as OTError { return e }
            },
            second: { channel in
                _ = try channel.receiveMessage(expecting: 0x0101)
                try channel.sendMessage(type: 0x0102, [UInt8](repeating: 0xFF, count: 4 * 32))
                try channel.flush()
            })
        XCTAssertEqual(error, .invalidPoint(message: "receiver point B", index: 0))
        // A "sender" whose A is the identity (all-zero encoding).
        let (_, receiverError) = try runTwoParties(
            first: { channel in
                try channel.sendMessage(type: 0x0101, [UInt8](repeating: 0, count: 32))
                try channel.flush()
            },
            second: { channel -> OTError? in
                do { _ = try BaseOT.receive(choices: [true], channel: channel); return nil } catch let e as OTError { return e }
            })
        XCTAssertEqual(receiverError, .invalidPoint(message: "sender point A", index: 0))
    }

    /// Parties that disagree on sizes get an error, not a hang or a crash.
    func testSizeDisagreementsRaiseErrors() throws {
        let (baseError, _) = try runTwoParties(
            first: { channel -> OTError? in
                do { _ = try BaseOT.send(count: 4, channel: channel); return nil } catch let e as OTError { return e }
            },
            second: { channel in _ = try BaseOT.receive(choices: [true, false, true], channel: channel) })
        XCTAssertEqual(baseError, .sizeMismatch(what: "base OT count", expected: 4, received: 3))

        var generator = testGenerator(seed: 17)
        let choices = ChoiceBits(randomCount: 100, using: &generator)
        let (extensionError, _) = try runTwoParties(
            first: { channel -> TransportError? in
                let sender = try IKNPSender(channel: channel)
                do { _ = try sender.correlated(count: 8192); return nil } catch let e as TransportError { return e }
            },
            second: { channel in _ = try IKNPReceiver(channel: channel).correlated(choices: choices) })
        XCTAssertEqual(extensionError, .unexpectedMessageLength(type: 0x0110, expected: 128 * 64 * 16, received: 128 * 16))
    }

    /// t_j = q_j ⊕ r_j·Δ for sizes around chunk and block boundaries, over in-memory and TCP.
    func testIKNPCorrelatedOT() throws {
        for kind in OTChannelKind.allCases {
            let seed: UInt64 = 11
            var generator = testGenerator(seed: seed)
            let sizes = [1, 127, 128, 129, 8192, 8193, 20_000]
            let choices = sizes.map { ChoiceBits(randomCount: $0, using: &generator) }
            let ((delta, q), t) = try runTwoParties(kind,
                first: { channel -> (Block, [[Block]]) in
                    let sender = try IKNPSender(channel: channel)
                    return (sender.delta, try sizes.map { try sender.correlated(count: $0) })
                },
                second: { channel -> [[Block]] in
                    let receiver = try IKNPReceiver(channel: channel)
                    return try choices.map { try receiver.correlated(choices: $0) }
                })
            for (call, size) in sizes.enumerated() {
                for j in 0..<size where t[call][j] != q[call][j] ^ delta.masked(by: choices[call][j]) {
                    XCTFail("\(kind), seed \(seed): call \(call) OT \(j) breaks the correlation")
                    break
                }
            }
            XCTAssertNotEqual(delta, .zero)
        }
    }

    func testIKNPRandomOT() throws {
        let seed: UInt64 = 12
        var generator = testGenerator(seed: seed)
        let choices = ChoiceBits(randomCount: 10_000, using: &generator)
        let ((m0, m1), chosen) = try runTwoParties(
            first: { try IKNPSender(channel: $0).random(count: 10_000) },
            second: { try IKNPReceiver(channel: $0).random(choices: choices) })
        for j in 0..<10_000 {
            XCTAssertEqual(chosen[j], choices[j] ? m1[j] : m0[j], "seed \(seed), OT \(j)")
            XCTAssertNotEqual(m0[j], m1[j])
            // The hash must break the COT correlation: m0 ⊕ m1 differs from OT to OT.
            if j > 0 && m0[j] ^ m1[j] == m0[0] ^ m1[0] { XCTFail("seed \(seed): hash did not break the correlation"); break }
        }
    }

    /// Chosen-message OT: the receiver gets exactly the chosen messages, with IKNP and with the ideal
    /// OT on the same inputs, over both channel kinds.
    func testChosenMessagesMatchIdealOT() throws {
        let seed: UInt64 = 13
        var generator = testGenerator(seed: seed)
        let count = 9000
        let messages0 = randomBlocks(count, using: &generator)
        let messages1 = randomBlocks(count, using: &generator)
        let choices = ChoiceBits(randomCount: count, using: &generator)
        let expected = (0..<count).map { choices[$0] ? messages1[$0] : messages0[$0] }
        let dealerSeed = generator.nextBlock()
        for kind in OTChannelKind.allCases {
            let (_, viaIKNP) = try runTwoParties(kind,
                first: { try IKNPSender(channel: $0).send(messages0: messages0, messages1: messages1) },
                second: { try IKNPReceiver(channel: $0).receive(choices: choices) })
            let (_, viaIdeal) = try runTwoParties(kind,
                first: { try IdealCOTSender(seed: dealerSeed, channel: $0).send(messages0: messages0, messages1: messages1) },
                second: { try IdealCOTReceiver(seed: dealerSeed, channel: $0).receive(choices: choices) })
            XCTAssertEqual(viaIKNP, expected, "\(kind), seed \(seed)")
            XCTAssertEqual(viaIdeal, expected, "\(kind), seed \(seed)")
        }
    }

    /// Correlated labels: the receiver gets labels0 ⊕ r·R, over IKNP and the ideal OT.
    func testCorrelatedLabels() throws {
        let seed: UInt64 = 16
        var generator = testGenerator(seed: seed)
        let count = 10_000
        let choices = ChoiceBits(randomCount: count, using: &generator)
        let offset = generator.nextBlock()
        let dealerSeed = generator.nextBlock()
        for ideal in [false, true] {
            let (labels0, received) = try runTwoParties(
                first: { channel -> [Block] in
                    let ot: any CorrelatedOTSender = ideal ? IdealCOTSender(seed: dealerSeed, channel: channel)
                                                           : try IKNPSender(channel: channel)
                    return try ot.sendCorrelatedLabels(count: count, correlation: offset)
                },
                second: { channel -> [Block] in
                    let ot: any CorrelatedOTReceiver = ideal ? IdealCOTReceiver(seed: dealerSeed, channel: channel)
                                                             : try IKNPReceiver(channel: channel)
                    return try ot.receiveCorrelatedLabels(choices: choices)
                })
            for j in 0..<count where received[j] != labels0[j] ^ offset.masked(by: choices[j]) {
                XCTFail("ideal \(ideal), seed \(seed): label \(j) wrong")
                break
            }
            XCTAssertEqual(Set(labels0).count, count, "zero-labels must be distinct")
        }
    }

    func testIdealCOTCorrelation() throws {
        let seed: UInt64 = 14
        var generator = testGenerator(seed: seed)
        let choices = ChoiceBits(randomCount: 1000, using: &generator)
        let dealerSeed = generator.nextBlock()
        let (a, _) = InMemoryChannel.makePair()
        let sender = IdealCOTSender(seed: dealerSeed, channel: a)
        let receiver = IdealCOTReceiver(seed: dealerSeed, channel: a)
        let q = try sender.correlated(count: 1000)
        let t = try receiver.correlated(choices: choices)
        for j in 0..<1000 { XCTAssertEqual(t[j], q[j] ^ sender.delta.masked(by: choices[j]), "seed \(seed)") }
    }

    func testIKNPTrafficIsSixteenBytesPerCOT() throws {
        let count = 81_920
        var generator = testGenerator(seed: 15)
        let choices = ChoiceBits(randomCount: count, using: &generator)
        let (bytes, _) = try runTwoParties(
            first: { channel -> UInt64 in
                let sender = try IKNPSender(channel: channel)
                channel.resetStats()
                _ = try sender.correlated(count: count)
                return channel.stats.bytesReceived
            },
            second: { try IKNPReceiver(channel: $0).correlated(choices: choices) })
        XCTAssertEqual(bytes, UInt64(count * 16 + (count / 8192) * Framing.headerSize))
    }
}
