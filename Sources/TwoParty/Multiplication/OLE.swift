// Oblivious linear evaluation over Z_(2^64) and Z_(2^128) from correlated OT: Gilboa, "Two Party RSA Key
// Generation" (Crypto 1999), in the correlated-OT form used for Z_(2^k) by SCI/CrypTFlow2 (Rathee et al.,
// CCS 2020) and Cheetah (Huang et al., USENIX Security 2022).
//
// The sender holds x, the receiver y; they end with additive shares of x·y·2^s mod 2^k (k = 64 or 128,
// s = shift). Only the receiver's low L bits matter (L = k - s, or fewer when y is known to be smaller):
// they are the choice bits of L correlated OTs, as 2^(s+i)·x·y_i mod 2^k depends on x mod 2^(k-s-i). For
// OT i of an element the sender hashes its COT values, u0 = H(q), u1 = H(q ⊕ Δ) (k bits of the hash),
// sends d = u1 - u0 - x mod 2^(k-s-i) and keeps -u0·2^(s+i); the receiver keeps
// (H(t) - y_i·d)·2^(s+i) = (u0 + y_i·x)·2^(s+i). Summed over i the shares add up to x·y·2^s.
//
// Bytes per element (semi-honest IKNP, 16 bytes per COT receiver -> sender):
//   Z_(2^64),  s = 0: 64 COTs (1024 B) + 2080 correction bits (260 B) = 1284 B;
//              s = 1 (the cross term 2·a0·a1 of a square): 63 COTs (1008 B) + 252 B = 1260 B;
//   Z_(2^128), y < 2^64: 64 COTs (1024 B) + 6176 bits (772 B) = 1796 B; full y: 128 COTs + 1032 B = 3080 B.
// Two flights: all COT columns, then all corrections in one message (the sender never writes while the
// receiver still streams, so blocking sockets cannot deadlock).
import CKernels
import Transport

/// Elements are processed in batches of about this many OTs (bounded memory for any vector length; 256 KB of
/// pads per batch stay in L2).
private let otsPerBatch = 1 << 14

/// Elements per batch for `bits` OTs each: a whole number of IKNP's 128-OT columns where one fits, so that
/// no batch pads its last column.
func oleBatch(bits: Int) -> Int {
    let step = 128 / gcdOf(bits, 128)
    let elements = otsPerBatch / bits
    return elements >= step ? elements - elements % step : max(1, elements)
}

private func gcdOf(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcdOf(b, a % b) }

/// A ring Z_(2^k) of OT-based multiplication: its elements, how a COT hash becomes one, and the frame
/// type of its corrections.
public protocol OLERing: FixedWidthInteger, UnsignedInteger, Sendable {
    /// The low `bitWidth` bits of a hash.
    init(hash: Block)
    /// Appends the low `width` bits.
    static func append(_ value: Self, width: Int, to writer: inout BitWriter)
    static func read(width: Int, from reader: inout BitReader) -> Self
    static var correctionsMessage: UInt16 { get }
}

extension UInt64: OLERing {
    @inline(__always) public init(hash: Block) { self = hash.lo }
    @inline(__always) public static func append(_ value: UInt64, width: Int, to writer: inout BitWriter) {
        writer.append(value, width: width)
    }
    @inline(__always) public static func read(width: Int, from reader: inout BitReader) -> UInt64 { reader.read(width: width) }
    public static var correctionsMessage: UInt16 { OTMessage.oleCorrections }
}

extension UInt128: OLERing {
    @inline(__always) public init(hash: Block) { self = UInt128(hash.lo) | (UInt128(hash.hi) << 64) }
    @inline(__always) public static func append(_ value: UInt128, width: Int, to writer: inout BitWriter) {
        writer.append(value, width: width)
    }
    @inline(__always) public static func read(width: Int, from reader: inout BitReader) -> UInt128 { reader.readWide(width: width) }
    public static var correctionsMessage: UInt16 { OTMessage.wideOLECorrections }
}

/// Correction bits of one element: widths k - s, k - s - 1, ..., k - s - L + 1.
@inline(__always)
public func correctionBits(ringBits k: Int, shift s: Int, bits L: Int) -> Int { L * (2 * (k - s) - L + 1) / 2 }

/// Words of the corrections message for `count` elements.
@inline(__always)
public func correctionWords(count: Int, ring k: Int, shift s: Int, bits L: Int) -> Int {
    (count * correctionBits(ringBits: k, shift: s, bits: L) + 63) / 64
}

