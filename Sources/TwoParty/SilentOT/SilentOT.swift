// Silent correlated OT (Ferret: Yang, Weng, Lan, Zhang, Wang, CCS 2020), semi-honest, κ = 128: random
// COTs from primal LPN with regular noise, then chosen-choice COTs by derandomisation.
//
// One iteration turns `consumed` random COTs into n: t single-point COTs (GGM trees, SinglePointCOT.swift)
// give the sender leaves v and the receiver v ⊕ e·Δ for a regular e of weight t; the local linear code
// (PrimalLPN.swift) adds the k secret COTs: the receiver's choice bits become x = e ⊕ u·A, uniform under
// LPN, and its values z = y ⊕ x·Δ with y the sender's. The first iteration starts from IKNP (on the
// `setup` parameters, 39,934 IKNP COTs); every later one from the first `consumed` outputs of the one
// before (bootstrapping), so IKNP runs once per session.
// Choice bits ride in the values' lowest bit (as in the Ferret authors' emp-ot): Δ has its lowest bit set, the
// sender's random COT values have it clear, so the receiver's z = y ⊕ x·Δ has lsb(z) = x. IKNP's COTs are brought
// to that form once (the sender clears its lowest bits, the receiver sets its own to its choices: the correlation
// still holds), the single-point COTs keep it (SinglePointCOT.swift), and the code, linear, preserves it: the
// receiver encodes its values alone and reads its choice bits off them, instead of gathering the bits a second
// time. The sender's values thus have one known bit; Δ keeps 127 secret ones, as under free-XOR garbling.
// Callers get chosen-choice COTs (the CorrelatedOT protocols): the receiver sends d = b ⊕ x, one bit per
// COT, and the sender shifts its values by d·Δ.
// Traffic per random COT of the extension set: t (2 depth + 1) blocks of 16 bytes for 10,805,248 - 606,907
// usable outputs, 0.45 bits; a chosen COT adds its 1-bit derandomisation. IKNP: 128 bits per COT.
import Transport

/// The two parameter sets of a session: the first iteration's and every later one's.
public struct SilentOTParameters: Sendable, Equatable {
    public var setup: LPNParameters
    public var extension_: LPNParameters

    public init(setup: LPNParameters, extension_: LPNParameters) {
        precondition(setup.n >= extension_.consumed && extension_.n > extension_.consumed,
                     "the setup must produce the extension's \(extension_.consumed) COTs")
        self.setup = setup
        self.extension_ = extension_
    }

    /// 128-bit security (Wolverine/Ferret's sets).
    public static let standard = SilentOTParameters(setup: .setup, extension_: .extension_)

    /// 128-bit security, the setup set for every iteration: 602,114 COTs per iteration for 682 KB of trees
    /// (9 bits each, against 0.45 for `standard`), but 10 MB of pool instead of 173 MB and a seventeenth of the
    /// work per iteration. For a direction that needs a few hundred thousand COTs per image.
    public static let compact = SilentOTParameters(setup: .setup, extension_: .setup)
}

/// What both roles keep: the run of random COTs served now, the runs made ahead of need (`prepare`), and
/// the base of the next iteration.
struct SilentPool {
    let parameters: SilentOTParameters
    /// Random COT values (sender: y; receiver: z = y ⊕ x·Δ) of the run served now.
    var values: [Block] = []
    /// Receiver only: its choice bits x of `values`, packed.
    var bits: [UInt64] = []
    /// Next value of `values` to serve.
    var position = 0
    var iteration: UInt64 = 0
    /// Later iterations' outputs, made ahead of need and served after `values`, oldest first: each with its
    /// choice bits (receiver) and its first value to serve (the ones below are the base of the iteration after).
    var queued: [(values: [Block], bits: [UInt64], start: Int)] = []
    /// Storage of served runs, for the next iterations to write into.
    var spare: [[Block]] = []

    init(parameters: SilentOTParameters) { self.parameters = parameters }

    var current: Int { values.count - position }
    var available: Int { queued.reduce(current) { $0 + $1.values.count - $1.start } }
    /// The parameters of the next iteration.
    var next: LPNParameters { iteration == 0 ? parameters.setup : parameters.extension_ }
    var tweak: UInt64 { silentTweakBase | (iteration << 32) }

