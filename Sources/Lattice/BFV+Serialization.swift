// Stand-alone serialisation of ciphertexts (the linear-layer messages use the same packing inline):
// version byte, kind byte, parameter fingerprint, then bit-packed residues or switched coefficients.

import ModularMath

extension BFVContext {
    /// Wire-format version of serialised ciphertexts.
    public static let ciphertextVersion: UInt8 = 1

    private enum CiphertextKind: UInt8 { case full = 0x10, switched = 0x11 }

    /// A full ciphertext (c0, c1) in R_Q: 2 + 8 header bytes, then both polynomials bit-packed.
    public func serialize(_ ct: Ciphertext<Coeff>) -> [UInt8] {
        var w = MessageWriter(capacity: 10 + 2 * packedPolynomialBytes)
        w.byte(BFVContext.ciphertextVersion)
        w.byte(CiphertextKind.full.rawValue)
        writeFingerprint(&w)
        writePolynomial(ct.c0, to: &w)
        writePolynomial(ct.c1, to: &w)
        return w.finish()
    }

    /// Reads what `serialize(_: Ciphertext<Coeff>)` wrote; throws for another version, kind or
    /// parameter set, truncation, residues out of range or trailing bytes.
    public func deserializeCiphertext(_ bytes: [UInt8]) throws -> Ciphertext<Coeff> {
        var r = MessageReader(bytes)
        try readHeader(&r, .full)
        let c0: PolyRq<Coeff> = try readPolynomial(from: &r)
        let c1: PolyRq<Coeff> = try readPolynomial(from: &r)
        try r.expectEnd()
        return Ciphertext(c0: c0, c1: c1)
    }

    /// A switched ciphertext: header, widths, position count, positions (32 bits each), then c1 and
    /// c0 at their widths.
    public func serialize(_ ct: SwitchedCiphertext) -> [UInt8] {
        var w = MessageWriter()
        w.byte(BFVContext.ciphertextVersion)
        w.byte(CiphertextKind.switched.rawValue)
        writeFingerprint(&w)
        w.byte(UInt8(ct.c0Bits))
        w.byte(UInt8(ct.c1Bits))
        w.uint32(UInt32(ct.positions.count))
        for p in ct.positions { w.uint32(UInt32(p)) }
        for v in ct.c1 { w.bits(v, width: ct.c1Bits) }
        for v in ct.c0 { w.bits(v, width: ct.c0Bits) }
        return w.finish()
    }

    /// Reads what `serialize(_: SwitchedCiphertext)` wrote.
    public func deserializeSwitchedCiphertext(_ bytes: [UInt8]) throws -> SwitchedCiphertext {
        var r = MessageReader(bytes)
        try readHeader(&r, .switched)
        let b0 = Int(try r.byte()), b1 = Int(try r.byte())
        guard (3...127).contains(b0), (3...127).contains(b1) else {
            throw LatticeError.malformedInput("switched widths \(b0), \(b1) must lie in 3...127")
        }
        let count = Int(try r.uint32())
        guard count <= degree else { throw LatticeError.malformedInput("\(count) positions for degree \(degree)") }
        let needed = r.offset + 4 * count + (degree * b1 + count * b0 + 7) / 8
        guard bytes.count >= needed else { throw LatticeError.truncatedMessage(expected: needed, actual: bytes.count) }
        let positions = try (0..<count).map { _ in Int(try r.uint32()) }
        let c1 = try (0..<degree).map { _ in try r.bits(width: b1) }
        let c0 = try (0..<count).map { _ in try r.bits(width: b0) }
        try r.expectEnd()
        return try SwitchedCiphertext(c0Bits: b0, c1Bits: b1, positions: positions, c0: c0, c1: c1)
    }

    private func writeFingerprint(_ w: inout MessageWriter) {
        let f = parameterFingerprint
        w.uint32(UInt32(truncatingIfNeeded: f))
        w.uint32(UInt32(truncatingIfNeeded: f >> 32))
    }

    private func readHeader(_ r: inout MessageReader, _ kind: CiphertextKind) throws {
        let v = try r.byte()
        guard v == BFVContext.ciphertextVersion else {
            throw LatticeError.unsupportedVersion(found: v, supported: BFVContext.ciphertextVersion)
        }
        let k = try r.byte()
        guard k == kind.rawValue else { throw LatticeError.unexpectedMessageType(found: k, expected: kind.rawValue) }
        let lo = UInt64(try r.uint32()), hi = UInt64(try r.uint32())
        guard lo | hi << 32 == parameterFingerprint else {
            throw LatticeError.malformedInput("ciphertext was written under other parameters")
        }
    }
}
