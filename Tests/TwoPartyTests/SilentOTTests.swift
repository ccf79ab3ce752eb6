// Silent correlated OT (Ferret-style): the single-point COT puts Δ exactly at the receiver's point; chosen
// COTs satisfy t_j = q_j ⊕ b_j·Δ across many refills for random and edge choice bits, over both channel
// kinds; the random COTs' choice bits look uniform; traffic per random COT of the 128-bit parameters is
// under one bit; a peer that disconnects or sends the wrong frame is an error, not a crash.
import TwoParty
import Transport
import XCTest

final class SilentOTTests: XCTestCase {
    /// INSECURE toy sizes (the logic, many refills): setup n = 256, extension n = 512 (368 served each).
    static let toy = SilentOTParameters(setup: .insecureForTests(k: 32, t: 16, depth: 4),
                                        extension_: .insecureForTests(k: 64, t: 16, depth: 5))

    func testSinglePointCOTPutsDeltaAtThePoint() {
        var generator = testGenerator(seed: 40)
        let t = 5, h = 6
        let delta = generator.nextBlock()
        let q = randomBlocks(t * h, using: &generator)
        let bits = ChoiceBits(randomCount: t * h, using: &generator)
        let w = (0..<(t * h)).map { q[$0] ^ delta.masked(by: bits[$0]) }
        var sent = [Block](repeating: .zero, count: t << h), received = sent
        let message = q.withUnsafeBufferPointer { qp in
            sent.withUnsafeMutableBufferPointer { SinglePointCOT.send(t: t, depth: h, delta: delta, q: qp, tweak: 99, leaves: $0.baseAddress!) }
        }
        let points = w.withUnsafeBufferPointer { wp in
            received.withUnsafeMutableBufferPointer {
                SinglePointCOT.receive(t: t, depth: h, w: wp, choice: { bits[$0] }, message: message, tweak: 99, leaves: $0.baseAddress!)
            }
        }
        for i in 0..<t {
            // The path is the complement of the choice bits, most significant level first.
            let expected = (0..<h).reduce(0) { 2 * $0 + (bits[i * h + $1] ? 0 : 1) }
            XCTAssertEqual(points[i], expected, "tree \(i)")
            for j in 0..<(1 << h) {
                let index = (i << h) + j
                XCTAssertEqual(received[index], sent[index] ^ delta.masked(by: j == points[i]), "tree \(i) leaf \(j)")
                // Leaves have their lowest bit clear, so with lsb(Δ) = 1 the receiver's carries the point.
                XCTAssertFalse(sent[index].lsb, "tree \(i) leaf \(j)")
                XCTAssertEqual(received[index].lsb, delta.lsb && j == points[i], "tree \(i) leaf \(j)")
            }
        }
        XCTAssertEqual(Set(sent).count, sent.count, "leaves must be distinct")
    }

    /// The C kernel of the LPN code (prefetching gathers) equals the Swift loop over two full chunks of
    /// columns and a partial third, lowest bits (the receiver's choice bits) included.
    func testLPNKernelEqualsTheReference() {
        var generator = testGenerator(seed: 43)
        let p = LPNParameters.insecureForTests(k: 1000, t: 37, depth: 8)   // n = 9,472 = 2 x 4,096 + 1,280
        let secret = randomBlocks(p.k, using: &generator), start = randomBlocks(p.n, using: &generator)
        var fast = start, slow = start
        secret.withUnsafeBufferPointer { s in
            fast.withUnsafeMutableBufferPointer { PrimalLPN.encode(p, iteration: 3, secret: s, into: $0.baseAddress!) }
            slow.withUnsafeMutableBufferPointer { PrimalLPN.encodeReference(p, iteration: 3, secret: s, into: $0.baseAddress!) }
        }
        XCTAssertEqual(fast, slow)
        XCTAssertEqual(zip(fast, start).filter { $0 == $1 }.count, 0, "every column changes")
        XCTAssertTrue(fast.contains { $0.lsb } && fast.contains { !$0.lsb }, "lowest bits are summed too")
    }

