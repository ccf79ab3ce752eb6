// What a garbler sends offline for a batch of copies of one circuit, its wire format and byte count.
//
// Wire format (little-endian), version 1:
//   u8 version | u8 flags (bit 0: known-input seed present) | u16 reserved (0)
//   u64 firstCopy | u32 copies | u32 andCount | u32 outputWireCount
//   [16 bytes known-input seed]                      if flag bit 0
//   copies × andCount × 32 bytes of tables          two ciphertexts per AND gate, in groups of 16 copies,
//                                                     gate-major inside a group (HalfGates.tableIndex)
//   if flag bit 1 is clear (OutputEncoding.bits):
//   ceil(copies × outputWireCount / 8) bytes         output decoding bits (lsb of each output wire's
//                                                     zero-label), in groups of 16 copies, output-major
//                                                     inside a group (GarbledBatch.decodingBitIndex)
//   if flag bit 1 is set (OutputEncoding.additiveShares):
//   copies × outputWireCount × 16 bytes              two 8-byte rows per output wire, copy-major
//                                                     (see OutputEncoding.swift)
//   if flag bit 2 is set (OutputEncoding.gatedShares):
//   copies × (outputWireCount - 1) × 24 bytes        three 8-byte rows per value wire, copy-major

public struct GarbledBatch: Sendable, Equatable {
    public static let formatVersion: UInt8 = 1
    static let headerBytes = 24

    /// Index of the first copy; fixes the hash tweaks (see `HalfGates`).
    public let firstCopy: UInt64
    public let copies: Int
    public let andCount: Int
    public let outputWireCount: Int
    /// copies × andCount × 2 ciphertexts, laid out as `HalfGates.tableIndex` says.
    public var tables: [Block]
    /// One permute bit per output wire per copy, packed.
    public var outputDecoding: [UInt8]
    /// Seed from which the evaluator derives its labels for the garbler's known-at-garbling-time inputs.
    public var knownInputSeed: Block?
    /// How the outputs are delivered (decoding bits or projection rows for additive shares).
    public let outputEncoding: OutputEncoding
    /// With `.additiveShares`: copies × outputWireCount × 2 rows; with `.gatedShares` copies × (outputWireCount
    /// - 1) × 3; copy-major (`.bits`: empty).
    public var arithmeticOutputs: [UInt64]

    /// A batch of no copies: the starting value for `Garbler.garble(copies:knownInputWords:evaluatorZeroLabels:into:)`.
    public static let empty = GarbledBatch(firstCopy: 0, copies: 0, andCount: 0, outputWireCount: 0, tables: [],
                                           outputDecoding: [], knownInputSeed: nil)

    public init(firstCopy: UInt64, copies: Int, andCount: Int, outputWireCount: Int, tables: [Block],
                outputDecoding: [UInt8], knownInputSeed: Block?, outputEncoding: OutputEncoding = .bits,
                arithmeticOutputs: [UInt64] = []) {
        self.firstCopy = firstCopy
        self.copies = copies
        self.andCount = andCount
        self.outputWireCount = outputWireCount
        self.tables = tables
        self.outputDecoding = outputDecoding
        self.knownInputSeed = knownInputSeed
        self.outputEncoding = outputEncoding
        self.arithmeticOutputs = arithmeticOutputs
    }

    /// Copies per decoding-bit group (as for the tables: a prefix of whole groups is a prefix of the bytes).
    public static let decodingGroup = 16

    /// Position of the decoding bit of output wire `output` (counted among wire outputs) of copy `copy` in a
    /// batch of `copies` copies with `outputWires` wire outputs: groups of 16 copies (the last may be
    /// smaller), output-major inside a group, so one output's bits for a group are consecutive.
    public static func decodingBitIndex(copy: Int, output: Int, copies: Int, outputWires: Int) -> Int {
        let g0 = copy - copy % decodingGroup
        let size = min(decodingGroup, copies - g0)
        return g0 * outputWires + output * size + (copy - g0)
    }

    /// The decoding bit of output wire `o` (counted among wire outputs) of copy `c`.
    public func decodingBit(copy c: Int, output o: Int) -> Bool {
        let bit = GarbledBatch.decodingBitIndex(copy: c, output: o, copies: copies, outputWires: outputWireCount)
        return (outputDecoding[bit >> 3] >> UInt8(bit & 7)) & 1 == 1
    }

    /// Bytes of content (tables, decoding bits, seed), without the fixed header.
    public var payloadByteCount: Int {
        tables.count * 16 + outputDecoding.count + arithmeticOutputs.count * 8 + (knownInputSeed == nil ? 0 : 16)
    }

