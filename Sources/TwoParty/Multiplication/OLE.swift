// Oblivious linear evaluation over Z_(2^64) from correlated OT: Gilboa, "Two Party RSA Key
// Generation" (Crypto 1999), in the correlated-OT form used for Z_(2^k) by SCI/CrypTFlow2 (Rathee et al.,
// CCS 2020) and Cheetah (Huang et al., USENIX Security 2022).
//
// The sender holds x, the receiver y; they end with additive shares of x·y·2^s mod 2^64 (s = shift).
// With L = 64 - s, the receiver's bits y_0..y_(L-1) are the choice bits of L correlated OTs (only these
// bits matter, as 2^(s+i)·x·y_i mod 2^64 depends on x mod 2^(L-i)). For OT i of an element the sender
// hashes its COT values: u0 = H(q), u1 = H(q ⊕ Δ) (64 bits), sends d = u1 - u0 - x mod 2^(L-i), and keeps
// -u0·2^(s+i); the receiver keeps (H(t) - y_i·d)·2^(s+i) = (u0 + y_i·x)·2^(s+i). Summed over i the shares
// add up to x·(y mod 2^L)·2^s = x·y·2^s.
//
// Bytes per element (semi-honest IKNP, 16 bytes per COT receiver -> sender): s = 0: 64 COTs (1024 B)
// + 2080 correction bits (260 B) = 1284 B; s = 1 (the cross term 2·a0·a1 of a square): 63 COTs (1008 B)
// + 252 B = 1260 B. Two flights: all COT columns, then all corrections in one message (the sender
// never writes while the receiver still streams, so blocking sockets cannot deadlock).
import Transport

/// Elements are processed in batches of about this many OTs (bounded memory for any vector length).
private let otsPerBatch = 1 << 18

/// The OLE side that supplies the multiplicand x (the correlated-OT sender).
public struct OLESender: Sendable {
    public let ot: any CorrelatedOTSender

    public init(ot: any CorrelatedOTSender) {
        self.ot = ot
    }

    /// This side's additive shares of x[k]·y[k] (mod 2^64), y held by the `OLEReceiver`.
    public func multiply(_ x: [UInt64]) throws -> [UInt64] {
        try multiply(x, shift: 0)
    }

    /// Shares of x[k]·y[k]·2^shift, 0 <= shift < 64 (the receiver passes the same shift).
    public func multiply(_ x: [UInt64], shift: Int) throws -> [UInt64] {
        precondition(shift >= 0 && shift < 64, "shift must be in 0..<64")
        let bits = 64 - shift
        let n = x.count
        var shares = [UInt64](repeating: 0, count: n)
        var corrections = BitWriter(reservingBits: triangularBits(elements: n, bitsUsed: bits))
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
                        var share: UInt64 = 0
                        for i in 0..<bits {
                            let u0 = q[e * bits + i].lo
                            let u1 = q1[e * bits + i].lo
                            corrections.append(u1 &- u0 &- value, width: bits - i)
                            share &-= u0 << UInt64(shift + i)
                        }
                        shares[start + e] = share
                    }
                }
            }
            start += count
        }
        try ot.channel.sendMessage(type: OTMessage.oleCorrections, corrections.finish())
        try ot.channel.flush()
        return shares
    }
}

/// The OLE side that supplies the multiplier y, whose bits choose (the correlated-OT receiver).
public struct OLEReceiver: Sendable {
    public let ot: any CorrelatedOTReceiver

    public init(ot: any CorrelatedOTReceiver) {
        self.ot = ot
    }

    /// This side's additive shares of x[k]·y[k] (mod 2^64), x held by the `OLESender`.
    public func multiply(_ y: [UInt64]) throws -> [UInt64] {
        try multiply(y, shift: 0)
    }

    /// Shares of x[k]·y[k]·2^shift (the sender passes the same shift).
    public func multiply(_ y: [UInt64], shift: Int) throws -> [UInt64] {
        precondition(shift >= 0 && shift < 64, "shift must be in 0..<64")
        let bits = 64 - shift
        let n = y.count
        var shares = [UInt64](repeating: 0, count: n)
        let batch = max(1, otsPerBatch / bits)
        var t = [Block](repeating: .zero, count: min(n, batch) * bits)
        var start = 0
        while start < n {
            let count = min(batch, n - start)
            let ots = count * bits
            let choices: ChoiceBits
            if bits == 64 {
                choices = ChoiceBits(words: Array(y[start..<(start + count)]), count: ots)
            } else {
                var writer = BitWriter(reservingBits: ots)
                for e in 0..<count { writer.append(y[start + e], width: bits) }
                choices = ChoiceBits(words: writer.finish(), count: ots)
            }
            try t.withUnsafeMutableBufferPointer { buffer in
                let rows = UnsafeMutableBufferPointer(rebasing: buffer[0..<ots])
                let first = try ot.extend(choices: choices, into: rows)
                FixedKeyAES.shared.hash(rows, firstTweak: first)
                for e in 0..<count {
                    var share: UInt64 = 0
                    for i in 0..<bits { share &+= rows[e * bits + i].lo << UInt64(shift + i) }
                    shares[start + e] = share
                }
            }
            start += count
        }
        let expectedWords = (triangularBits(elements: n, bitsUsed: bits) + 63) / 64
        let corrections = try ot.channel.receiveMessage(expecting: OTMessage.oleCorrections, UInt64.self, count: expectedWords)
        corrections.withUnsafeBufferPointer { words in
            var reader = BitReader(words)
            for k in 0..<n {
                let value = y[k]
                var share = shares[k]
                for i in 0..<bits {
                    let d = reader.read(width: bits - i)
                    let mask = 0 &- ((value >> UInt64(i)) & 1)
                    share &-= (d & mask) << UInt64(shift + i)
                }
                shares[k] = share
            }
        }
        return shares
    }
}
