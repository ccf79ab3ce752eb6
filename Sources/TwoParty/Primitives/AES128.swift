// AES-128 (FIPS-197) over the CAES C target: key expansion once, then batched block operations.
// The round keys live in an immutable heap buffer shared by copies, so passing an AES128 around
// never copies or re-expands the key.
import CAES

public struct AES128: Sendable {
    /// Which code computes AES. `.automatic` picks the fastest the CPU supports (VAES, AES-NI, else the
    /// portable constant-time software path); the others exist so tests can compare paths.
    public enum Implementation: Sendable, CaseIterable {
        case automatic, software, aesni, vaes

        var code: Int32 {
            switch self {
            case .automatic: return Int32(CAES_IMPL_AUTO)
            case .software: return Int32(CAES_IMPL_SOFTWARE)
            case .aesni: return Int32(CAES_IMPL_AESNI)
            case .vaes: return Int32(CAES_IMPL_VAES)
            }
        }

        /// Whether this CPU can run the implementation.
        public var isAvailable: Bool {
            switch self {
            case .automatic, .software: return true
            case .aesni: return caes_has_aesni() != 0
            case .vaes: return caes_has_vaes() != 0
            }
        }
    }

    final class RoundKeys: @unchecked Sendable { // immutable after init
        let pointer: UnsafeMutableRawPointer

        init(key: Block, implementation: Implementation) {
            pointer = UnsafeMutableRawPointer.allocate(byteCount: 176, alignment: 16)
            var k = key
            withUnsafeBytes(of: &k) { caes_expand_key($0.baseAddress, pointer, implementation.code) }
        }

        deinit { pointer.deallocate() }
    }

    let keys: RoundKeys
    public let implementation: Implementation
    var code: Int32 { implementation.code }
    var roundKeyPointer: UnsafeRawPointer { UnsafeRawPointer(keys.pointer) }

    public init(key: Block, implementation: Implementation = .automatic) {
        precondition(implementation.isAvailable, "AES implementation \(implementation) is not supported by this CPU")
        self.implementation = implementation
        keys = RoundKeys(key: key, implementation: implementation)
    }

    /// The 11 round keys (FIPS-197 words w[4i ..< 4i+4] as one block each).
    public var roundKeys: [Block] {
        (0..<11).map { i in keys.pointer.loadUnaligned(fromByteOffset: 16 * i, as: Block.self) }
    }

    public func encrypt(_ block: Block) -> Block {
        var b = block
        withUnsafeMutableBytes(of: &b) { caes_encrypt_blocks(keys.pointer, $0.baseAddress, $0.baseAddress, 1, code) }
        return b
    }

    /// Encrypts `blocks` in place (8 or more blocks in flight).
    public func encrypt(_ blocks: UnsafeMutableBufferPointer<Block>) {
        guard let base = blocks.baseAddress, blocks.count > 0 else { return }
        caes_encrypt_blocks(keys.pointer, base, base, blocks.count, code)
    }

    /// Counter mode: `out[i] = AES(counter block (lo: counter + i, hi: nonce))`.
    public func keystream(nonce: UInt64 = 0, counter: UInt64, into out: UnsafeMutableBufferPointer<Block>) {
        guard let base = out.baseAddress, out.count > 0 else { return }
        caes_ctr_blocks(keys.pointer, nonce, counter, base, out.count, code)
    }

    public static var hardwareAvailable: Bool { caes_has_aesni() != 0 }
}
