// A pseudorandom generator: AES-128 in counter mode keyed by the seed (NIST SP 800-38A, CTR).
// Block i of the stream is AES_seed((lo: i, hi: 0)). A copy of an AESPRG continues the same stream
// (it is a value), so copy one only to replay it deliberately.
import CAES

public struct AESPRG: Sendable {
    public let cipher: AES128
    private var counter: UInt64 = 0
    private var spareHalf: UInt64? = nil

    public init(seed: Block) {
        cipher = AES128(key: seed)
    }

    /// Seeded from the operating system's CSPRNG.
    public init() {
        self.init(seed: SystemRandom.block())
    }

    public mutating func nextBlock() -> Block {
        var b = Block.zero
        withUnsafeMutablePointer(to: &b) { cipher.keystream(counter: counter, into: UnsafeMutableBufferPointer(start: $0, count: 1)) }
        counter &+= 1
        return b
    }

    /// Fills `blocks` with the next blocks of the stream (batched).
    public mutating func fill(_ blocks: UnsafeMutableBufferPointer<Block>) {
        cipher.keystream(counter: counter, into: blocks)
        counter &+= UInt64(blocks.count)
    }

    /// Fills `buffer` with the next bytes of the stream (whole blocks are consumed; a partial last
    /// block's remaining bytes are discarded).
    public mutating func fillBytes(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let whole = buffer.count / 16
        if whole > 0 {
            // Unaligned destination is fine: CAES reads and writes with unaligned accesses.
            caes_ctr_blocks(cipher.roundKeyPointer, 0, counter, base, whole, cipher.code)
            counter &+= UInt64(whole)
        }
        let rest = buffer.count - 16 * whole
        if rest > 0 {
            let last = nextBlock()
            withUnsafeBytes(of: last) { src in
                (base + 16 * whole).copyMemory(from: src.baseAddress!, byteCount: rest)
            }
        }
    }

    public mutating func nextUInt64() -> UInt64 {
        if let spare = spareHalf {
            spareHalf = nil
            return spare
        }
        let b = nextBlock()
        spareHalf = b.hi
        return b.lo
    }
}

/// `AESPRG` as a Swift `RandomNumberGenerator` (seeded, reproducible: use for tests and for streams
/// both parties derive from a shared seed).
extension AESPRG: RandomNumberGenerator {
    public mutating func next() -> UInt64 { nextUInt64() }
}
