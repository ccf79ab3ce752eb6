// Single-point correlated OT from GGM trees (Boyle, Couteau, Gilboa, Ishai, Kohl, Scholl, "Efficient
// Pseudorandom Correlation Generators", Crypto 2019; in the semi-honest form of Ferret, Yang et al., CCS
// 2020, section 4), t trees at once.
//
// Tree i has 2^h leaves. The sender expands a random root with the length-doubling PRG
// G(s) = (AES_k0(s) ⊕ s, AES_k1(s) ⊕ s) (two fixed public keys) and, per level l, XORs its left children
// into K0_l and its right children into K1_l. The receiver's point is a path α = (α_1 ... α_h), most
// significant first; it learns K_l^{¬α_l} per level by one random COT whose choice bit is ¬α_l (so the
// random choice bits of the COTs consumed *are* the path: no derandomisation), which lets it rebuild
// every node off the path. Finally the sender sends c = Δ ⊕ (XOR of all leaves); the receiver sets its
// leaf at α to c ⊕ (XOR of the others). Then receiver leaf j = sender leaf j ⊕ [j = α]·Δ. Both sides clear
// the lowest bit of every leaf they expand, so with lsb(Δ) = 1 the receiver's leaves carry the point in their
// lowest bits (SilentOT.swift: the choice bits ride there).
// Traffic: 2 blocks per level and 1 per tree, sender to receiver, in one message.

/// The two fixed-key AES permutations of the GGM PRG (public keys: digits of e and of sqrt 2).
enum GGMPRG {
    static let left = AES128(key: Block(lo: 0xB7E1_5162_8AED_2A6A, hi: 0xBF71_5880_9CF4_F3C7))
    static let right = AES128(key: Block(lo: 0x6A09_E667_F3BC_C908, hi: 0xBB67_AE85_84CA_A73B))

    /// Children of `count` nodes at `parents` into `children` (2 count): [2i] left, [2i + 1] right.
    static func expand(_ parents: UnsafePointer<Block>, count: Int, into children: UnsafeMutablePointer<Block>,
                       scratch: UnsafeMutablePointer<Block>) {
        let l = UnsafeMutableBufferPointer(start: scratch, count: count)
        let r = UnsafeMutableBufferPointer(start: scratch + count, count: count)
        for i in 0..<count { l[i] = parents[i]; r[i] = parents[i] }
        left.encrypt(l)
        right.encrypt(r)
        for i in 0..<count {
            children[2 * i] = l[i] ^ parents[i]
            children[2 * i + 1] = r[i] ^ parents[i]
        }
    }
}

/// Tweak domain of hashes inside silent OT (never used for COTs handed to callers).
let silentTweakBase: UInt64 = 1 << 63

public enum SinglePointCOT {
    /// The sender's side: for trees `0..<t` of depth `h`, consuming the sender's halves `q` of t·h random
    /// COTs (tree i, level l at i·h + l - 1); writes t·2^h leaves to `leaves` and returns the message.
    public static func send(t: Int, depth h: Int, delta: Block, q: UnsafeBufferPointer<Block>, tweak: UInt64,
                     leaves: UnsafeMutablePointer<Block>) -> [Block] {
        precondition(q.count == t * h, "single-point COT: \(q.count) COTs for \(t) trees of depth \(h)")
        let width = 1 << h, stride = 2 * h + 1
        var message = [Block](repeating: .zero, count: t * stride)
        var prg = AESPRG()
        var cur = UnsafeMutablePointer<Block>.allocate(capacity: width)
        var nxt = UnsafeMutablePointer<Block>.allocate(capacity: width)
        let scratch = UnsafeMutablePointer<Block>.allocate(capacity: width)
        defer { cur.deallocate(); nxt.deallocate(); scratch.deallocate() }
        var pads = [Block](repeating: .zero, count: 2 * h)
        for i in 0..<t {
            cur[0] = prg.nextBlock()
            for level in 1...h {
                let count = 1 << (level - 1)
                GGMPRG.expand(cur, count: count, into: nxt, scratch: scratch)
                var k0 = Block.zero, k1 = Block.zero
                for j in 0..<count { k0 ^= nxt[2 * j]; k1 ^= nxt[2 * j + 1] }
                message[i * stride + 2 * (level - 1)] = k0
                message[i * stride + 2 * (level - 1) + 1] = k1
                pads[2 * (level - 1)] = q[i * h + level - 1]
                pads[2 * (level - 1) + 1] = q[i * h + level - 1] ^ delta
                swap(&cur, &nxt)
            }
            pads.withUnsafeMutableBufferPointer { FixedKeyAES.shared.hash($0, firstTweak: tweak &+ UInt64(2 * i * h)) }
            for j in 0..<(2 * h) { message[i * stride + j] ^= pads[j] }
            let tree = leaves + i * width
            var sum = delta
            for j in 0..<width { tree[j] = cur[j].clearingLSB; sum ^= tree[j] }
            message[i * stride + 2 * h] = sum
        }
        return message
    }

    /// The receiver's side: `w` its halves of the t·h random COTs, `choice(j)` their choice bits (each
    /// tree's path, complemented: the receiver learns the sibling of its path at every level); writes
    /// t·2^h leaves and returns each tree's point α.
    public static func receive(t: Int, depth h: Int, w: UnsafeBufferPointer<Block>, choice: (Int) -> Bool, message: [Block],
                        tweak: UInt64, leaves: UnsafeMutablePointer<Block>) -> [Int] {
        let width = 1 << h, stride = 2 * h + 1
        precondition(w.count == t * h && message.count == t * stride, "single-point COT: sizes do not match")
        var cur = UnsafeMutablePointer<Block>.allocate(capacity: width)
        var nxt = UnsafeMutablePointer<Block>.allocate(capacity: width)
        let scratch = UnsafeMutablePointer<Block>.allocate(capacity: width)
        defer { cur.deallocate(); nxt.deallocate(); scratch.deallocate() }
        var points = [Int](repeating: 0, count: t)
        var pads = [Block](repeating: .zero, count: 2 * h)
        for i in 0..<t {
            // Pad of the entry this side can open: H(q ⊕ bΔ) under the tweak the sender used for entry b.
            for level in 1...h {
                let b = choice(i * h + level - 1) ? 1 : 0
                pads[2 * (level - 1) + b] = w[i * h + level - 1]
                pads[2 * (level - 1) + 1 - b] = .zero
            }
            pads.withUnsafeMutableBufferPointer { FixedKeyAES.shared.hash($0, firstTweak: tweak &+ UInt64(2 * i * h)) }
            var path = 0           // index of the unknown (path) node at the current level
            cur[0] = .zero
            for level in 1...h {
                let count = 1 << (level - 1)
                let sibling = choice(i * h + level - 1) ? 1 : 0   // the child this side learns: ¬α_l
                GGMPRG.expand(cur, count: count, into: nxt, scratch: scratch)
                nxt[2 * path] = .zero
                nxt[2 * path + 1] = .zero
                var known = Block.zero
                for j in 0..<count { known ^= nxt[2 * j + sibling] }
                nxt[2 * path + sibling] = message[i * stride + 2 * (level - 1) + sibling] ^ pads[2 * (level - 1) + sibling] ^ known
                path = 2 * path + 1 - sibling
                swap(&cur, &nxt)
            }
            let tree = leaves + i * width
            var sum = message[i * stride + 2 * h]
            for j in 0..<width where j != path { tree[j] = cur[j].clearingLSB; sum ^= tree[j] }
            tree[path] = sum
            points[i] = path
        }
        return points
    }
}
