// A seeded pseudorandom generator: ChaCha20 (RFC 8439) keyed by a 32-byte seed, with a 96-bit nonce
// naming the purpose (domain separation), and samplers for the distributions RLWE needs.
// Seeds come from the operating system's CSPRNG (SystemRandomNumberGenerator: getrandom(2) on Linux).
// The keystream is made sixteen blocks at a time (CKernels' AVX-512 ChaCha20 where the CPU has it, else
// ChaCha20.fourBlocks four times): the same stream either way.

import CKernels

/// A 32-byte seed (a ChaCha20 key).
public struct PRGSeed: Sendable, Hashable {
    /// The 32 seed bytes.
    public let bytes: [UInt8]

    /// Wraps 32 bytes; throws for any other length.
    public init(bytes: [UInt8]) throws {
        guard bytes.count == 32 else { throw LatticeError.malformedInput("a PRG seed has 32 bytes, got \(bytes.count)") }
        self.bytes = bytes
    }

    /// A fresh seed from the operating system's CSPRNG.
    public static func random() -> PRGSeed {
        var g = SystemRandomNumberGenerator()
        var b = [UInt8](repeating: 0, count: 32)
        for i in stride(from: 0, to: 32, by: 8) {
            let w = g.next()
            for k in 0..<8 { b[i + k] = UInt8(truncatingIfNeeded: w >> UInt64(8 * k)) }
        }
        return try! PRGSeed(bytes: b)
    }
}

/// Purposes of PRG streams; each stream's nonce is (purpose, index), so streams never overlap.
public enum PRGPurpose: UInt32, Sendable {
    case uniformHalf = 1, secret = 2, error = 3, flooding = 4, rerandomisation = 5, publicKeyHalf = 6, test = 7
}

/// ChaCha20 keystream as a stream of 64-bit words.
public final class PRG: RandomNumberGenerator {
    private let cipher: ChaCha20
    private let buffer: UnsafeMutablePointer<UInt32>
    /// Words per refill: sixteen blocks.
    private static let words = 256
    private var position = PRG.words
    private var counter: UInt32 = 0

    /// A stream for `seed`, separated from every other stream by (purpose, index).
    public init(seed: PRGSeed, purpose: PRGPurpose, index: UInt64 = 0) {
        var nonce = [UInt8](repeating: 0, count: 12)
        for k in 0..<4 { nonce[k] = UInt8(truncatingIfNeeded: purpose.rawValue >> UInt32(8 * k)) }
        for k in 0..<8 { nonce[4 + k] = UInt8(truncatingIfNeeded: index >> UInt64(8 * k)) }
        cipher = try! ChaCha20(key: seed.bytes, nonce: nonce)
        buffer = .allocate(capacity: PRG.words)
    }

    /// A stream with a fresh seed from the OS CSPRNG.
    public convenience init(purpose: PRGPurpose) {
        self.init(seed: .random(), purpose: purpose)
    }

    deinit { buffer.deallocate() }

    private func refill() {
        if cchacha_available() != 0 {
            cipher.key.withUnsafeBufferPointer { key in
                cipher.nonce.withUnsafeBufferPointer { nonce in
                    cchacha_blocks16(key.baseAddress!, nonce.baseAddress!, counter, buffer)
                }
            }
        } else {
            for quarter in 0..<4 { cipher.fourBlocks(counter: counter &+ UInt32(4 * quarter), into: buffer + 64 * quarter) }
        }
        counter &+= 16
        position = 0
    }

    /// The next 64 pseudorandom bits.
    @inline(__always) public func next() -> UInt64 {
        if position >= PRG.words { refill() }
        let w = UInt64(buffer[position]) | UInt64(buffer[position + 1]) << 32
        position += 2
        return w
    }

    private var reservoir: UInt64 = 0
    private var reservoirBits = 0

    /// The next `width` pseudorandom bits (1 <= width <= 64), drawn from a bit reservoir so that
    /// narrow samples do not consume whole words.
    @inline(__always) public func bits(_ width: Int) -> UInt64 {
        if width <= reservoirBits {
            let v = width == 64 ? reservoir : reservoir & ((UInt64(1) << UInt64(width)) - 1)
            reservoir = width == 64 ? 0 : reservoir >> UInt64(width)
            reservoirBits -= width
            return v
        }
        let fresh = next()
        let have = reservoirBits
        let need = width - have
        let v = have == 0 ? fresh : reservoir | (fresh << UInt64(have))
        reservoir = need == 64 ? 0 : fresh >> UInt64(need)
        reservoirBits = 64 - need
        return width == 64 ? v : v & ((UInt64(1) << UInt64(width)) - 1)
    }

    /// A uniform residue modulo q (rejection sampling on bitLength(q) bits).
    @inline(__always) public func uniform(below q: UInt64) -> UInt64 {
        let width = 64 - q.leadingZeroBitCount
        while true {
            let x = bits(width)
            if x < q { return x }
        }
    }

    /// A uniform ternary value in {-1, 0, 1} (rejection sampling on bytes).
    @inline(__always) public func ternary() -> Int64 {
        while true {
            let b = bits(8)
            if b < 255 { return Int64(b % 3) - 1 }
        }
    }

    /// A centered binomial sample with parameter eta <= 32: sum of eta bit differences, variance eta/2.
    @inline(__always) public func centeredBinomial(eta: Int) -> Int64 {
        let w = bits(2 * eta)
        let mask: UInt64 = (UInt64(1) << UInt64(eta)) - 1
        return Int64((w & mask).nonzeroBitCount) - Int64(((w >> UInt64(eta)) & mask).nonzeroBitCount)
    }
}