    /// Moves to the oldest queued run once the current one is served; false when none is queued.
    mutating func advance() -> Bool {
        guard !queued.isEmpty else { return false }
        retire()
        let run = queued.removeFirst()
        (values, bits, position) = (run.values, run.bits, run.start)
        return true
    }

    /// Gives the current run's storage to `spare` when a later iteration can write into it (its unserved
    /// values are dropped; the setup iteration's smaller run is freed).
    mutating func retire() {
        if values.count == parameters.extension_.n { spare.append(values) }
        values = []
        bits = []
        position = 0
    }

    /// Drops every value not yet served (`generate`: a fresh iteration on demand).
    mutating func discard() {
        while advance() {}
        retire()
    }

    /// Storage for the next iteration to write into, not zero-filled (the iteration writes every entry): a
    /// served run's (the current one's too, once served) when one of that size is spare, else fresh. Reusing
    /// it spares the kernel zeroing some 170 MB of new pages per iteration, which was a third of an OT-based
    /// ReLU layer's time.
    mutating func recycledValues(count: Int) -> [Block] {
        if current == 0 && !advance() { retire() }
        if let index = spare.firstIndex(where: { $0.count == count }) { return spare.remove(at: index) }
        return uninitializedBlocks(count)
    }

    /// Allocates and touches the storage that preparing `count` COTs at a time keeps alive at most (the run
    /// being served and enough extension-sized runs to hold `count`), so that no later iteration faults in
    /// fresh pages: on this machine 0.2-0.4 s per 173 MB run, as much as the iteration itself. Nothing for
    /// batches under an eighth of a run (a fresh run then serves at least eight of them).
    mutating func provision(_ count: Int) {
        let p = parameters.extension_, served = p.n - p.consumed
        guard count >= served / 8 else { return }
        let wanted = (count + served - 1) / served + 1
        let have = spare.count
        for _ in have..<max(have, wanted) {
            var storage = uninitializedBlocks(p.n)
            storage.withUnsafeMutableBufferPointer { $0.update(repeating: .zero) }
            spare.append(storage)
        }
    }

    /// `outputs[0..<count]` copied into `base`, in place when it already has that size.
    static func keep(_ outputs: [Block], count: Int, in base: inout [Block]) {
        guard base.count == count else { base = Array(outputs[0..<count]); return }
        base.withUnsafeMutableBufferPointer { b in
            outputs.withUnsafeBufferPointer { o in b.baseAddress!.update(from: o.baseAddress!, count: count) }
        }
    }

    /// Installs an iteration's outputs: the first `reserve` become the next base, the rest are served after
    /// what the pool still holds.
    mutating func install(_ outputs: [Block], bits: [UInt64], reserve: Int) {
        if current == 0 && queued.isEmpty {
            retire()
            (values, self.bits, position) = (outputs, bits, reserve)
        } else {
            queued.append((outputs, bits, reserve))
        }
        iteration += 1
    }
}

/// Either role: its pool, its count of COTs served, and how it runs an iteration.
protocol SilentPoolOwner: AnyObject {
    var pool: SilentPool { get set }
    var nextIndex: UInt64 { get set }
    func refill() throws
}

extension SilentPoolOwner {
    /// Serves `total` COTs from the pool, running an iteration whenever it is empty (both roles chunk
    /// identically, so their iterations line up); `chunk(done, count, position)` consumes each part.
    /// Returns the session-wide index of the first COT served.
    func serve(_ total: Int, _ chunk: (_ done: Int, _ count: Int, _ position: Int) throws -> Void) throws -> UInt64 {
        let first = nextIndex
        var done = 0
        while done < total {
            if pool.current == 0 && !pool.advance() { try refill() }
            let count = min(pool.current, total - done)
            try chunk(done, count, pool.position)
            pool.position += count
            done += count
        }
        nextIndex += UInt64(total)
        return first
    }

    /// Runs iterations until the pool holds at least `count` random COTs (the other side must do the same
    /// at the same time: both pools are in step, so both run the same iterations).
    func fill(_ count: Int) throws {
        while pool.available < count { try refill() }
    }
}