    /// Bytes on the wire.
    public var serializedByteCount: Int { GarbledBatch.headerBytes + payloadByteCount }

    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(serializedByteCount)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(GarbledBatch.formatVersion)
        put(UInt8((knownInputSeed == nil ? 0 : 1) | (outputEncoding == .additiveShares ? 2 : 0) | (outputEncoding == .gatedShares ? 4 : 0)))
        put(UInt16(0))
        put(firstCopy)
        put(UInt32(copies))
        put(UInt32(andCount))
        put(UInt32(outputWireCount))
        if let s = knownInputSeed { out.append(contentsOf: s.bytes) }
        tables.withUnsafeBytes { out.append(contentsOf: $0) }
        out.append(contentsOf: outputDecoding)
        for v in arithmeticOutputs { put(v) }
        return out
    }

    public init(serialized bytes: [UInt8]) throws {
        guard bytes.count >= GarbledBatch.headerBytes else {
            throw GarblingError.malformedBatch("\(bytes.count) bytes is shorter than the \(GarbledBatch.headerBytes)-byte header")
        }
        func get<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            var v = T.zero
            for i in 0..<MemoryLayout<T>.size { v |= T(bytes[offset + i]) << (8 * i) }
            return v
        }
        guard bytes[0] == GarbledBatch.formatVersion else {
            throw GarblingError.malformedBatch("format version \(bytes[0]), this build reads version \(GarbledBatch.formatVersion)")
        }
        let flags = bytes[1]
        guard flags <= 5, flags & 6 != 6, get(2, UInt16.self) == 0 else { throw GarblingError.malformedBatch("unknown flags") }
        let encoding: OutputEncoding = flags & 2 != 0 ? .additiveShares : flags & 4 != 0 ? .gatedShares : .bits
        let arithmetic = encoding.isArithmetic
        let firstCopy = get(4, UInt64.self)
        let copies = Int(get(12, UInt32.self)), ands = Int(get(16, UInt32.self)), outs = Int(get(20, UInt32.self))
        let seedBytes = flags & 1 != 0 ? 16 : 0
        // Each count is below 2^32, but their products can exceed Int: check before trusting them.
        let (pairs, o1) = copies.multipliedReportingOverflow(by: ands)
        let (tableBytes, o2) = pairs.multipliedReportingOverflow(by: 32)
        let (decodingBits, o3) = copies.multipliedReportingOverflow(by: outs)
        guard !o1, !o2, !o3, tableBytes <= bytes.count, decodingBits / 8 <= bytes.count else {
            throw GarblingError.malformedBatch("the header announces \(copies) copies x \(ands) AND gates x \(outs) outputs, more than the \(bytes.count) bytes received")
        }
        // Bits mode: decoding bits; additive mode: 16 bytes (two rows) per output wire; gated: 24 bytes
        // (three rows) per output wire but the gate.
        let decodingBytes = arithmetic ? 0 : (decodingBits + 7) / 8
        let (rowBytes, o4) = encoding.rowCount(copies: copies, outputWires: outs).multipliedReportingOverflow(by: 8)
        guard !o4, rowBytes <= bytes.count else {
            throw GarblingError.malformedBatch("the header announces \(copies) copies x \(outs) outputs, more than the \(bytes.count) bytes received")
        }
        let expected = GarbledBatch.headerBytes + seedBytes + tableBytes + decodingBytes + rowBytes
        guard bytes.count == expected else {
            throw GarblingError.malformedBatch("\(bytes.count) bytes, the header announces \(expected)")
        }
        var offset = GarbledBatch.headerBytes
        var seed: Block? = nil
        if seedBytes > 0 {
            seed = Block(bytes: Array(bytes[offset..<(offset + 16)]))
            offset += 16
        }
        var tables = [Block](repeating: .zero, count: copies * ands * 2)
        tables.withUnsafeMutableBytes { dst in
            bytes.withUnsafeBytes { src in
                dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset..<(offset + tableBytes)]))
            }
        }
        offset += tableBytes
        let decoding = Array(bytes[offset..<(offset + decodingBytes)])
        offset += decodingBytes
        var rows: [UInt64] = []
        if arithmetic {
            rows.reserveCapacity(rowBytes / 8)
            for i in 0..<(rowBytes / 8) { rows.append(get(offset + 8 * i, UInt64.self)) }
        }
        self.init(firstCopy: firstCopy, copies: copies, andCount: ands, outputWireCount: outs, tables: tables,
                  outputDecoding: decoding, knownInputSeed: seed, outputEncoding: encoding,
                  arithmeticOutputs: rows)
    }
}
