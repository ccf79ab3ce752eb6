// IKNP OT extension: Ishai, Kilian, Nissim, Petrank, "Extending Oblivious Transfers Efficiently"
// (Crypto 2003), semi-honest, κ = 128, in its correlated-OT form (as in Asharov, Lindell, Schneider,
// Zohner, CCS 2013, and emp-ot's IKNP).
//
// Setup (once per session): 128 Chou-Orlandi base OTs in the reverse direction. The extension sender
// picks Δ = s ∈ {0,1}^128 and receives k_i^{s_i}; the extension receiver holds (k_i^0, k_i^1). Both
// expand the keys with AES-CTR (`AESPRG`).
// Extension of m OTs, choices r: the receiver computes columns t_i = G(k_i^0), u_i = t_i ⊕ G(k_i^1) ⊕ r
// and sends u (m bits per column, 16 bytes per OT); the sender computes q_i = G(k_i^{s_i}) ⊕ s_i·u_i
// = t_i ⊕ s_i·r. Transposing the 128 x m matrices gives rows q_j = t_j ⊕ r_j·Δ.
// Work is streamed in chunks of 8192 OTs (128 KiB per column matrix); a partial last chunk is padded to
// a multiple of 128 on both sides.
import Transport

/// Chunk geometry shared by both IKNP roles.
enum IKNPChunk {
    static let ots = 8192
    static let maxBlocksPerColumn = ots / 128
}

/// The sender of IKNP correlated OT extension (base-OT receiver).
public final class IKNPSender: CorrelatedOTSender, @unchecked Sendable {
    public let channel: any Channel
    public let delta: Block
    private var prgs: [AESPRG]
    private let deltaMasks: [UInt64]   // all-ones where s_i = 1
    private let columnsQ: UnsafeMutablePointer<Block>
    private let columnsU: UnsafeMutablePointer<Block>
    private var nextIndex: UInt64 = 0

    /// Runs the 128 base OTs with the receiver on `channel` (the receiver's `IKNPReceiver.init` must run
    /// at the same time on the other side). Δ comes from the OS CSPRNG, its lowest bit set: a garbler
    /// then uses Δ itself as its free-XOR offset (point-and-permute needs lsb 1), and the COTs' q_j as the
    /// evaluator's zero-labels, with no message per label (127 random bits of Δ remain secret).
    public init(channel: any Channel) throws {
        self.channel = channel
        var delta = SystemRandom.block()
        delta.lo |= 1
        var bits = [Bool]()
        for i in 0..<128 { bits.append(((i < 64 ? delta.lo >> UInt64(i) : delta.hi >> UInt64(i - 64)) & 1) == 1) }
        let keys = try BaseOT.receive(choices: bits, channel: channel)
        self.delta = delta
        prgs = keys.map { AESPRG(seed: $0) }
        deltaMasks = bits.map { $0 ? UInt64.max : 0 }
        columnsQ = .allocate(capacity: 128 * IKNPChunk.maxBlocksPerColumn)
        columnsU = .allocate(capacity: 128 * IKNPChunk.maxBlocksPerColumn)
    }

    deinit {
        columnsQ.deallocate()
        columnsU.deallocate()
    }

    public func extend(into output: UnsafeMutableBufferPointer<Block>) throws -> UInt64 {
        let first = nextIndex
        let total = output.count
        var done = 0
        while done < total {
            let n = min(IKNPChunk.ots, total - done)
            let cb = (n + 127) / 128
            try channel.receiveMessage(expecting: OTMessage.iknpColumns,
                                       into: UnsafeMutableRawBufferPointer(start: columnsU, count: 128 * cb * 16))
            for i in 0..<128 {
                let q = columnsQ + i * cb
                prgs[i].fill(UnsafeMutableBufferPointer(start: q, count: cb))
                let u = columnsU + i * cb
                let mask = deltaMasks[i]
                for g in 0..<cb {
                    q[g].lo ^= u[g].lo & mask
                    q[g].hi ^= u[g].hi & mask
                }
            }
            BitTranspose.transposeColumns(columnsQ, columnStride: cb, groups: cb,
                                          into: output.baseAddress! + done, rowCount: n)
            done += n
        }
        nextIndex += UInt64(total)
        return first
    }
}

/// The receiver of IKNP correlated OT extension (base-OT sender).
public final class IKNPReceiver: CorrelatedOTReceiver, @unchecked Sendable {
    public let channel: any Channel
    private var prgs0: [AESPRG]
    private var prgs1: [AESPRG]
    private let columnsT: UnsafeMutablePointer<Block>
    private let columnsU: UnsafeMutablePointer<Block>
    private let choiceBlocks: UnsafeMutablePointer<Block>
    private var nextIndex: UInt64 = 0

    /// Runs the 128 base OTs with the sender on `channel` (the sender's `IKNPSender.init` must run at
    /// the same time on the other side).
    public init(channel: any Channel) throws {
        self.channel = channel
        let (keys0, keys1) = try BaseOT.send(count: 128, channel: channel)
        prgs0 = keys0.map { AESPRG(seed: $0) }
        prgs1 = keys1.map { AESPRG(seed: $0) }
        columnsT = .allocate(capacity: 128 * IKNPChunk.maxBlocksPerColumn)
        columnsU = .allocate(capacity: 128 * IKNPChunk.maxBlocksPerColumn)
        choiceBlocks = .allocate(capacity: IKNPChunk.maxBlocksPerColumn)
    }

    deinit {
        columnsT.deallocate()
        columnsU.deallocate()
        choiceBlocks.deallocate()
    }

    public func extend(choices: ChoiceBits, into output: UnsafeMutableBufferPointer<Block>) throws -> UInt64 {
        precondition(choices.count == output.count, "one choice bit per OT: \(choices.count) bits for \(output.count) OTs")
        let first = nextIndex
        let total = output.count
        var done = 0
        try choices.words.withUnsafeBufferPointer { words in
            while done < total {
                let n = min(IKNPChunk.ots, total - done)
                let cb = (n + 127) / 128
                let firstWord = done / 64
                for g in 0..<cb {
                    let w = firstWord + 2 * g
                    choiceBlocks[g] = Block(lo: w < words.count ? words[w] : 0, hi: w + 1 < words.count ? words[w + 1] : 0)
                }
                for i in 0..<128 {
                    let t = columnsT + i * cb
                    let u = columnsU + i * cb
                    prgs0[i].fill(UnsafeMutableBufferPointer(start: t, count: cb))
                    prgs1[i].fill(UnsafeMutableBufferPointer(start: u, count: cb))
                    for g in 0..<cb { u[g] = u[g] ^ t[g] ^ choiceBlocks[g] }
                }
                try channel.sendMessage(type: OTMessage.iknpColumns,
                                        UnsafeRawBufferPointer(start: columnsU, count: 128 * cb * 16))
                BitTranspose.transposeColumns(columnsT, columnStride: cb, groups: cb,
                                              into: output.baseAddress! + done, rowCount: n)
                done += n
            }
        }
        try channel.flush()
        nextIndex += UInt64(total)
        return first
    }
}