/// The sender of silent correlated OT (holds Δ).
public final class SilentOTSender: CorrelatedOTSender, SilentPoolOwner, @unchecked Sendable {
    public let channel: any Channel
    public let delta: Block
    var pool: SilentPool
    private var base: [Block]
    var nextIndex: UInt64 = 0

    /// Runs IKNP's base OTs and the first iteration with the receiver (whose `SilentOTReceiver.init` must
    /// run at the same time on the other side).
    public init(channel: any Channel, parameters: SilentOTParameters = .standard) throws {
        self.channel = channel
        let iknp = try IKNPSender(channel: channel)
        delta = iknp.delta
        pool = SilentPool(parameters: parameters)
        base = [Block](repeating: .zero, count: parameters.setup.consumed)
        _ = try base.withUnsafeMutableBufferPointer { try iknp.extend(into: $0) }
        for j in base.indices { base[j] = base[j].clearingLSB }   // random COT values with lsb 0 (see above)
        try refill()
    }

    /// Runs one iteration now (the receiver's `generate` must run at the same time), discarding what the
    /// pool still holds; returns the random COTs it makes available. For benchmarks.
    @discardableResult
    public func generate() throws -> Int {
        pool.discard()
        try refill()
        return pool.available
    }

    /// Makes the next `count` COTs ready offline: their iterations run now, so serving them takes only the
    /// receiver's derandomisation bits (the receiver's `prepare` must run at the same time).
    public func prepare(_ count: Int) throws { try fill(count) }

    public func reserveStorage(forBatchesOf count: Int) { pool.provision(count) }

    /// Iterations run so far (the first, on the setup parameters, included).
    public var iterations: UInt64 { pool.iteration }
    /// COTs served so far.
    public var served: UInt64 { nextIndex }

    /// One iteration: the trees' message to the receiver, then the code; the outputs are served after what the
    /// pool holds.
    func refill() throws {
        let p = pool.next
        let tweak = pool.tweak
        var outputs = pool.recycledValues(count: p.n)
        // Every leaf is written by the single-point COT.
        let message = outputs.withUnsafeMutableBufferPointer { out in
            base.withUnsafeBufferPointer { b in
                SinglePointCOT.send(t: p.t, depth: p.depth, delta: delta, q: UnsafeBufferPointer(rebasing: b[p.k..<p.consumed]),
                                    tweak: tweak, leaves: out.baseAddress!)
            }
        }
        try channel.sendBlocks(type: OTMessage.silentTrees, message)
        try channel.flush()
        let iteration = pool.iteration
        base.withUnsafeBufferPointer { b in
            outputs.withUnsafeMutableBufferPointer { out in
                PrimalLPN.encode(p, iteration: iteration, secret: UnsafeBufferPointer(rebasing: b[0..<p.k]), into: out.baseAddress!)
            }
        }
        let reserve = pool.parameters.extension_.consumed
        SilentPool.keep(outputs, count: reserve, in: &base)
        pool.install(outputs, bits: [], reserve: reserve)
    }

    public func extend(into output: UnsafeMutableBufferPointer<Block>) throws -> UInt64 {
        try serve(output.count) { done, count, position in
            let flips = try channel.receiveMessage(expecting: OTMessage.silentChoices, UInt64.self, count: (count + 63) / 64)
            let delta = self.delta
            pool.values.withUnsafeBufferPointer { values in
                for j in 0..<count {
                    let flip = (flips[j >> 6] >> UInt64(j & 63)) & 1 == 1
                    output[done + j] = values[position + j] ^ delta.masked(by: flip)
                }
            }
        }
    }
}

/// The receiver of silent correlated OT.
public final class SilentOTReceiver: CorrelatedOTReceiver, SilentPoolOwner, @unchecked Sendable {
    public let channel: any Channel
    var pool: SilentPool
    /// The next iteration's base: random COT values whose lowest bit is their choice bit.
    private var base: [Block]
    var nextIndex: UInt64 = 0

    /// The random choice bits of the run being served (the oldest unserved iteration's outputs), packed (for
    /// statistical tests: they are this side's own secret, never sent).
    public var poolChoiceBits: [UInt64] { pool.bits }

