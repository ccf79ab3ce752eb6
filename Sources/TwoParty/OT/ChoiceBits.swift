// Packed bit vectors: OT choice bits.

/// A vector of bits packed 64 to a word, least-significant bit first (bit j is bit j % 64 of word j / 64).
public struct ChoiceBits: Equatable, Sendable {
    public private(set) var count: Int
    /// Packed words; bits past `count` in the last word are zero.
    public private(set) var words: [UInt64]

    public init(count: Int) {
        precondition(count >= 0, "negative bit count")
        self.count = count
        words = [UInt64](repeating: 0, count: (count + 63) / 64)
    }

    public init(_ bits: [Bool]) {
        self.init(count: bits.count)
        for (j, bit) in bits.enumerated() where bit { words[j >> 6] |= 1 << UInt64(j & 63) }
    }

    /// `count` bits from packed words (extra high bits are cleared).
    public init(words: [UInt64], count: Int) {
        precondition(words.count * 64 >= count, "\(words.count) words hold fewer than \(count) bits")
        self.count = count
        self.words = Array(words.prefix((count + 63) / 64))
        if count % 64 != 0 { self.words[self.words.count - 1] &= (1 << UInt64(count % 64)) - 1 }
    }

    /// `count` uniformly random bits from `generator`.
    public init<G: RandomNumberGenerator>(randomCount count: Int, using generator: inout G) {
        var words = (0..<((count + 63) / 64)).map { _ in generator.next() }
        if count % 64 != 0 { words[words.count - 1] &= (1 << UInt64(count % 64)) - 1 }
        self.count = count
        self.words = words
    }

    public subscript(index: Int) -> Bool {
        get {
            precondition(index >= 0 && index < count, "bit \(index) out of range 0..<\(count)")
            return (words[index >> 6] >> UInt64(index & 63)) & 1 == 1
        }
        set {
            precondition(index >= 0 && index < count, "bit \(index) out of range 0..<\(count)")
            let mask: UInt64 = 1 << UInt64(index & 63)
            if newValue { words[index >> 6] |= mask } else { words[index >> 6] &= ~mask }
        }
    }
}

// Whole-vector operations for protocols that keep XOR-shared bits packed (the millionaires' protocol).
extension ChoiceBits {
    /// Bits [start, start + count) of packed `words`, as a vector from bit 0.
    static func extract(_ words: [UInt64], from start: Int, count: Int) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: (count + 63) / 64)
        let shift = UInt64(start & 63), first = start >> 6
        for w in out.indices {
            let lo = words[first + w] >> shift
            let hi = shift == 0 || first + w + 1 >= words.count ? 0 : words[first + w + 1] << (64 - shift)
            out[w] = lo | hi
        }
        if count & 63 != 0 { out[out.count - 1] &= (1 << UInt64(count & 63)) - 1 }
        return out
    }

    /// Bits [start, start + count) of this vector.
    func slice(from start: Int, count: Int) -> ChoiceBits {
        precondition(start >= 0 && count >= 0 && start + count <= self.count, "bits \(start)..<\(start + count) of \(self.count)")
        return ChoiceBits(words: Self.extract(words, from: start, count: count), count: count)
    }

    /// `count` bits from an OS-seeded generator.
    static func random(count: Int) -> ChoiceBits {
        var generator = AESPRG()
        return ChoiceBits(randomCount: count, using: &generator)
    }

    /// The bits as Booleans.
    var booleans: [Bool] { (0..<count).map { (words[$0 >> 6] >> UInt64($0 & 63)) & 1 == 1 } }

    /// These bits followed by `other`'s.
    func appending(_ other: ChoiceBits) -> ChoiceBits {
        let shift = UInt64(count & 63)
        var out = words
        for w in other.words {
            if shift == 0 { out.append(w); continue }
            out[out.count - 1] |= w << shift
            out.append(w >> (64 - shift))
        }
        return ChoiceBits(words: out, count: count + other.count)
    }

    static func ^ (a: ChoiceBits, b: ChoiceBits) -> ChoiceBits {
        precondition(a.count == b.count, "\(a.count) bits XOR \(b.count) bits")
        var out = a
        for w in out.words.indices { out.words[w] ^= b.words[w] }
        return out
    }

    static func & (a: ChoiceBits, b: ChoiceBits) -> ChoiceBits {
        precondition(a.count == b.count, "\(a.count) bits AND \(b.count) bits")
        var out = a
        for w in out.words.indices { out.words[w] &= b.words[w] }
        return out
    }
}
