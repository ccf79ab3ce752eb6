// The cryptographic building blocks a two-party session runs on, as types, so that one session (and one
// test body) runs over the real schemes and over insecure stand-ins with the same messages (the pattern of
// swift-homomorphic-encryption's NoOpScheme): the offline linear-layer primitive (BFV, or plain values)
// and the correlated-OT source (IKNP extension over base OTs, or a dealer).
import Foundation
import Lattice
import Transport
import TwoParty

/// The offline linear-layer primitive (the client learns L r - s for its mask r; the server keeps s).
public protocol LinearLayerScheme: Sendable {
    associatedtype Client: LinearLayerOfflineClient
    associatedtype Server: LinearLayerOfflineServer
    /// The client's side, for the parameters the server announced.
    static func client(parameters: HEParameterSet) throws -> Client
    /// The server's side, from the client's setup message.
    static func server(parameters: HEParameterSet, setup: [UInt8]) throws -> Server
}

/// BFV with coefficient encoding (Lattice): what Sibyl runs.
public enum BFVLinearScheme: LinearLayerScheme {
    public static func client(parameters: HEParameterSet) throws -> LinearLayerClient {
        LinearLayerClient(context: try parameters.context)
    }
    public static func server(parameters: HEParameterSet, setup: [UInt8]) throws -> LinearLayerServer {
        try LinearLayerServer(context: try parameters.context, setupMessage: setup)
    }
}

/// INSECURE: masks and results travel in the clear (Lattice.InsecureLinearLayerClient). Tests only.
public enum InsecureLinearScheme: LinearLayerScheme {
    public static func client(parameters: HEParameterSet) throws -> InsecureLinearLayerClient { InsecureLinearLayerClient() }
    public static func server(parameters: HEParameterSet, setup: [UInt8]) throws -> InsecureLinearLayerServer {
        InsecureLinearLayerServer()
    }
}

/// The correlated-OT source of a session (garbled-circuit input labels, OT-based multiplication).
public protocol OTScheme: Sendable {
    /// The name a server announces in its architecture (`PublicArchitecture.ot`).
    static var name: String { get }
    static func sender(channel: any Channel) throws -> any CorrelatedOTSender
    static func receiver(channel: any Channel) throws -> any CorrelatedOTReceiver
    /// The source of a direction that needs few OTs per image (the OT-based ReLU's reverse direction: one
    /// per ReLU, against about 90 forward); both sides of that direction must use the light form.
    static func lightSender(channel: any Channel) throws -> any CorrelatedOTSender
    static func lightReceiver(channel: any Channel) throws -> any CorrelatedOTReceiver
}

extension OTScheme {
    public static func lightSender(channel: any Channel) throws -> any CorrelatedOTSender { try sender(channel: channel) }
    public static func lightReceiver(channel: any Channel) throws -> any CorrelatedOTReceiver { try receiver(channel: channel) }
}

/// IKNP extension over Chou-Orlandi base OTs: what Sibyl runs.
public enum IKNPScheme: OTScheme {
    public static let name = "iknp"
    public static func sender(channel: any Channel) throws -> any CorrelatedOTSender { try IKNPSender(channel: channel) }
    public static func receiver(channel: any Channel) throws -> any CorrelatedOTReceiver { try IKNPReceiver(channel: channel) }
}

/// Silent OT (Ferret-style, TwoParty.SilentOTSender): random COTs from LPN at under half a bit each,
/// bootstrapped once per session from IKNP, 128-bit parameters. Chosen COTs cost one more bit. The light
/// form iterates on the small parameter set (`SilentOTParameters.compact`).
public enum SilentOTScheme: OTScheme {
    public static let name = "silent"
    public static func sender(channel: any Channel) throws -> any CorrelatedOTSender { try SilentOTSender(channel: channel) }
    public static func receiver(channel: any Channel) throws -> any CorrelatedOTReceiver { try SilentOTReceiver(channel: channel) }
    public static func lightSender(channel: any Channel) throws -> any CorrelatedOTSender {
        try SilentOTSender(channel: channel, parameters: .compact)
    }
    public static func lightReceiver(channel: any Channel) throws -> any CorrelatedOTReceiver {
        try SilentOTReceiver(channel: channel, parameters: .compact)
    }
}

/// INSECURE: both sides derive the correlations from one public seed (a dealer). Tests only.
public enum IdealOTScheme: OTScheme {
    public static let name = "ideal"
    static let seed = Block(lo: 0x1DEA_1D1E, hi: 0x5EED)
    public static func sender(channel: any Channel) throws -> any CorrelatedOTSender { IdealCOTSender(seed: seed, channel: channel) }
    public static func receiver(channel: any Channel) throws -> any CorrelatedOTReceiver { IdealCOTReceiver(seed: seed, channel: channel) }
}
