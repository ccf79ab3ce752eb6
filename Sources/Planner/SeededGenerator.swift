// A small deterministic random generator for the planner: explore steps and exploit choices must be
// replayable from a seed (the search log records the seed, not the draws).
//
// SplitMix64 (module SeededRandom). Not for cryptography: the planner only needs reproducible statistics.

@_exported import SeededRandom

public typealias SeededGenerator = SplitMix64

extension SplitMix64 {
    /// A generator for one member at one step, independent of the order in which members are processed.
    public static func derived(seed: UInt64, member: Int, step: Int) -> SplitMix64 {
        var mixer = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: member) &* 0xD6E8_FEB8_6659_FD93))
        _ = mixer.next()
        var generator = SplitMix64(seed: mixer.next() ^ (UInt64(truncatingIfNeeded: step) &* 0xA076_1D64_78BD_642F))
        _ = generator.next()
        return generator
    }
}
