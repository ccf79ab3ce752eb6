// Emulated network: predicted wall time of a protocol's communication from its counted traffic.

/// A link with a bandwidth and a round-trip time, used to predict communication latency from
/// `ChannelStats` without a real network.
///
/// Model: the protocol alternates between the parties, so transfers do not overlap:
/// `time = (bytesSent + bytesReceived) * 8 / bandwidth + rounds * RTT / 2`, where `rounds` is the
/// number of one-way flights (`ChannelStats.totalRounds`, see its definition). Computation time is not
/// included; add the measured compute time.
public struct NetworkModel: Equatable, Sendable, CustomStringConvertible {
    public var name: String
    public var bandwidthBitsPerSecond: Double
    public var roundTripSeconds: Double

    public init(name: String, bandwidthBitsPerSecond: Double, roundTripSeconds: Double) {
        precondition(bandwidthBitsPerSecond > 0 && roundTripSeconds >= 0, "bandwidth must be positive, RTT non-negative")
        self.name = name
        self.bandwidthBitsPerSecond = bandwidthBitsPerSecond
        self.roundTripSeconds = roundTripSeconds
    }

    /// LAN as in Delphi/Cheetah evaluations: 3 Gbps, 0.3 ms RTT.
    public static let lan = NetworkModel(name: "LAN", bandwidthBitsPerSecond: 3e9, roundTripSeconds: 0.3e-3)
    /// WAN: 400 Mbps, 40 ms RTT.
    public static let wan = NetworkModel(name: "WAN", bandwidthBitsPerSecond: 400e6, roundTripSeconds: 40e-3)

    /// Predicted seconds to move the given traffic.
    public func predictedSeconds(bytesSent: UInt64, bytesReceived: UInt64, roundsSent: UInt64, roundsReceived: UInt64) -> Double {
        let bits = Double(bytesSent + bytesReceived) * 8
        return bits / bandwidthBitsPerSecond + Double(roundsSent + roundsReceived) * roundTripSeconds / 2
    }

    /// Predicted seconds to move the traffic one endpoint counted.
    public func predictedSeconds(for stats: ChannelStats) -> Double {
        predictedSeconds(bytesSent: stats.bytesSent, bytesReceived: stats.bytesReceived,
                         roundsSent: stats.roundsSent, roundsReceived: stats.roundsReceived)
    }

    public var description: String {
        "\(name) (\(bandwidthBitsPerSecond / 1e6) Mbps, \(roundTripSeconds * 1e3) ms RTT)"
    }
}