/// The per-element loops of both sides: C kernels (`ckernels_ole_*`, Sources/CKernels/ole.c), and the Swift
/// loops they replaced, kept as the reference the tests hold them to.
public enum OLELoops {
    /// Sender: appends the corrections of `x` (u1 - u0 - x at widths k - s - i) to `words` from bit `at`
    /// (zero there) and sets `shares` to -sum_i u0·2^(s+i); returns the bit after the last written.
    public static func send<R: OLERing>(pad0: UnsafeBufferPointer<Block>, pad1: UnsafeBufferPointer<Block>, x: UnsafeBufferPointer<R>,
                                 bits: Int, shift: Int, into words: inout [UInt64], at: Int,
                                 shares: UnsafeMutableBufferPointer<R>) -> Int {
        precondition(pad0.count >= x.count * bits && pad1.count >= x.count * bits && shares.count == x.count)
        precondition(words.count * 64 >= at + x.count * correctionBits(ringBits: R.bitWidth, shift: shift, bits: bits))
        guard !x.isEmpty else { return at }
        return words.withUnsafeMutableBufferPointer { words in
            pad0.withMemoryRebound(to: UInt64.self) { p0 in
                pad1.withMemoryRebound(to: UInt64.self) { p1 in
                    ckernels_ole_send(p0.baseAddress!, p1.baseAddress!, x.baseAddress!, x.count, Int32(R.bitWidth), Int32(bits),
                                      Int32(shift), words.baseAddress!, at, shares.baseAddress!)
                }
            }
        }
    }

    /// Receiver, before the corrections: shares[e] = sum_i pad(e, i)·2^(s+i).
    public static func sumPads<R: OLERing>(_ pads: UnsafeBufferPointer<Block>, bits: Int, shift: Int, shares: UnsafeMutableBufferPointer<R>) {
        precondition(pads.count >= shares.count * bits)
        guard !shares.isEmpty else { return }
        pads.withMemoryRebound(to: UInt64.self) { p in
            ckernels_ole_sum_pads(p.baseAddress!, shares.count, Int32(R.bitWidth), Int32(bits), Int32(shift), shares.baseAddress!)
        }
    }

    /// Receiver: subtracts from each share the corrections its factor's bits select.
    public static func correct<R: OLERing>(_ words: [UInt64], y: [R], bits: Int, shift: Int, shares: inout [R]) {
        precondition(shares.count == y.count && words.count * 64 >= y.count * correctionBits(ringBits: R.bitWidth, shift: shift, bits: bits))
        guard !y.isEmpty else { return }
        words.withUnsafeBufferPointer { words in
            y.withUnsafeBufferPointer { y in
                shares.withUnsafeMutableBufferPointer { shares in
                    _ = ckernels_ole_correct(words.baseAddress!, 0, y.baseAddress!, y.count, Int32(R.bitWidth), Int32(bits),
                                             Int32(shift), shares.baseAddress!)
                }
            }
        }
    }

    /// The reference of `send` over whole vectors: the corrections message and the sender's shares.
    public static func sendReference<R: OLERing>(pad0: [Block], pad1: [Block], x: [R], bits: Int, shift: Int) -> (words: [UInt64], shares: [R]) {
        var writer = BitWriter(reservingBits: x.count * correctionBits(ringBits: R.bitWidth, shift: shift, bits: bits))
        var shares = [R](repeating: 0, count: x.count)
        for e in x.indices {
            var share: R = 0
            for i in 0..<bits {
                let u0 = R(hash: pad0[e * bits + i]), u1 = R(hash: pad1[e * bits + i])
                R.append(u1 &- u0 &- x[e], width: R.bitWidth - shift - i, to: &writer)
                share &-= u0 &<< R(shift + i)
            }
            shares[e] = share
        }
        return (writer.finish(), shares)
    }

    /// The reference of `sumPads` then `correct`: the receiver's shares.
    public static func receiveReference<R: OLERing>(pads: [Block], words: [UInt64], y: [R], bits: Int, shift: Int) -> [R] {
        var shares = [R](repeating: 0, count: y.count)
        for e in y.indices {
            for i in 0..<bits { shares[e] &+= R(hash: pads[e * bits + i]) &<< R(shift + i) }
        }
        words.withUnsafeBufferPointer { words in
            var reader = BitReader(words)
            for e in y.indices {
                for i in 0..<bits {
                    let d = R.read(width: R.bitWidth - shift - i, from: &reader)
                    let mask = 0 &- ((y[e] &>> R(i)) & 1)
                    shares[e] &-= (d & mask) &<< R(shift + i)
                }
            }
        }
        return shares
    }
}

/// The OLE side that supplies the multiplicand x (the correlated-OT sender).
public struct OLESender: Sendable {
    public let ot: any CorrelatedOTSender

    public init(ot: any CorrelatedOTSender) { self.ot = ot }

    /// This side's additive shares of x[k]·y[k] (mod 2^64), y held by the `OLEReceiver`.
    public func multiply(_ x: [UInt64]) throws -> [UInt64] { try multiply(x, shift: 0) }

    /// Shares of x[k]·y[k]·2^shift mod 2^64, 0 <= shift < 64 (the receiver passes the same shift).
    public func multiply(_ x: [UInt64], shift: Int) throws -> [UInt64] {
        precondition(shift >= 0 && shift < 64, "shift must be in 0..<64")
        return try multiply(x, bits: 64 - shift, shift: shift)
    }

