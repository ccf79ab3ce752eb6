// x^2 in one online round for x shared as x = s + c (mod 2^64), where the client's share c is fixed
// offline and the server's share s arrives online (every tensor of Sibyl's runtime).
//
//     x^2 = s^2 + 2 s c + c^2,   2 s c = 2 (s - b) c + 2 b c
// Offline, an OLE (OLE.swift, shift 1: 63 COTs and 252 correction bytes per element) gives shares of
// 2 b c for a random b of the server's. Online the server sends d = s - b (uniform: reveals nothing); the
// client keeps c^2 + 2 d c + its share of 2 b c, minus the output share it fixed offline, and replies
// that; the server adds s^2 and its share of 2 b c. One message each way (8 bytes per element each).
// Exact in Z_(2^64): no truncation inside.
import Transport

public enum OneRoundSquare {
    /// The server's offline material: its random b and its share of 2 b c, per element.
    public struct ServerState: Sendable {
        var masks: [UInt64]
        var shares: [UInt64]
        public var count: Int { masks.count }
    }

    /// The client's offline material: its share of 2 b c, per element.
    public struct ClientState: Sendable {
        var inputShares: [UInt64]
        var shares: [UInt64]
        public var count: Int { shares.count }
    }

    public static func serverOffline(count: Int, ot: any CorrelatedOTSender) throws -> ServerState {
        var generator = AESPRG()
        let b = (0..<count).map { _ in generator.nextUInt64() }
        return ServerState(masks: b, shares: try OLESender(ot: ot).multiply(b, shift: 1))
    }

    /// `c`: the client's shares of the input.
    public static func clientOffline(shares c: [UInt64], ot: any CorrelatedOTReceiver) throws -> ClientState {
        ClientState(inputShares: c, shares: try OLEReceiver(ot: ot).multiply(c, shift: 1))
    }

    /// The server's shares of x^2, given its shares `s` of x: `serverSend`, then `serverFinish`.
    public static func serverOnline(_ state: ServerState, shares s: [UInt64], channel: any Channel) throws -> [UInt64] {
        let pending = try serverSend(state, shares: s, channel: channel)
        try channel.flush()
        return try serverFinish(pending, channel: channel)
    }

    /// What the server keeps between sending d = s - b and reading the client's reply.
    public struct ServerPending: Sendable {
        var state: ServerState
        var inputs: [UInt64]
    }

    /// Sends d = s - b (not flushed: a session may send other steps' messages in the same flight).
    public static func serverSend(_ state: ServerState, shares s: [UInt64], channel: any Channel) throws -> ServerPending {
        precondition(s.count == state.count, "square: \(s.count) shares, \(state.count) prepared")
        try channel.sendMessage(type: OTMessage.squareMasked, zip(s, state.masks).map { $0 &- $1 })
        return ServerPending(state: state, inputs: s)
    }

    /// Reads the client's reply; returns the server's shares of x^2.
    public static func serverFinish(_ pending: ServerPending, channel: any Channel) throws -> [UInt64] {
        let s = pending.inputs, state = pending.state
        let reply = try channel.receiveMessage(expecting: OTMessage.squareReply, UInt64.self, count: s.count)
        return (0..<s.count).map { k in reply[k] &+ s[k] &* s[k] &+ state.shares[k] }
    }

    /// The client's half: replies its share of x^2 minus `output`, the share of x^2 it fixed offline.
    public static func clientOnline(_ state: ClientState, output: [UInt64], channel: any Channel) throws {
        try channel.sendMessage(type: replyMessage, try clientReply(state, output: output, channel: channel))
        try channel.flush()
    }

    /// The frame type of the client's reply.
    public static let replyMessage = OTMessage.squareReply

    /// Reads the server's d and returns the reply to send (its share of x^2 minus `output`).
    public static func clientReply(_ state: ClientState, output: [UInt64], channel: any Channel) throws -> [UInt64] {
        precondition(output.count == state.count, "square: \(output.count) outputs for \(state.count) elements")
        let d = try channel.receiveMessage(expecting: OTMessage.squareMasked, UInt64.self, count: state.count)
        let c = state.inputShares
        var reply = [UInt64](repeating: 0, count: c.count)
        for k in 0..<c.count {
            let cross: UInt64 = (c[k] &* d[k]) &<< 1
            reply[k] = c[k] &* c[k] &+ cross &+ state.shares[k] &- output[k]
        }
        return reply
    }
}
