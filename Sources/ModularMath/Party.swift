// The two parties of Sibyl's two-party protocols. Every module uses this one type so that the role of
// a share, a message or a function is part of its type and never an integer.

/// The role a party plays in a two-party protocol (semi-honest, Delphi-style).
///
/// The server holds the model weights; the client holds the input. Where a protocol needs an index
/// (for example SecureML's local truncation, where "party 0" and "party 1" act differently), the server
/// is share index 0 and the client is share index 1.
public enum Party: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case server = 0
    case client = 1

    /// Share index: 0 for the server, 1 for the client.
    public var shareIndex: Int { rawValue }

    /// The other party.
    public var peer: Party { self == .server ? .client : .server }

    public var description: String { self == .server ? "server" : "client" }
}
