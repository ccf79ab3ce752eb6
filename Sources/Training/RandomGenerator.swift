// xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2018), seeded
// through SplitMix64. Its four state words go into checkpoints so a resumed run continues the stream.

public struct RandomGenerator: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var state: [UInt64]

    public init(seed: UInt64) {
        var seeding = SplitMix64(seed: seed)
        state = (0..<4).map { _ in seeding.next() }
    }

    /// Restores a saved state (4 words, not all zero).
    public init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        self.state = state
    }

    public mutating func next() -> UInt64 {
        let result = rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = rotl(state[3], 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / Float(1 << 24)) }

    /// Standard normal (Box-Muller).
    public mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) * (1.0 / Double(1 << 53)), 1e-300)
        let u2 = Double(next() >> 11) * (1.0 / Double(1 << 53))
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

import Foundation
