// The online steps that consume the offline correlations, on additive shares over Z_(2^64):
// - Beaver multiplication (Beaver, Crypto 1991): open d = x - a, e = y - b; z = c + d·b + e·a (+ d·e once).
// - Squaring with a square pair: open d = x - a; z = a^2 + 2·d·a (+ d^2 once): half the bytes of a triple.
// - Product with a factor y known to the OLE sender: the receiver sends x_r - c; the sender computes
//   x_s·y + (x_r - c)·y + u, the receiver keeps v (u + v = c·y). One message, 8 bytes per element.
// Exchanges are ordered (the correlation sender writes first, then reads), so they cannot deadlock on
// blocking channels of any buffer size; they cost one message each way (two flights, one round trip).
import Transport

/// Online multiplication of secret-shared vectors with offline correlations.
public enum SharedMultiplication {
    /// Exchanges `mine` for the peer's vector of the same length, sender first.
    private static func exchange(_ mine: [UInt64], role: CorrelationRole, type: UInt16, channel: any Channel) throws -> [UInt64] {
        switch role {
        case .sender:
            try channel.sendMessage(type: type, mine)
            try channel.flush()
            return try channel.receiveMessage(expecting: type, UInt64.self, count: mine.count)
        case .receiver:
            let theirs = try channel.receiveMessage(expecting: type, UInt64.self, count: mine.count)
            try channel.sendMessage(type: type, mine)
            try channel.flush()
            return theirs
        }
    }

    /// Shares of x ⊙ y from shares of x and y and one triple per element (16 bytes each way per element).
    public static func multiply(x: [UInt64], y: [UInt64], triples: BeaverTripleShares, channel: any Channel) throws -> [UInt64] {
        let n = x.count
        precondition(y.count == n && triples.count >= n, "need equal lengths and a triple per element")
        var masked = [UInt64](repeating: 0, count: 2 * n)
        for k in 0..<n {
            masked[k] = x[k] &- triples.a[k]
            masked[n + k] = y[k] &- triples.b[k]
        }
        let theirs = try exchange(masked, role: triples.role, type: OTMessage.beaverOpen, channel: channel)
        let leader = triples.role == .sender
        return (0..<n).map { k in
            let d = masked[k] &+ theirs[k]
            let e = masked[n + k] &+ theirs[n + k]
            var z = triples.c[k] &+ d &* triples.b[k] &+ e &* triples.a[k]
            if leader { z &+= d &* e }
            return z
        }
    }

    /// Shares of x ⊙ x from shares of x and one square pair per element (8 bytes each way per element).
    public static func square(x: [UInt64], pairs: SquarePairShares, channel: any Channel) throws -> [UInt64] {
        let n = x.count
        precondition(pairs.count >= n, "need a square pair per element")
        let masked = (0..<n).map { x[$0] &- pairs.a[$0] }
        let theirs = try exchange(masked, role: pairs.role, type: OTMessage.squareOpen, channel: channel)
        let leader = pairs.role == .sender
        return (0..<n).map { k in
            let d = masked[k] &+ theirs[k]
            var z = pairs.aSquared[k] &+ 2 &* d &* pairs.a[k]
            if leader { z &+= d &* d }
            return z
        }
    }

    /// Shares of x ⊙ y where the OLE sender knows y (`correlation.factor` on its side). x is shared;
    /// one message receiver -> sender (8 bytes per element).
    public static func multiplyKnownFactor(x: [UInt64], correlation: KnownFactorShares, channel: any Channel) throws -> [UInt64] {
        let n = x.count
        precondition(correlation.count == n, "need one OLE element per element of x")
        switch correlation.role {
        case .receiver:
            let masked = (0..<n).map { x[$0] &- correlation.factor[$0] }
            try channel.sendMessage(type: OTMessage.knownFactorMasked, masked)
            try channel.flush()
            return correlation.share
        case .sender:
            let masked = try channel.receiveMessage(expecting: OTMessage.knownFactorMasked, UInt64.self, count: n)
            return (0..<n).map { k in
                (x[k] &+ masked[k]) &* correlation.factor[k] &+ correlation.share[k]
            }
        }
    }
}