    /// Runs IKNP's base OTs and the first iteration with the sender.
    public init(channel: any Channel, parameters: SilentOTParameters = .standard) throws {
        self.channel = channel
        let iknp = try IKNPReceiver(channel: channel)
        pool = SilentPool(parameters: parameters)
        let choices = ChoiceBits.random(count: parameters.setup.consumed)
        base = [Block](repeating: .zero, count: parameters.setup.consumed)
        _ = try base.withUnsafeMutableBufferPointer { try iknp.extend(choices: choices, into: $0) }
        // The choice bit into the lowest bit (the sender clears its own: the correlation still holds).
        for j in base.indices { base[j] = Block(lo: base[j].lo & ~1 | (choices[j] ? 1 : 0), hi: base[j].hi) }
        try refill()
    }

    /// Runs one iteration now, with the sender's `generate`, discarding what the pool still holds; returns the
    /// random COTs it makes available.
    @discardableResult
    public func generate() throws -> Int {
        pool.discard()
        try refill()
        return pool.available
    }

    /// Makes the next `count` COTs ready offline, with the sender's `prepare`: serving them then takes only
    /// this side's derandomisation bits.
    public func prepare(_ count: Int) throws { try fill(count) }

    public func reserveStorage(forBatchesOf count: Int) { pool.provision(count) }

    /// Iterations run so far (the first, on the setup parameters, included).
    public var iterations: UInt64 { pool.iteration }
    /// COTs served so far.
    public var served: UInt64 { nextIndex }

    func refill() throws {
        let p = pool.next
        let message = try channel.receiveBlocks(expecting: OTMessage.silentTrees, count: p.t * (2 * p.depth + 1))
        let tweak = pool.tweak, iteration = pool.iteration
        var outputs = pool.recycledValues(count: p.n)
        // Every leaf is written by the single-point COT; its path comes from the base COTs' choice bits (their
        // lowest bits), and the leaf at the point has its lowest bit set, the others clear.
        _ = outputs.withUnsafeMutableBufferPointer { out in
            base.withUnsafeBufferPointer { b in
                SinglePointCOT.receive(t: p.t, depth: p.depth, w: UnsafeBufferPointer(rebasing: b[p.k..<p.consumed]),
                                       choice: { j in b[p.k + j].lsb },
                                       message: message, tweak: tweak, leaves: out.baseAddress!)
            }
        }
        base.withUnsafeBufferPointer { b in
            outputs.withUnsafeMutableBufferPointer { out in
                PrimalLPN.encode(p, iteration: iteration, secret: UnsafeBufferPointer(rebasing: b[0..<p.k]), into: out.baseAddress!)
            }
        }
        // The choice bits, read off the values' lowest bits.
        var bits = [UInt64](repeating: 0, count: (p.n + 63) / 64)
        outputs.withUnsafeBufferPointer { out in
            bits.withUnsafeMutableBufferPointer { x in
                for w in 0..<x.count {
                    var word: UInt64 = 0
                    for j in 0..<min(64, p.n - 64 * w) { word |= (out[64 * w + j].lo & 1) << UInt64(j) }
                    x[w] = word
                }
            }
        }
        let reserve = pool.parameters.extension_.consumed
        SilentPool.keep(outputs, count: reserve, in: &base)
        pool.install(outputs, bits: bits, reserve: reserve)
    }

    public func extend(choices: ChoiceBits, into output: UnsafeMutableBufferPointer<Block>) throws -> UInt64 {
        precondition(choices.count == output.count, "one choice bit per OT: \(choices.count) bits for \(output.count) OTs")
        return try serve(output.count) { done, count, position in
            var flips = ChoiceBits.extract(pool.bits, from: position, count: count)
            let wanted = ChoiceBits.extract(choices.words, from: done, count: count)
            for w in flips.indices { flips[w] ^= wanted[w] }
            try channel.sendMessage(type: OTMessage.silentChoices, flips)
            try channel.flush()
            pool.values.withUnsafeBufferPointer { values in
                for j in 0..<count { output[done + j] = values[position + j] }
            }
        }
    }
}
