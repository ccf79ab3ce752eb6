// The one network vocabulary of Sibyl: a link with a bandwidth and a round-trip time, and the latency
// of moving counted traffic over it. The secure runtime reports its measurements in these units and the
// planner's cost model predicts in them, so both sides import this module (it depends on nothing).
//
// Units: bytes in both directions, and one-way flights (a flight is a maximal run of traffic in one
// direction; a request and its reply are two flights, one round trip). The parties alternate, so
// transfers do not overlap: latency = bytes x 8 / bandwidth + flights x RTT / 2. Computation is not
// included: add the measured compute time.

/// A network the two parties talk over.
public struct NetworkProfile: Codable, Hashable, Sendable, CustomStringConvertible {
    /// "lan", "wan", "loopback" (the names flags take).
    public var name: String
    public var bitsPerSecond: Double
    public var roundTripSeconds: Double

    public init(name: String, bitsPerSecond: Double, roundTripSeconds: Double) {
        precondition(bitsPerSecond > 0 && roundTripSeconds >= 0, "bandwidth must be positive, RTT non-negative")
        self.name = name
        self.bitsPerSecond = bitsPerSecond
        self.roundTripSeconds = roundTripSeconds
    }

    /// The settings of Delphi's and OpenCheetah's evaluations: LAN 3 Gbps, 0.3 ms RTT; WAN 400 Mbps, 40 ms.
    public static let lan = NetworkProfile(name: "lan", bitsPerSecond: 3e9, roundTripSeconds: 0.3e-3)
    public static let wan = NetworkProfile(name: "wan", bitsPerSecond: 400e6, roundTripSeconds: 40e-3)
    /// No transfer time and no round trips: the measured time alone.
    public static let loopback = NetworkProfile(name: "loopback", bitsPerSecond: .infinity, roundTripSeconds: 0)

    public static func named(_ name: String) -> NetworkProfile? {
        [lan, wan, loopback].first { $0.name == name }
    }

    /// Seconds to move `bytes` (both directions together) in `flights` one-way flights.
    public func latency(bytes: Double, flights: Double) -> Double {
        (bitsPerSecond.isFinite ? bytes * 8 / bitsPerSecond : 0) + flights * roundTripSeconds / 2
    }

    public var description: String {
        bitsPerSecond.isFinite ? "\(name) (\(bitsPerSecond / 1e6) Mbps, \(roundTripSeconds * 1e3) ms RTT)" : name
    }
}
