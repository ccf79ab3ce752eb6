import CAES

/// The operating system's cryptographically secure random number generator (getrandom(2)).
/// All of Sibyl's secret randomness starts here and is expanded by `AESPRG`.
public enum SystemRandom {
    /// Fills `buffer` with random bytes. A failing OS generator is unrecoverable for a
    /// cryptographic protocol, so it stops the program with the reason.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        if caes_os_random(base, buffer.count) != 0 {
            fatalError("getrandom(2) failed: the operating system's random number generator is unavailable")
        }
    }

    public static func block() -> Block {
        var b = Block.zero
        withUnsafeMutableBytes(of: &b) { fill($0) }
        return b
    }

    public static func uint64() -> UInt64 {
        var x: UInt64 = 0
        withUnsafeMutableBytes(of: &x) { fill($0) }
        return x
    }
}

/// `SystemRandom` as a Swift `RandomNumberGenerator`, for `Int.random(in:using:)` and friends.
public struct SystemRandomNumberGenerator: RandomNumberGenerator, Sendable {
    public init() {}
    public mutating func next() -> UInt64 { SystemRandom.uint64() }
}
