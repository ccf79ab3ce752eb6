// Traffic accounting for a Channel: bytes and rounds per direction.

/// Bytes and rounds seen by one endpoint of a channel.
///
/// **Round.** A round is a maximal run of traffic in one direction, seen from this endpoint: the first
/// byte sent after receiving (or at the start) opens a new sending round, the first byte received after
/// sending (or at the start) opens a new receiving round. So a request/response exchange is one round in
/// each direction, and `roundsSent + roundsReceived` is the number of one-way network latencies the
/// protocol pays when the two parties alternate (see `NetworkProfile.predictedSeconds(for:)`). Bytes are wire bytes, frame
/// headers included.
public struct ChannelStats: Equatable, Sendable, CustomStringConvertible {
    public var bytesSent: UInt64 = 0
    public var bytesReceived: UInt64 = 0
    public var roundsSent: UInt64 = 0
    public var roundsReceived: UInt64 = 0

    public init(bytesSent: UInt64 = 0, bytesReceived: UInt64 = 0, roundsSent: UInt64 = 0, roundsReceived: UInt64 = 0) {
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
        self.roundsSent = roundsSent
        self.roundsReceived = roundsReceived
    }

    /// Bytes in both directions.
    public var totalBytes: UInt64 { bytesSent + bytesReceived }
    /// Rounds (one-way flights) in both directions.
    public var totalRounds: UInt64 { roundsSent + roundsReceived }

    /// The traffic between two snapshots (`later - earlier`), e.g. for one layer of a protocol.
    public static func - (later: ChannelStats, earlier: ChannelStats) -> ChannelStats {
        ChannelStats(bytesSent: later.bytesSent - earlier.bytesSent,
                     bytesReceived: later.bytesReceived - earlier.bytesReceived,
                     roundsSent: later.roundsSent - earlier.roundsSent,
                     roundsReceived: later.roundsReceived - earlier.roundsReceived)
    }

    public static func + (a: ChannelStats, b: ChannelStats) -> ChannelStats {
        ChannelStats(bytesSent: a.bytesSent + b.bytesSent, bytesReceived: a.bytesReceived + b.bytesReceived,
                     roundsSent: a.roundsSent + b.roundsSent, roundsReceived: a.roundsReceived + b.roundsReceived)
    }

    public var description: String {
        "sent \(bytesSent) B in \(roundsSent) rounds, received \(bytesReceived) B in \(roundsReceived) rounds"
    }
}

/// The counter each channel implementation keeps; counts at the API (send/receive calls), so buffering
/// does not change the figures.
struct TrafficCounter {
    private enum Direction { case sending, receiving }
    private(set) var stats = ChannelStats()
    private var last: Direction?

    mutating func didSend(_ count: Int) {
        guard count > 0 else { return }
        if last != .sending { stats.roundsSent += 1; last = .sending }
        stats.bytesSent += UInt64(count)
    }

    mutating func didReceive(_ count: Int) {
        guard count > 0 else { return }
        if last != .receiving { stats.roundsReceived += 1; last = .receiving }
        stats.bytesReceived += UInt64(count)
    }

    mutating func reset() {
        stats = ChannelStats()
        last = nil
    }
}
