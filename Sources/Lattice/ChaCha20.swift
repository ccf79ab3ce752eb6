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

    /// Fast path: four consecutive blocks (counters counter ..< counter + 4) computed in SIMD lanes,
    /// written as 64 little-endian 32-bit words (block 0 first) to `out`.
    @inlinable public func fourBlocks(counter: UInt32, into out: UnsafeMutablePointer<UInt32>) {
        typealias V = SIMD4<UInt32>
        let k = key, n = nonce
        let c0 = V(repeating: 0x6170_7865), c1 = V(repeating: 0x3320_646e)
        let c2 = V(repeating: 0x7962_2d32), c3 = V(repeating: 0x6b20_6574)
        let k0 = V(repeating: k[0]), k1 = V(repeating: k[1]), k2 = V(repeating: k[2]), k3 = V(repeating: k[3])
        let k4 = V(repeating: k[4]), k5 = V(repeating: k[5]), k6 = V(repeating: k[6]), k7 = V(repeating: k[7])
        let ctr = V(counter, counter &+ 1, counter &+ 2, counter &+ 3)
        let n0 = V(repeating: n[0]), n1 = V(repeating: n[1]), n2 = V(repeating: n[2])
        var x0 = c0, x1 = c1, x2 = c2, x3 = c3, x4 = k0, x5 = k1, x6 = k2, x7 = k3
        var x8 = k4, x9 = k5, x10 = k6, x11 = k7, x12 = ctr, x13 = n0, x14 = n1, x15 = n2
        @inline(__always) func rot(_ v: V, _ r: UInt32) -> V { (v &<< V(repeating: r)) | (v &>> V(repeating: 32 - r)) }
        @inline(__always) func qr(_ a: inout V, _ b: inout V, _ c: inout V, _ d: inout V) {
            a &+= b; d ^= a; d = rot(d, 16)
            c &+= d; b ^= c; b = rot(b, 12)
            a &+= b; d ^= a; d = rot(d, 8)
            c &+= d; b ^= c; b = rot(b, 7)
        }
        for _ in 0..<10 {
            qr(&x0, &x4, &x8, &x12); qr(&x1, &x5, &x9, &x13); qr(&x2, &x6, &x10, &x14); qr(&x3, &x7, &x11, &x15)
            qr(&x0, &x5, &x10, &x15); qr(&x1, &x6, &x11, &x12); qr(&x2, &x7, &x8, &x13); qr(&x3, &x4, &x9, &x14)
        }
        @inline(__always) func store(_ v: V, _ w: Int) {
            out[w] = v[0]; out[16 + w] = v[1]; out[32 + w] = v[2]; out[48 + w] = v[3]
        }
        store(x0 &+ c0, 0); store(x1 &+ c1, 1); store(x2 &+ c2, 2); store(x3 &+ c3, 3)
        store(x4 &+ k0, 4); store(x5 &+ k1, 5); store(x6 &+ k2, 6); store(x7 &+ k3, 7)
        store(x8 &+ k4, 8); store(x9 &+ k5, 9); store(x10 &+ k6, 10); store(x11 &+ k7, 11)
        store(x12 &+ ctr, 12); store(x13 &+ n0, 13); store(x14 &+ n1, 14); store(x15 &+ n2, 15)
    }
}
