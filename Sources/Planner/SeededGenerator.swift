// A small deterministic random generator for the planner: explore steps and exploit choices must be
// replayable from a seed (the search log records the seed, not the draws).
//
// SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014).
// Not for cryptography: the planner only needs reproducible statistics.

public struct SeededGenerator: RandomNumberGenerator, Codable, Hashable, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A generator for one member at one step, independent of the order in which members are processed.
    public static func derived(seed: UInt64, member: Int, step: Int) -> SeededGenerator {
        var mixer = SeededGenerator(seed: seed ^ (UInt64(truncatingIfNeeded: member) &* 0xD6E8_FEB8_6659_FD93))
        _ = mixer.next()
        var generator = SeededGenerator(seed: mixer.next() ^ (UInt64(truncatingIfNeeded: step) &* 0xA076_1D64_78BD_642F))
        _ = generator.next()
        return generator
    }
}
