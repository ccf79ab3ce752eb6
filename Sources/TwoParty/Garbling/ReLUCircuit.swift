// The ReLU circuit over additive shares in Z_(2^64), with truncation by rewiring and re-sharing by a
// garbler mask (the ring version of Delphi's ReLU circuit, Mishra et al., USENIX Security 2020; ring
// arithmetic as in CrypTFlow2/SCI, CCS 2020, removes Delphi's modular reductions).
//
// The value x = x_c + x_s mod 2^64 is promised to satisfy |x| < 2^(k'-1), k' = valueBits. Then the low k'
// bits of x_c + x_s (mod 2^k') are x's two's-complement form and bit k'-1 is its sign, so only the low k'
// bits of each share enter. The result is y = ReLU(x) >> f (f = truncationBits): negative inputs map to 0
// (ReLU first, then the shift: for x ≥ 0 the arithmetic and logical shifts agree). The shift is free
// rewiring, and y has only p = k'-1-f possibly non-zero bits. The outputs leave as fresh additive shares
// of y in Z_(2^64), in one of two ways (OutputEncoding):
//
//  - .gatedShares (default): the circuit outputs the p bits x_(f..k'-2) and the sign's complement, and the
//    multiplexer's AND sits in each output's table (OutputEncoding.swift: three 8-byte rows per bit):
//    (k'-1) AND gates, e.g. 34 at k' = 35, and 24 bytes per result bit.
//  - .additiveShares: the circuit outputs the p bits of y and each output wire becomes an
//    additive share through a projection gate (16 bytes per wire, OutputEncoding.swift). AND gates:
//    (k'-1) for the k'-bit share adder (no carry out of the top bit) + (k'-1-f) to zero y when x < 0,
//    e.g. 66 at k' = 40, f = 12 and 78 at f = 0.
//  - .bits: the garbler's fresh 64-bit mask m enters as 64 garbler inputs known at garbling time (free,
//    see Garbler.swift), the circuit adds it (63 more AND gates) and the evaluator decodes y + m bit by bit
//    (one decoding bit per output); the garbler's share is -m. (k'-1) + (k'-1-f) + 63 AND gates: 129 at
//    k' = 40, f = 12 (Delphi: 288 over its field).
//
// Inputs: garbler inputs 0..<k' are the bits of x_s (online; with .bits, k'..<k'+64 are the bits of m);
// evaluator inputs 0..<k' are the bits of x_c (by OT). Outputs, least significant first: the p bits of y
// (.additiveShares) or the 64 bits of y + m (.bits).

public struct ReLUCircuit: Sendable {
    /// k' = 40 keeps values below 2^39; with f fractional bits the ReLU input carries 2f fractional bits
    /// (it follows a product, and the truncation by f happens here), so real values below 2^(39-2f) are
    /// exact: 2^15 = 32768 at f = 12, 2^23 at f = 8. ResNet activations after batch-norm folding stay in
    /// the tens, leaving 10 bits or more of headroom for outliers and accumulated share-truncation error.
    public static let defaultValueBits = 40

    public let valueBits: Int
    public let truncationBits: Int
    public let outputEncoding: OutputEncoding
    public let circuit: Circuit

    public var garblerShareInputs: Range<Int> { 0..<valueBits }
    /// The mask's 64 garbler inputs (known at garbling time) with `.bits`; empty with `.additiveShares`.
    public var maskInputs: Range<Int> { outputEncoding == .bits ? valueBits..<(valueBits + 64) : valueBits..<valueBits }

    public init(valueBits: Int = ReLUCircuit.defaultValueBits, truncationBits: Int = 0,
                outputEncoding: OutputEncoding = .gatedShares) throws {
        guard (2...64).contains(valueBits) else {
            throw GarblingError.invalidParameter("valueBits must be in 2...64, got \(valueBits)")
        }
        guard truncationBits >= 0 && truncationBits < valueBits else {
            throw GarblingError.invalidParameter("truncationBits must be in 0..<\(valueBits), got \(truncationBits)")
        }
        self.valueBits = valueBits
        self.truncationBits = truncationBits
        self.outputEncoding = outputEncoding
        let b = CircuitBuilder()
        let xs = b.garblerInputs(valueBits)
        let m = outputEncoding == .bits ? b.garblerInputs(64) : []
        let xc = b.evaluatorInputs(valueBits)
        let sum = b.add(xc, xs) // x mod 2^k'
        let positive = b.not(sum[valueBits - 1])
        // ReLU(x) >> f: bits f..k'-2 of x, zeroed when x < 0 (bit k'-1 of a non-negative x is 0).
        let bits = Array(sum[truncationBits..<(valueBits - 1)])
        switch outputEncoding {
        case .gatedShares: circuit = b.build(outputs: bits.isEmpty ? [] : bits + [positive])
        case .additiveShares: circuit = b.build(outputs: b.select(positive, bits))
        case .bits: circuit = b.build(outputs: b.add(b.zeroExtend(b.select(positive, bits), to: 64), m))
        }
    }

    /// The AND-gate count the construction above yields.
    public static func expectedAndCount(valueBits: Int, truncationBits: Int,
                                        outputEncoding: OutputEncoding = .gatedShares) -> Int {
        let resultBits = valueBits - 1 - truncationBits
        // With no result bits left (f = k'-1) the output is 0 (or m) and the adder is dropped as dead code.
        guard resultBits > 0 else { return 0 }
        switch outputEncoding {
        case .gatedShares: return valueBits - 1
        case .additiveShares: return (valueBits - 1) + resultBits
        case .bits: return (valueBits - 1) + resultBits + 63
        }
    }

    /// ReLU(x) >> f for a value x (negative values give 0).
    public func plaintext(_ x: Int64) -> UInt64 { x <= 0 ? 0 : UInt64(x) >> UInt64(truncationBits) }

    /// The value the low k' bits of the shares encode (sign-extended).
    public func value(clientShare: UInt64, serverShare: UInt64) -> Int64 {
        let shift = UInt64(64 - valueBits)
        return Int64(bitPattern: (clientShare &+ serverShare) << shift) >> shift
    }

    /// What the circuit outputs: (ReLU(x) >> f) + m mod 2^64.
    public func reference(clientShare: UInt64, serverShare: UInt64, mask: UInt64) -> UInt64 {
        plaintext(value(clientShare: clientShare, serverShare: serverShare)) &+ mask
    }

    /// Offline bytes per ReLU without the OT: 32 per AND gate, plus 24 per result bit (.gatedShares), 16 per
    /// output wire (.additiveShares) or one decoding bit per output wire (.bits). (Each batch adds a 24-byte
    /// header, and with .bits a 16-byte seed.)
    public var garbledBytesPerReLU: Int {
        circuit.andCount * 32 + outputEncoding.rowCount(copies: 1, outputWires: circuit.outputWireCount) * 8
            + (outputEncoding == .bits ? circuit.outputWireCount / 8 : 0)
    }

    /// Offline bytes per ReLU including the OT of the evaluator's k' labels at `otBytesPerLabel` each.
    public func offlineBytesPerReLU(otBytesPerLabel: Int) -> Int { garbledBytesPerReLU + valueBits * otBytesPerLabel }

    /// Online bytes per ReLU: the garbler's k' active labels for its share.
    public var onlineBytesPerReLU: Int { valueBits * 16 }
}