    /// Shares of x[k]·y[k]·2^shift mod 2^k for a receiver whose y[k] are below 2^bits (both sides pass the
    /// same bits and shift; bits + shift <= k).
    public func multiply<R: OLERing>(_ x: [R], bits: Int, shift: Int = 0) throws -> [R] {
        precondition(bits >= 1 && shift >= 0 && bits + shift <= R.bitWidth, "need 1 <= bits, bits + shift <= \(R.bitWidth)")
        let n = x.count
        var shares = [R](repeating: 0, count: n)
        var corrections = [UInt64](repeating: 0, count: correctionWords(count: n, ring: R.bitWidth, shift: shift, bits: bits))
        var at = 0
        try forEachBatch(count: n, bits: bits) { start, count, q, q1 in
            x.withUnsafeBufferPointer { x in
                shares.withUnsafeMutableBufferPointer { shares in
                    at = OLELoops.send(pad0: UnsafeBufferPointer(q), pad1: UnsafeBufferPointer(q1),
                                       x: UnsafeBufferPointer(rebasing: x[start..<(start + count)]), bits: bits, shift: shift,
                                       into: &corrections, at: at,
                                       shares: UnsafeMutableBufferPointer(rebasing: shares[start..<(start + count)]))
                }
            }
        }
        try ot.channel.sendMessage(type: R.correctionsMessage, corrections)
        try ot.channel.flush()
        return shares
    }

    /// Runs the COTs of `count` elements of `bits` rows each, in the batches the receiver's `multiply`
    /// uses (one choice message each); `body(start, count, q0, q1)` sees a batch's pads hashed with their
    /// COT index as tweak: row e x bits + i of element start + e, for its receiver choosing 0 and 1.
    private func forEachBatch(count n: Int, bits: Int,
                              _ body: (Int, Int, UnsafeMutableBufferPointer<Block>, UnsafeMutableBufferPointer<Block>) throws -> Void) throws {
        let batch = oleBatch(bits: bits)
        var h0 = uninitializedBlocks(min(n, batch) * bits)
        var h1 = uninitializedBlocks(min(n, batch) * bits)
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
                    try body(start, count, UnsafeMutableBufferPointer(rebasing: q[0..<ots]), UnsafeMutableBufferPointer(rebasing: q1[0..<ots]))
                }
            }
            start += count
        }
    }
}

/// The OLE side that supplies the multiplier y, whose bits choose (the correlated-OT receiver).
public struct OLEReceiver: Sendable {
    public let ot: any CorrelatedOTReceiver

    public init(ot: any CorrelatedOTReceiver) { self.ot = ot }

    /// This side's additive shares of x[k]·y[k] (mod 2^64), x held by the `OLESender`.
    public func multiply(_ y: [UInt64]) throws -> [UInt64] { try multiply(y, shift: 0) }

    /// Shares of x[k]·y[k]·2^shift mod 2^64 (the sender passes the same shift).
    public func multiply(_ y: [UInt64], shift: Int) throws -> [UInt64] {
        precondition(shift >= 0 && shift < 64, "shift must be in 0..<64")
        return try multiply(y, bits: 64 - shift, shift: shift)
    }

    /// Shares of x[k]·y[k]·2^shift mod 2^k; bits of y above `bits` must be zero (or are ignored when
    /// bits + shift = k, where they cannot matter).
    public func multiply<R: OLERing>(_ y: [R], bits: Int, shift: Int = 0) throws -> [R] {
        precondition(bits >= 1 && shift >= 0 && bits + shift <= R.bitWidth, "need 1 <= bits, bits + shift <= \(R.bitWidth)")
        precondition(bits + shift == R.bitWidth || y.allSatisfy { $0 >> R(bits) == 0 }, "a factor has more than \(bits) bits")
        let n = y.count
        var shares = [R](repeating: 0, count: n)
        let batch = oleBatch(bits: bits)
        var t = uninitializedBlocks(min(n, batch) * bits)
        var start = 0
        while start < n {
            let count = min(batch, n - start)
            let ots = count * bits
            let choices: ChoiceBits
            if let words = y as? [UInt64], bits == 64 {
                choices = ChoiceBits(words: Array(words[start..<(start + count)]), count: ots)
            } else {
                var writer = BitWriter(reservingBits: ots)
                for e in 0..<count { R.append(y[start + e], width: bits, to: &writer) }
                choices = ChoiceBits(words: writer.finish(), count: ots)
            }
            try t.withUnsafeMutableBufferPointer { buffer in
                let rows = UnsafeMutableBufferPointer(rebasing: buffer[0..<ots])
                let first = try ot.extend(choices: choices, into: rows)
                FixedKeyAES.shared.hash(rows, firstTweak: first)
                shares.withUnsafeMutableBufferPointer { shares in
                    OLELoops.sumPads(UnsafeBufferPointer(rows), bits: bits, shift: shift,
                                     shares: UnsafeMutableBufferPointer(rebasing: shares[start..<(start + count)]))
                }
            }
            start += count
        }
        let corrections = try ot.channel.receiveMessage(expecting: R.correctionsMessage, UInt64.self,
                                                        count: correctionWords(count: n, ring: R.bitWidth, shift: shift, bits: bits))
        OLELoops.correct(corrections, y: y, bits: bits, shift: shift, shares: &shares)
        return shares
    }
}
