// The project's one seeded generator: SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom
// number generators", OOPSLA 2014), with Lemire's multiply-shift bounded sampling ("Fast random integer
// generation in an interval", ACM TOMACS 2019). Integer-only, so shuffles, splits, planner decisions and
// test data are identical on every machine and every Swift version (unlike the standard library's
// unspecified algorithms). The data pipeline (`DataRandom`), the planner (`SeededGenerator`), the
// training generator's seeding and every test use it. Not for cryptography: keys, masks and shares come
// from the OS (TwoParty.SystemRandomNumberGenerator) or from AES-based PRGs.

/// SplitMix64: 64-bit state, one output per step. Codable as {"state": N} (the planner stores it).
public struct SplitMix64: RandomNumberGenerator, Codable, Hashable, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator keyed by several words (e.g. seed, epoch, image index): each word is mixed in turn.
    public init(keys: UInt64...) {
        var s: UInt64 = 0x243F_6A88_85A3_08D3
        for key in keys { s = Self.mix(s ^ key) }
        state = s
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The SplitMix64 output function (a bijective 64-bit finaliser).
    @inline(__always) public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` without bias (Lemire's method); `bound` must be positive.
    public mutating func next(below bound: Int) -> Int {
        precondition(bound > 0)
        let n = UInt64(bound)
        var product = next().multipliedFullWidth(by: n)
        if product.low < n {
            let threshold = (0 &- n) % n
            while product.low < threshold { product = next().multipliedFullWidth(by: n) }
        }
        return Int(product.high)
    }

    /// A Fisher-Yates shuffle of `0..<count` (Knuth, TAOCP vol. 2, Algorithm P).
    public mutating func permutation(_ count: Int) -> [Int] {
        var order = Array(0..<count)
        var i = count - 1
        while i > 0 {
            let j = next(below: i + 1)
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }
}
