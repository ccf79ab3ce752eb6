// ChaCha20 block function and keystream, per RFC 8439 ("ChaCha20 and Poly1305 for IETF Protocols",
// Nir and Langley, 2018), section 2.3. Used as Lattice's PRG so that the module depends on nothing but
// ModularMath: it expands 32-byte seeds into the uniform halves of ciphertexts and into noise.

/// The ChaCha20 stream cipher keyed by a 256-bit key and a 96-bit nonce (RFC 8439).
public struct ChaCha20: Sendable {
    @usableFromInline let key: [UInt32]    // 8 words, little-endian
    @usableFromInline let nonce: [UInt32]  // 3 words, little-endian

    /// Creates the cipher; `key` must have 32 bytes and `nonce` 12 bytes.
    public init(key: [UInt8], nonce: [UInt8]) throws {
        guard key.count == 32 else { throw LatticeError.malformedInput("ChaCha20 key must have 32 bytes, got \(key.count)") }
        guard nonce.count == 12 else { throw LatticeError.malformedInput("ChaCha20 nonce must have 12 bytes, got \(nonce.count)") }
        self.key = (0..<8).map { ChaCha20.word(key, 4 * $0) }
        self.nonce = (0..<3).map { ChaCha20.word(nonce, 4 * $0) }
    }

    static func word(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    @inline(__always) static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }

