// Wire format of the HE linear-layer messages. Every message starts with a version byte and a type
// byte; requests and responses then carry a 32-bit fingerprint of the plan and parameters, so that a
// message for another layer or parameter set is rejected with a clear error instead of decrypting to
// garbage. Ring elements are bit-packed: residues at the bit length of their prime, switched
// coefficients at exactly their bit width.

import ModularMath

/// Message framing constants.
public enum LinearLayerMessage {
    /// Current wire-format version (2: requests carry a mode byte, and mode 1 compact coefficients).
    public static let version: UInt8 = 2
    /// Message types.
    public enum Kind: UInt8, Sendable { case setup = 1, request = 2, response = 3, oleRequest = 4, oleResponse = 5 }

    static func writeHeader(_ w: inout MessageWriter, _ kind: Kind, fingerprint: UInt32?) {
        w.byte(version)
        w.byte(kind.rawValue)
        if let f = fingerprint { w.uint32(f) }
    }

    static func readHeader(_ r: inout MessageReader, _ kind: Kind, fingerprint: UInt32?) throws {
        let v = try r.byte()
        guard v == version else { throw LatticeError.unsupportedVersion(found: v, supported: version) }
        let k = try r.byte()
        guard k == kind.rawValue else { throw LatticeError.unexpectedMessageType(found: k, expected: kind.rawValue) }
        if let f = fingerprint {
            let got = try r.uint32()
            guard got == f else {
                throw LatticeError.malformedInput("message is for another layer or parameter set (fingerprint \(got), expected \(f))")
            }
        }
    }
}

extension BFVContext {
    /// Fingerprint of the parameters (mixed into message fingerprints).
    var parameterFingerprint: UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for v in parameters.primes + [UInt64(parameters.degree), UInt64(parameters.errorEta),
                                      UInt64(parameters.statisticalSecurity), UInt64(parameters.correctnessBits)] {
            h = (h ^ v) &* 0x100_0000_01b3
        }
        return h
    }

    func fingerprint(_ plan: LinearLayerPlan) -> UInt32 {
        let h = (parameterFingerprint ^ UInt64(plan.fingerprint)) &* 0x100_0000_01b3
        return UInt32(truncatingIfNeeded: h ^ (h >> 32))
    }

    /// Bytes of one packed polynomial in R_Q (residues at the bit length of each prime).
    public var packedPolynomialBytes: Int {
        (degree * moduli.reduce(0) { $0 + $1.bitLength } + 7) / 8
    }

    /// Writes a polynomial's residues, bit-packed (not those of `skipping`'s positions, written before).
    func writePolynomial<F>(_ p: PolyRq<F>, to w: inout MessageWriter, skipping: [Bool]? = nil) {
        for (i, m) in moduli.enumerated() {
            let b = m.bitLength
            for j in 0..<degree where skipping?[j] != true { w.bits(p.data[i * degree + j], width: b) }
        }
        w.flushBits()
    }

    /// Reads a polynomial's residues; throws for a truncated message or a residue >= its prime. With
    /// `skipping`, those positions are left as `into` holds them and not read.
    func readPolynomial<F>(from r: inout MessageReader, into start: PolyRq<F>? = nil, skipping: [Bool]? = nil) throws -> PolyRq<F> {
        var p = start ?? PolyRq<F>.zero(ring)
        for (i, m) in moduli.enumerated() {
            let b = m.bitLength
            for j in 0..<degree where skipping?[j] != true {
                let v = try r.bits64(width: b)
                guard v < m.value else { throw LatticeError.malformedInput("residue \(v) is not below its prime \(m.value)") }
                p.data[i * degree + j] = v
            }
        }
        r.alignBits()
        return p
    }

    /// v mod q_i for a value below 2^128.
    @inline(__always) func reduce128(_ v: UInt128, prime i: Int) -> UInt64 {
        let m = moduli[i]
        let lo = m.reduce(UInt64(truncatingIfNeeded: v))
        let hi = m.reduce(UInt64(truncatingIfNeeded: v >> 64))
        return m.add(lo, m.multiply(hi, wordPowers[i][1]))
    }
}

extension BFVContext {
    /// Exact size in bytes of the request for a layer (header, seed, count, mode, packed c0 per upload);
    /// `choosingMask`: the request chooses the mask (compact first occurrences, where t allows them).
    public func requestBytes(for shape: LinearLayerShape, choosingMask: Bool = false) throws -> Int {
        let plan = try LinearLayerPlan(shape: shape, parameters: parameters)
        return requestBytes(plan: plan, firsts: choosingMask ? plan.firstOccurrences() : nil,
                            requestBits: try ResponseWidths(plan: plan, context: self).requestBits)
    }

    /// The same for a plan, with its first occurrences when the request chooses the mask, and its
    /// request width b (ResponseWidths.requestBits).
    func requestBytes(plan: LinearLayerPlan, firsts: [[(position: Int, input: Int)]]?, requestBits b: Int) -> Int {
        // Bits of an ordinary coefficient: switched to 2^b, or its residues.
        let plain = b < modulusBitLength ? b : moduli.reduce(0) { $0 + $1.bitLength }
        let compact = firsts == nil ? nil : compactRequestBits(plaintextBits: plan.shape.plaintextBits, requestBits: b)
        return (0..<plan.uploadCount).reduce(2 + 4 + 32 + 4 + 1) { total, j in
            let small = compact == nil ? 0 : firsts![j].count
            return total + (small * (compact ?? 0) + (degree - small) * plain + 7) / 8
        }
    }

    /// Exact size in bytes of the response for a layer (header, count, switched c1 and output c0).
    public func responseBytes(for shape: LinearLayerShape) throws -> Int {
        let plan = try LinearLayerPlan(shape: shape, parameters: parameters)
        return 2 + 4 + 4 + (try ResponseWidths(plan: plan, context: self)).responseBytes(plan: plan)
    }

    /// Exact size in bytes of the once-per-session setup message (rerandomisation key).
    public var setupBytes: Int { 2 + 32 + packedPolynomialBytes }
}
