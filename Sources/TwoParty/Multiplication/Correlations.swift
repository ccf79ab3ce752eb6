// Offline correlations for polynomial activations over Z_(2^64), each party's shares, and their
// generation from OT-based multiplication (see OLE.swift). Sizes per correlation with IKNP:
//   Beaver triple (a, b, c = a·b):   two cross products a0·b1, a1·b0: 128 COTs + 2·260 B = 2568 B
//   square pair   (a, a^2):          one cross product 2·a0·a1:         63 COTs + 252 B   = 1260 B
//   known-factor OLE (c ⊙ b):        one product:                        64 COTs + 260 B   = 1284 B
// (plus a 16-byte frame header per message). Each correlation must be used once.

/// The role a party played when its correlations were generated: the correlated-OT `sender` or
/// `receiver`. Online, the sender speaks first and adds the public terms, so the two parties never
/// need any other agreement.
public enum CorrelationRole: Sendable, Equatable {
    case sender, receiver
}

/// One party's additive shares of Beaver triples: Σ a·Σ b = Σ c (mod 2^64), element-wise.
public struct BeaverTripleShares: Sendable, Equatable {
    public let role: CorrelationRole
    public var a: [UInt64]
    public var b: [UInt64]
    public var c: [UInt64]

    public init(role: CorrelationRole, a: [UInt64], b: [UInt64], c: [UInt64]) {
        precondition(a.count == b.count && b.count == c.count, "triple vectors differ in length")
        self.role = role
        self.a = a
        self.b = b
        self.c = c
    }

    public var count: Int { a.count }

    /// The triples in `range` (to hand different ones to different layers).
    public func slice(_ range: Range<Int>) -> BeaverTripleShares {
        BeaverTripleShares(role: role, a: Array(a[range]), b: Array(b[range]), c: Array(c[range]))
    }
}

/// One party's additive shares of square pairs: (Σ a)^2 = Σ aSquared (mod 2^64), element-wise.
public struct SquarePairShares: Sendable, Equatable {
    public let role: CorrelationRole
    public var a: [UInt64]
    public var aSquared: [UInt64]

    public init(role: CorrelationRole, a: [UInt64], aSquared: [UInt64]) {
        precondition(a.count == aSquared.count, "square-pair vectors differ in length")
        self.role = role
        self.a = a
        self.aSquared = aSquared
    }

    public var count: Int { a.count }

    public func slice(_ range: Range<Int>) -> SquarePairShares {
        SquarePairShares(role: role, a: Array(a[range]), aSquared: Array(aSquared[range]))
    }
}

/// One party's half of an OLE correlation for products with a factor one party knows: the sender holds
/// `factor` = its vector b, the receiver `factor` = a random mask c; `share`s add up to b ⊙ c.
public struct KnownFactorShares: Sendable, Equatable {
    public let role: CorrelationRole
    public var factor: [UInt64]
    public var share: [UInt64]

    public init(role: CorrelationRole, factor: [UInt64], share: [UInt64]) {
        precondition(factor.count == share.count, "OLE vectors differ in length")
        self.role = role
        self.factor = factor
        self.share = share
    }

    public var count: Int { factor.count }
}

func randomWords(_ count: Int, using generator: inout AESPRG) -> [UInt64] {
    var words = [UInt64](repeating: 0, count: count)
    words.withUnsafeMutableBytes { generator.fillBytes($0) }
    return words
}

extension OLESender {
    /// Generates `count` Beaver triples (this side: a0, b0 random; cross terms a0·b1 and b0·a1 as one OLE).
    public func generateTriples(count: Int) throws -> BeaverTripleShares {
        var generator = AESPRG()
        let a = randomWords(count, using: &generator)
        let b = randomWords(count, using: &generator)
        let cross = try multiply(a + b)
        let c = (0..<count).map { k in a[k] &* b[k] &+ cross[k] &+ cross[count + k] }
        return BeaverTripleShares(role: .sender, a: a, b: b, c: c)
    }

    /// Generates `count` square pairs (this side: a0 random; cross term 2·a0·a1 with 63 OTs per pair).
    public func generateSquarePairs(count: Int) throws -> SquarePairShares {
        var generator = AESPRG()
        let a = randomWords(count, using: &generator)
        let cross = try multiply(a, shift: 1)
        return SquarePairShares(role: .sender, a: a, aSquared: (0..<count).map { a[$0] &* a[$0] &+ cross[$0] })
    }

    /// OLE for a factor this side knows: shares of `factors` ⊙ c for the receiver's random mask c.
    public func generateKnownFactor(_ factors: [UInt64]) throws -> KnownFactorShares {
        KnownFactorShares(role: .sender, factor: factors, share: try multiply(factors))
    }
}

extension OLEReceiver {
    /// Generates `count` Beaver triples (this side: a1, b1 random; its bits choose in both cross terms).
    public func generateTriples(count: Int) throws -> BeaverTripleShares {
        var generator = AESPRG()
        let a = randomWords(count, using: &generator)
        let b = randomWords(count, using: &generator)
        let cross = try multiply(b + a)
        let c = (0..<count).map { k in a[k] &* b[k] &+ cross[k] &+ cross[count + k] }
        return BeaverTripleShares(role: .receiver, a: a, b: b, c: c)
    }

    /// Generates `count` square pairs (this side: a1 random).
    public func generateSquarePairs(count: Int) throws -> SquarePairShares {
        var generator = AESPRG()
        let a = randomWords(count, using: &generator)
        let cross = try multiply(a, shift: 1)
        return SquarePairShares(role: .receiver, a: a, aSquared: (0..<count).map { a[$0] &* a[$0] &+ cross[$0] })
    }

    /// OLE with the sender's known factor b: this side draws the random mask c and gets shares of b ⊙ c.
    public func generateKnownFactor(count: Int) throws -> KnownFactorShares {
        var generator = AESPRG()
        let mask = randomWords(count, using: &generator)
        return KnownFactorShares(role: .receiver, factor: mask, share: try multiply(mask))
    }
}
