// Emulated network: predicted wall time of a protocol's communication from its counted traffic, in the
// vocabulary both the runtime and the planner use (NetworkCost.NetworkProfile).
import NetworkCost

extension NetworkProfile {
    /// Predicted seconds to move the traffic one endpoint counted (`ChannelStats`: bytes both ways and
    /// flights both ways, see its definition).
    public func predictedSeconds(for stats: ChannelStats) -> Double {
        latency(bytes: Double(stats.bytesSent + stats.bytesReceived), flights: Double(stats.roundsSent + stats.roundsReceived))
    }
}
