// The local linear code of primal LPN (Ferret, Yang et al., CCS 2020, section 5): output j XORs in the d
// secret entries at indices idx(j, 0..<d). The indices are public: AES-CTR under a key fixed per iteration
// (the iteration number encrypted under the public fixed key), 3 blocks (12 32-bit words) per column, each
// word mapped to [0, k) by a multiply-shift (Lemire); the bias of that map, below k / 2^32 (about 1.4e-4
// of a word's probability for the extension set), does not help the known attacks, as in Ferret's own
// implementation.
// `encode` runs the C kernel (CAES lpn.c: indices per chunk, then the gathers with prefetching); the Swift
// loop `encodeReference` is its reference (tests compare them).
import CAES

public enum PrimalLPN {
    /// Columns whose indices are generated at once.
    static let chunk = 4096

    /// The key of iteration `iteration`'s index stream.
    static func indexCipher(iteration: UInt64) -> AES128 {
        AES128(key: FixedKeyAES.shared.hash(Block(lo: iteration, hi: 0x4C50_4E5F_494E_4458), tweak: 0))   // "LPN_INDX"
    }

    /// out[j] ^= XOR_m secret[idx(j, m)] for j in 0..<n (the receiver's choice bits are the lowest bits of
    /// its values, so one sum serves both).
    public static func encode(_ parameters: LPNParameters, iteration: UInt64, secret: UnsafeBufferPointer<Block>,
                              into out: UnsafeMutablePointer<Block>) {
        precondition(secret.count == parameters.k && parameters.d <= 12, "LPN: \(secret.count) secret entries for \(parameters)")
        let cipher = indexCipher(iteration: iteration)
        caes_lpn_encode(cipher.roundKeyPointer, cipher.code, parameters.n, parameters.d, UInt64(parameters.k),
                        secret.baseAddress!, out)
    }

    /// The Swift loop `encode`'s kernel must equal.
    public static func encodeReference(_ parameters: LPNParameters, iteration: UInt64, secret: UnsafeBufferPointer<Block>,
                                       into out: UnsafeMutablePointer<Block>) {
        let n = parameters.n, d = parameters.d, k = UInt64(parameters.k)
        precondition(secret.count == parameters.k && d <= 12, "LPN: \(secret.count) secret entries for \(parameters)")
        let cipher = indexCipher(iteration: iteration)
        let stream = UnsafeMutableBufferPointer<Block>.allocate(capacity: 3 * chunk)
        defer { stream.deallocate() }
        let s = secret.baseAddress!
        var start = 0
        while start < n {
            let columns = min(chunk, n - start)
            cipher.keystream(counter: UInt64(3 * start), into: UnsafeMutableBufferPointer(rebasing: stream[0..<(3 * columns)]))
            UnsafeRawPointer(stream.baseAddress!).withMemoryRebound(to: UInt32.self, capacity: 12 * columns) { words in
                for c in 0..<columns {
                    let j = start + c, row = words + 12 * c
                    var acc = out[j]
                    for m in 0..<d { acc ^= s[Int((UInt64(row[m]) &* k) >> 32)] }
                    out[j] = acc
                }
            }
            start += columns
        }
    }
}