    /// The reference block function (RFC 8439, 2.3): 16 output words for one block counter.
    public func block(counter: UInt32) -> [UInt32] {
        var s: [UInt32] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574] + key + [counter] + nonce
        let initial = s
        func qr(_ a: Int, _ b: Int, _ c: Int, _ d: Int) {
            s[a] &+= s[b]; s[d] ^= s[a]; s[d] = ChaCha20.rotl(s[d], 16)
            s[c] &+= s[d]; s[b] ^= s[c]; s[b] = ChaCha20.rotl(s[b], 12)
            s[a] &+= s[b]; s[d] ^= s[a]; s[d] = ChaCha20.rotl(s[d], 8)
            s[c] &+= s[d]; s[b] ^= s[c]; s[b] = ChaCha20.rotl(s[b], 7)
        }
        for _ in 0..<10 {
            qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
            qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
        }
        return (0..<16).map { s[$0] &+ initial[$0] }
    }

    /// Keystream bytes from the reference block function, starting at block `counter`.
    public func keystreamReference(counter: UInt32, count: Int) -> [UInt8] {
        var out: [UInt8] = []
        var c = counter
        while out.count < count {
            for w in block(counter: c) { for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: w >> UInt32(8 * k))) } }
            c &+= 1
        }
        return Array(out.prefix(count))
    }

    /// Fast path: four consecutive blocks (counters counter ..< counter + 4), written as 64
    /// little-endian 32-bit words (block 0 first) to `out`. Scalar code on sixteen local words, which
    /// the default x86-64 code generation schedules well.
    @inlinable public func fourBlocks(counter: UInt32, into out: UnsafeMutablePointer<UInt32>) {
        let k0 = key[0], k1 = key[1], k2 = key[2], k3 = key[3], k4 = key[4], k5 = key[5], k6 = key[6], k7 = key[7]
        let n0 = nonce[0], n1 = nonce[1], n2 = nonce[2]
        for b in 0..<4 {
            let ctr = counter &+ UInt32(b)
            var x0: UInt32 = 0x6170_7865, x1: UInt32 = 0x3320_646e, x2: UInt32 = 0x7962_2d32, x3: UInt32 = 0x6b20_6574
            var x4 = k0, x5 = k1, x6 = k2, x7 = k3, x8 = k4, x9 = k5, x10 = k6, x11 = k7
            var x12 = ctr, x13 = n0, x14 = n1, x15 = n2
            for _ in 0..<10 {
                x0 &+= x4; x12 ^= x0; x12 = (x12 << 16) | (x12 >> 16)
                x1 &+= x5; x13 ^= x1; x13 = (x13 << 16) | (x13 >> 16)
                x2 &+= x6; x14 ^= x2; x14 = (x14 << 16) | (x14 >> 16)
                x3 &+= x7; x15 ^= x3; x15 = (x15 << 16) | (x15 >> 16)
                x8 &+= x12; x4 ^= x8; x4 = (x4 << 12) | (x4 >> 20)
                x9 &+= x13; x5 ^= x9; x5 = (x5 << 12) | (x5 >> 20)
                x10 &+= x14; x6 ^= x10; x6 = (x6 << 12) | (x6 >> 20)
                x11 &+= x15; x7 ^= x11; x7 = (x7 << 12) | (x7 >> 20)
                x0 &+= x4; x12 ^= x0; x12 = (x12 << 8) | (x12 >> 24)
                x1 &+= x5; x13 ^= x1; x13 = (x13 << 8) | (x13 >> 24)
                x2 &+= x6; x14 ^= x2; x14 = (x14 << 8) | (x14 >> 24)
                x3 &+= x7; x15 ^= x3; x15 = (x15 << 8) | (x15 >> 24)
                x8 &+= x12; x4 ^= x8; x4 = (x4 << 7) | (x4 >> 25)
                x9 &+= x13; x5 ^= x9; x5 = (x5 << 7) | (x5 >> 25)
                x10 &+= x14; x6 ^= x10; x6 = (x6 << 7) | (x6 >> 25)
                x11 &+= x15; x7 ^= x11; x7 = (x7 << 7) | (x7 >> 25)
                // Diagonal round.
                x0 &+= x5; x15 ^= x0; x15 = (x15 << 16) | (x15 >> 16)
                x1 &+= x6; x12 ^= x1; x12 = (x12 << 16) | (x12 >> 16)
                x2 &+= x7; x13 ^= x2; x13 = (x13 << 16) | (x13 >> 16)
                x3 &+= x4; x14 ^= x3; x14 = (x14 << 16) | (x14 >> 16)
                x10 &+= x15; x5 ^= x10; x5 = (x5 << 12) | (x5 >> 20)
                x11 &+= x12; x6 ^= x11; x6 = (x6 << 12) | (x6 >> 20)
                x8 &+= x13; x7 ^= x8; x7 = (x7 << 12) | (x7 >> 20)
                x9 &+= x14; x4 ^= x9; x4 = (x4 << 12) | (x4 >> 20)
                x0 &+= x5; x15 ^= x0; x15 = (x15 << 8) | (x15 >> 24)
                x1 &+= x6; x12 ^= x1; x12 = (x12 << 8) | (x12 >> 24)
                x2 &+= x7; x13 ^= x2; x13 = (x13 << 8) | (x13 >> 24)
                x3 &+= x4; x14 ^= x3; x14 = (x14 << 8) | (x14 >> 24)
                x10 &+= x15; x5 ^= x10; x5 = (x5 << 7) | (x5 >> 25)
                x11 &+= x12; x6 ^= x11; x6 = (x6 << 7) | (x6 >> 25)
                x8 &+= x13; x7 ^= x8; x7 = (x7 << 7) | (x7 >> 25)
                x9 &+= x14; x4 ^= x9; x4 = (x4 << 7) | (x4 >> 25)
            }
            let o = out + 16 * b
            o[0] = x0 &+ 0x6170_7865; o[1] = x1 &+ 0x3320_646e; o[2] = x2 &+ 0x7962_2d32; o[3] = x3 &+ 0x6b20_6574
            o[4] = x4 &+ k0; o[5] = x5 &+ k1; o[6] = x6 &+ k2; o[7] = x7 &+ k3
            o[8] = x8 &+ k4; o[9] = x9 &+ k5; o[10] = x10 &+ k6; o[11] = x11 &+ k7
            o[12] = x12 &+ ctr; o[13] = x13 &+ n0; o[14] = x14 &+ n1; o[15] = x15 &+ n2
        }
    }
}
