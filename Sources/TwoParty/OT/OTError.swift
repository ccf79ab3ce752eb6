// Errors of the oblivious-transfer and OT-based multiplication protocols. Channel failures surface
// unchanged as Transport's `TransportError`.

/// What can go wrong in OT and multiplication beyond the channel itself.
public enum OTError: Error, Equatable, Sendable, CustomStringConvertible {
    /// libsodium could not be initialised.
    case sodiumUnavailable
    /// The peer sent bytes that are not a valid ristretto255 point, or the identity (a malformed or
    /// malicious base-OT message).
    case invalidPoint(message: String, index: Int)
    /// The two parties called the protocol with different sizes (detected from message lengths).
    case sizeMismatch(what: String, expected: Int, received: Int)
    /// The peer sent a message that does not parse (the text says which and why).
    case malformedMessage(String)

    public var description: String {
        switch self {
        case .sodiumUnavailable:
            return "libsodium failed to initialise (sodium_init)"
        case let .invalidPoint(message, index):
            return "base OT: \(message) #\(index) from the peer is not a valid non-identity ristretto255 point"
        case let .sizeMismatch(what, expected, received):
            return "\(what): this side expects \(expected), the peer sent \(received); the parties disagree on the batch size"
        case let .malformedMessage(text):
            return "malformed message from the peer: \(text)"
        }
    }
}

/// Frame type tags of the OT protocols (0x01xx) and of OT-based multiplication (0x02xx).
enum OTMessage {
    static let baseOTSenderPoint: UInt16 = 0x0101
    static let baseOTReceiverPoints: UInt16 = 0x0102
    static let iknpColumns: UInt16 = 0x0110
    static let chosenMessages: UInt16 = 0x0111
    static let correlatedLabels: UInt16 = 0x0112
    static let silentTrees: UInt16 = 0x0113
    static let silentChoices: UInt16 = 0x0114
    static let oleCorrections: UInt16 = 0x0201
    static let squareMasked: UInt16 = 0x0202
    static let squareReply: UInt16 = 0x0203
    static let wideOLECorrections: UInt16 = 0x0205
    static let polynomialMasked: UInt16 = 0x0206
    static let polynomialReply: UInt16 = 0x0207
    static let polynomialRequest: UInt16 = 0x0208
    static let polynomialResponse: UInt16 = 0x0209
}
