// Hashing with fixed-key AES, following Guo, Katz, Wang, Yang, "Efficient and Secure Multiparty
// Computation from Fixed-Key Block Ciphers" (IEEE S&P 2020), in the random-permutation model:
//  - H(x) = π(x) ⊕ x is correlation robust (CR), enough for IKNP OT extension's hashes;
//  - H(x, i) = π(σ(x) ⊕ i) ⊕ σ(x) ⊕ i with the linear orthomorphism σ(hi ‖ lo) = (hi ⊕ lo) ‖ hi
//    (their MMO^σ) is tweakable circular correlation robust (TCCR), which half-gates garbling with
//    free-XOR needs (labels are correlated by the global Δ, and Δ itself can appear in hash inputs).
// The key is public and fixed before any input is chosen, as the model requires.
import CAES

public struct FixedKeyAES: Sendable {
    public let cipher: AES128

    /// The first 128 bits of the fractional part of π, a public "nothing up my sleeve" key.
    public static let publicKey = Block(lo: 0x243F_6A88_85A3_08D3, hi: 0x1319_8A2E_0370_7344)

    public static let shared = FixedKeyAES(key: publicKey)

    public init(key: Block, implementation: AES128.Implementation = .automatic) {
        cipher = AES128(key: key, implementation: implementation)
    }

    /// Correlation-robust hash H(x) = π(x) ⊕ x.
    public func hash(_ x: Block) -> Block {
        var b = x
        withUnsafeMutableBytes(of: &b) { caes_cr_hash_blocks(cipher.roundKeyPointer, $0.baseAddress, 1, cipher.code) }
        return b
    }

    /// H(x) = π(x) ⊕ x for every block, in place, batched (8 or more blocks in flight).
    public func hash(_ blocks: UnsafeMutableBufferPointer<Block>) {
        guard let base = blocks.baseAddress, blocks.count > 0 else { return }
        caes_cr_hash_blocks(cipher.roundKeyPointer, base, blocks.count, cipher.code)
    }

    /// Tweakable circular-correlation-robust hash H(x, tweak) = π(σ(x) ⊕ t) ⊕ σ(x) ⊕ t, t = (lo: tweak, hi: 0).
    public func hash(_ x: Block, tweak: UInt64) -> Block {
        var b = x
        withUnsafeMutableBytes(of: &b) {
            caes_tccr_hash_blocks(cipher.roundKeyPointer, $0.baseAddress, $0.baseAddress, 1, tweak, 0, cipher.code)
        }
        return b
    }

    /// The offset that moves a tweak into the input: σ is linear and σ((lo: t, hi: t)) = (lo: t, hi: 0), so
    /// H(x ⊕ tweakOffset(t), 0) = H(x, t). Lets one batched call hash blocks under arbitrary tweaks.
    @inline(__always)
    public static func tweakOffset(_ tweak: UInt64) -> Block { Block(lo: tweak, hi: tweak) }

    /// Batched tweakable hash, in place: blocks[i] = H(blocks[i], firstTweak + i * tweakStride).
    public func hash(_ blocks: UnsafeMutableBufferPointer<Block>, firstTweak: UInt64, tweakStride: UInt64 = 1) {
        guard let base = blocks.baseAddress, blocks.count > 0 else { return }
        caes_tccr_hash_blocks(cipher.roundKeyPointer, base, base, blocks.count, firstTweak, tweakStride, cipher.code)
    }
}