    func testChosenCOTsHoldTheCorrelationAcrossRefills() throws {
        var generator = testGenerator(seed: 41)
        let sizes = [1, 63, 64, 300, 1000, 2500]
        let choices = sizes.map { ChoiceBits(randomCount: $0, using: &generator) }
            + [ChoiceBits(count: 777), ChoiceBits([Bool](repeating: true, count: 777))]   // all zero, all one
        for kind in OTChannelKind.allCases {
            let ((delta, q), t) = try runTwoParties(kind,
                first: { channel -> (Block, [[Block]]) in
                    let sender = try SilentOTSender(channel: channel, parameters: Self.toy)
                    return (sender.delta, try choices.map { try sender.correlated(count: $0.count) })
                },
                second: { channel -> [[Block]] in
                    let receiver = try SilentOTReceiver(channel: channel, parameters: Self.toy)
                    return try choices.map { try receiver.correlated(choices: $0) }
                })
            XCTAssertNotEqual(delta, .zero)
            Self.assertCorrelated(q, t, delta: delta, choices: choices, "\(kind)")
        }
    }

    /// Every call's t_j = q_j ⊕ b_j·Δ, and no sender value repeats.
    static func assertCorrelated(_ q: [[Block]], _ t: [[Block]], delta: Block, choices: [ChoiceBits], _ context: String,
                                 file: StaticString = #filePath, line: UInt = #line) {
        for (call, bits) in choices.enumerated() {
            for j in 0..<bits.count where t[call][j] != q[call][j] ^ delta.masked(by: bits[j]) {
                XCTFail("\(context): call \(call) OT \(j) breaks the correlation", file: file, line: line)
                break
            }
        }
        let all = q.flatMap { $0 }
        XCTAssertEqual(Set(all).count, all.count, "\(context): sender values must be distinct", file: file, line: line)
    }

    /// COTs prepared ahead (`prepare`: several iterations queued) are served with no iteration in between,
    /// hold the correlation, and never repeat, over two rounds of preparing and serving that reuse the
    /// served runs' storage (`reserveStorage`).
    func testPreparedCOTsAreServedWithoutIterations() throws {
        var generator = testGenerator(seed: 44)
        let sizes = [1, 700, 64, 333, 902]   // 2,000 per round: six toy extension runs of 368
        let rounds = (0..<2).map { _ in sizes.map { ChoiceBits(randomCount: $0, using: &generator) } }
        let ((delta, q, senderIterations), (t, receiverIterations)) = try runTwoParties(
            first: { channel -> (Block, [[Block]], [UInt64]) in
                let sender = try SilentOTSender(channel: channel, parameters: Self.toy)
                sender.reserveStorage(forBatchesOf: 2000)
                var q: [[Block]] = [], iterations: [UInt64] = []
                for round in rounds {
                    try sender.prepare(2000)
                    iterations.append(sender.iterations)
                    q += try round.map { try sender.correlated(count: $0.count) }
                    iterations.append(sender.iterations)
                }
                XCTAssertEqual(sender.served, 4000)
                return (sender.delta, q, iterations)
            },
            second: { channel -> ([[Block]], [UInt64]) in
                let receiver = try SilentOTReceiver(channel: channel, parameters: Self.toy)
                receiver.reserveStorage(forBatchesOf: 2000)
                var t: [[Block]] = [], iterations: [UInt64] = []
                for round in rounds {
                    try receiver.prepare(2000)
                    iterations.append(receiver.iterations)
                    t += try round.map { try receiver.correlated(choices: $0) }
                    iterations.append(receiver.iterations)
                }
                return (t, iterations)
            })
        XCTAssertEqual(senderIterations, receiverIterations)
        XCTAssertEqual(senderIterations[0], senderIterations[1], "no iteration while serving prepared COTs")
        XCTAssertEqual(senderIterations[2], senderIterations[3], "no iteration while serving prepared COTs")
        XCTAssertGreaterThan(senderIterations[0], 5, "the first round queues several iterations")
        Self.assertCorrelated(q, t, delta: delta, choices: rounds.flatMap { $0 }, "two rounds")
    }

