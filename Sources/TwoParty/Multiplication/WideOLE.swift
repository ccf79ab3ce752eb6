// Oblivious linear evaluation over Z_(2^128) from correlated OT (Gilboa, Crypto 1999, in the
// correlated-OT form of SCI/CrypTFlow2, Rathee et al. CCS 2020): the 128-bit sibling of `OLESender`,
// for the one-round polynomial activations, whose powers of a 64-bit share need a wider ring.
//
// The sender holds x, the receiver y < 2^bits; they end with additive shares of x·y mod 2^128. OT i
// (bit i of y) gives the sender u0 = H(q), u1 = H(q ⊕ Δ) (full 128-bit hashes); it sends
// d = u1 - u0 - x mod 2^(128-i) (only those bits survive the factor 2^i) and keeps -u0·2^i; the receiver
// keeps (H(t) - y_i·d)·2^i = (u0 + y_i·x)·2^i. Bytes per element with IKNP: 16 per COT (bits COTs)
// plus sum over i < bits of (128 - i) correction bits: 2048 + 1032 = 3080 B for bits = 128, 1024 + 772 =
// 1796 B for bits = 64.
import Transport

/// Elements are processed in batches of about this many OTs (bounded memory for any vector length).
private let otsPerBatch = 1 << 18

@inline(__always)
func wide(_ block: Block) -> UInt128 { UInt128(block.lo) | (UInt128(block.hi) << 64) }

/// Correction bits of one element whose receiver factor has `bits` significant bits.
@inline(__always)
func wideCorrectionBits(bits: Int) -> Int { bits * (257 - bits) / 2 }

/// The OLE side that supplies the multiplicand x (the correlated-OT sender).
public struct WideOLESender: Sendable {
    public let ot: any CorrelatedOTSender

    public init(ot: any CorrelatedOTSender) { self.ot = ot }

    /// This side's shares of x[k]·y[k] mod 2^128; the receiver's y[k] are below 2^bits (1...128).
    public func multiply(_ x: [UInt128], bits: Int) throws -> [UInt128] {
        precondition((1...128).contains(bits), "bits must be in 1...128")
        let n = x.count
        var shares = [UInt128](repeating: 0, count: n)
        var corrections = BitWriter(reservingBits: n * wideCorrectionBits(bits: bits))
        let batch = max(1, otsPerBatch / bits)
        var h0 = [Block](repeating: .zero, count: min(n, batch) * bits)
        var h1 = h0
        let delta = ot.delta
        var start = 0
        while start < n {
            let count = min(batch, n - start)
            let ots = count * bits
            try h0.withUnsafeMutableBufferPointer { q in
                try h1.withUnsafeMutableBufferPointer { q1 in
                    let first = try ot.extend(into: UnsafeMutableBufferPointer(rebasing: q[0..<ots]))
                    for j in 0..<ots { q1[j] = q[j] ^ delta }
                    FixedKeyAES.shared.hash(UnsafeMutableBufferPointer(rebasing: q[0..<ots]), firstTweak: first)
                    FixedKeyAES.shared.hash(UnsafeMutableBufferPointer(rebasing: q1[0..<ots]), firstTweak: first)
                    for e in 0..<count {
                        let value = x[start + e]
                        var share: UInt128 = 0
                        for i in 0..<bits {
                            let u0 = wide(q[e * bits + i]), u1 = wide(q1[e * bits + i])
                            corrections.append(u1 &- u0 &- value, width: 128 - i)
                            share &-= u0 << UInt128(i)
                        }
                        shares[start + e] = share
                    }
                }
            }
            start += count
        }
        try ot.channel.sendMessage(type: OTMessage.wideOLECorrections, corrections.finish())
        try ot.channel.flush()
        return shares
    }
}

/// The OLE side that supplies the multiplier y, whose bits choose (the correlated-OT receiver).
public struct WideOLEReceiver: Sendable {
    public let ot: any CorrelatedOTReceiver

    public init(ot: any CorrelatedOTReceiver) { self.ot = ot }

    /// This side's shares of x[k]·y[k] mod 2^128; every y[k] must be below 2^bits (the sender passes the same bits).
    public func multiply(_ y: [UInt128], bits: Int) throws -> [UInt128] {
        precondition((1...128).contains(bits), "bits must be in 1...128")
        precondition(bits == 128 || y.allSatisfy { $0 >> UInt128(bits) == 0 }, "a factor has more than \(bits) bits")
        let n = y.count
        var shares = [UInt128](repeating: 0, count: n)
        let batch = max(1, otsPerBatch / bits)
        var t = [Block](repeating: .zero, count: min(n, batch) * bits)
        var start = 0
        while start < n {
            let count = min(batch, n - start)
            let ots = count * bits
            var writer = BitWriter(reservingBits: ots)
            for e in 0..<count { writer.append(y[start + e], width: bits) }
            let choices = ChoiceBits(words: writer.finish(), count: ots)
            try t.withUnsafeMutableBufferPointer { buffer in
                let rows = UnsafeMutableBufferPointer(rebasing: buffer[0..<ots])
                let first = try ot.extend(choices: choices, into: rows)
                FixedKeyAES.shared.hash(rows, firstTweak: first)
                for e in 0..<count {
                    var share: UInt128 = 0
                    for i in 0..<bits { share &+= wide(rows[e * bits + i]) << UInt128(i) }
                    shares[start + e] = share
                }
            }
            start += count
        }
        let expectedWords = (n * wideCorrectionBits(bits: bits) + 63) / 64
        let corrections = try ot.channel.receiveMessage(expecting: OTMessage.wideOLECorrections, UInt64.self, count: expectedWords)
        corrections.withUnsafeBufferPointer { words in
            var reader = BitReader(words)
            for k in 0..<n {
                let value = y[k]
                var share = shares[k]
                for i in 0..<bits {
                    let d = reader.readWide(width: 128 - i)
                    let mask = 0 &- ((value >> UInt128(i)) & 1)
                    share &-= (d & mask) << UInt128(i)
                }
                shares[k] = share
            }
        }
        return shares
    }
}