    /// Labels for garbled-circuit inputs ride on silent COTs exactly as on IKNP.
    func testCorrelatedLabelsOverSilentOT() throws {
        var generator = testGenerator(seed: 42)
        let choices = ChoiceBits(randomCount: 3000, using: &generator)
        let offset = generator.nextBlock()
        let (labels0, received) = try runTwoParties(
            first: { try SilentOTSender(channel: $0, parameters: Self.toy).sendCorrelatedLabels(count: 3000, correlation: offset) },
            second: { try SilentOTReceiver(channel: $0, parameters: Self.toy).receiveCorrelatedLabels(choices: choices) })
        for j in 0..<3000 where received[j] != labels0[j] ^ offset.masked(by: choices[j]) {
            XCTFail("label \(j) wrong")
            break
        }
    }

    /// The 128-bit parameters: one extension iteration's random COTs cost under one bit each (the trees'
    /// message over the outputs it serves), and the chosen COTs hold the correlation.
    func testStandardParametersCostUnderOneBitPerRandomCOT() throws {
        let p = SilentOTParameters.standard.extension_
        let served = p.n - p.consumed
        let setup = SilentOTParameters.standard.setup
        let count = (setup.n - p.consumed) + 1_000_000   // the setup's outputs, then into one extension iteration
        var generator = testGenerator(seed: 43)
        let choices = ChoiceBits(randomCount: count, using: &generator)
        let ((delta, q, treeBytes), t) = try runTwoParties(
            first: { channel -> (Block, [Block], UInt64) in
                let sender = try SilentOTSender(channel: channel)
                channel.resetStats()
                let q = try sender.correlated(count: count)
                return (sender.delta, q, channel.stats.bytesSent)
            },
            second: { try SilentOTReceiver(channel: $0).correlated(choices: choices) })
        for j in stride(from: 0, to: count, by: 97) where t[j] != q[j] ^ delta.masked(by: choices[j]) {
            XCTFail("OT \(j) breaks the correlation")
            break
        }
        // Sender-to-receiver traffic is the trees' message alone (the receiver sends the choice flips).
        XCTAssertEqual(treeBytes, UInt64(p.t * (2 * p.depth + 1) * 16 + Framing.headerSize))
        let bitsPerCOT = Double(treeBytes * 8) / Double(served)
        XCTAssertLessThan(bitsPerCOT, 1.0)
        print("silent OT: \(p), \(String(format: "%.3f", bitsPerCOT)) bits per random COT")
    }

    /// The receiver's random choice bits (before derandomisation) are balanced.
    func testRandomChoiceBitsAreBalanced() throws {
        let (_, ones) = try runTwoParties(
            first: { channel -> Int in _ = try SilentOTSender(channel: channel, parameters: Self.toy); return 0 },
            second: { channel -> Int in
                let receiver = try SilentOTReceiver(channel: channel, parameters: Self.toy)
                return receiver.poolChoiceBits.reduce(0) { $0 + $1.nonzeroBitCount }
            })
        let n = Self.toy.setup.n
        XCTAssertGreaterThan(ones, n / 2 - n / 8)
        XCTAssertLessThan(ones, n / 2 + n / 8)
    }

    func testPeerFaultsAreErrors() throws {
        // The sender disappears right after IKNP's base OTs: the receiver's setup fails with a transport error.
        let (_, closed) = try runTwoParties(
            first: { channel in _ = try BaseOT.receive(choices: [Bool](repeating: false, count: 128), channel: channel); channel.close() },
            second: { channel -> Error? in
                do { _ = try SilentOTReceiver(channel: channel, parameters: Self.toy); return nil } catch { return error }
            })
        XCTAssertNotNil(closed as? TransportError, "\(String(describing: closed))")
        // A trees message of the wrong length is refused by its size.
        let (_, truncated) = try runTwoParties(
            first: { channel in
                let iknp = try IKNPSender(channel: channel)
                _ = try iknp.correlated(count: Self.toy.setup.consumed)
                try channel.sendBlocks(type: 0x0113, [Block](repeating: .zero, count: 3))
                try channel.flush()
            },
            second: { channel -> Error? in
                do { _ = try SilentOTReceiver(channel: channel, parameters: Self.toy); return nil } catch { return error }
            })
        XCTAssertNotNil(truncated as? TransportError, "\(String(describing: truncated))")
    }
}
