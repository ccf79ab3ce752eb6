// A polynomial activation in one online round, with the server's private coefficients and no third
// party: y = p(x) for x shared as x = s + c (mod 2^64), where the client's share c is fixed offline and
// the server's share s arrives online (the shape of every tensor in Sibyl's runtime).
//
// Lifting. x is small (|x| << 2^63), so as integers s + c = x + 2^64 except with probability about
// |x| / 2^64 (s, c in [0, 2^64)); the parties therefore hold S = s - 2^64 and C = c with S + C = X = x as
// integers, without talking. (Same failure bound as a local truncation in Z_(2^64).)
//
// Evaluation, modulo each plaintext prime t_j of the batched OLE (Lattice.PrimeOLE; three 47-bit primes,
// T = prod t_j ~ 2^141). For p(X) = sum_k A_k X^k (integer coefficients, per channel, the server's),
//     p(S + C) = sum_i C^i H_i(S),   H_i(S) = sum_(k >= i) A_k binom(k, i) S^(k - i).
// Offline, per prime, one OLE inner product over Z_(t_j) gives shares u_j + v_j = sum_(i=1..d) C^i h_ij of
// the client's powers C^i and random h_ij of the server's (d request ciphertexts and one response per N
// elements: BFV with slot encoding, no OT). Online the server sends e_ij = H_i(S) - h_ij mod t_j (uniform:
// it reveals nothing), and
//     server: sigma_j = H_0(S) + u_j,   client: tau_j = sum_i C^i e_ij + v_j,
// so sigma_j + tau_j = p(X) mod t_j. (HoneyBadger-style powers of a mask, as in Diaa et al., USENIX
// Security 2024, need shares of r^i from a dealer and public coefficients; here the mask is the client's
// own share and the coefficients enter through H_i on the server's side.)
//
// Back to Z_(2^64). Each party combines its residues by the CRT into sigma, tau in [0, T). The client's tau
// is uniform in [0, T) (it holds -u_j, and u_j is the server's uniform draw), so for Z = p(X) with
// |Z| < T / 2: sigma + tau = Z + T as integers unless tau <= Z (for Z >= 0: then Z) or tau > Z + T (for Z < 0:
// then Z + 2T), probability at most (|Z| + 1) / T.
// The server takes sigma - T, the client tau: integer shares of Z. Each shifts its share right by `shift`
// (floor; SecureML: the sum is Z >> shift or one less) and keeps 64 bits; the client replies its share minus
// the output share it chose offline; the server keeps the sum. Declared range: |Z| < 2^rangeBits
// (rangeBits = bit length of T - 42 = 99), where this failure's probability is below 2^-41 per element (the
// OLE's own, a wrong decryption, is at most 2^-40 per response of 8,192 elements: PrimeOLE); the
// oracle (`referenceChecked`) counts a value outside it as exceeded. At input scale s and sum scale F = 84
// that is a real |p(x)| < 2^15, far beyond any activation's range.
//
// Costs per element, degree d (three primes of 47 bits, N = 8192, log2 Q = 168): offline per prime d request
// slots (21 bytes: c0's residues) and one response slot (about 13 bytes: switched c0 and c1), 292 bytes at
// d = 4 (`sibyl bench crypto`: polynomial4_offline_bytes), one message each way per prime; online 3 d x 47
// bits server -> client and 8 bytes back: two flights for a whole layer.
import CKernels
import Lattice
import ModularMath
import Transport

public enum OneRoundPolynomial {
    /// Degrees this protocol evaluates.
    public static let degrees: ClosedRange<Int> = 1...6

    /// The CRT of the OLE's plaintext primes (PrimeOLEParameters.default): their product T, and the
    /// declared range 2^rangeBits of |p(X)|.
    public static let residues = try! ResidueSystem(primes: PrimeOLEParameters.default.plaintextPrimes)
    public static var rangeBits: Int { residues.rangeBits }

    /// The server's offline material for `count` elements.
    public struct ServerState: Sendable {
        public let degree: Int
        public let count: Int
        /// masks[(j * d + i - 1) * count + k] = h_ij of element k.
        var masks: [UInt64]
        /// shares[j * count + k] = u_j of element k.
        var shares: [UInt64]
    }

    /// The client's offline material.
    public struct ClientState: Sendable {
        public let degree: Int
        public let count: Int
        /// powers[(j * d + i - 1) * count + k] = C^i mod t_j of element k (C its share of x, below 2^64).
        var powers: [UInt64]
        /// The same times 2^52 mod t_j (Montgomery form, for the IFMA kernel), or empty without IFMA.
        var montgomery: [UInt64] = []
        /// shares[j * count + k] = v_j of element k.
        var shares: [UInt64]
    }

    /// Server offline: per plaintext prime, reads the client's OLE request and answers it with its random
    /// h_ij (d terms), so that its work on one prime overlaps the client's on the next.
    public static func serverOffline(count: Int, degree: Int, ole: PrimeOLEServer, channel: any Channel) throws -> ServerState {
        precondition(degrees.contains(degree), "degree \(degree) outside \(degrees)")
        precondition(ole.context.parameters.plaintextPrimes == residues.moduli.map(\.value), "the OLE's primes are the residue system's")
        var generator = AESPRG()
        var masks: [UInt64] = [], shares: [UInt64] = []
        masks.reserveCapacity(residues.moduli.count * degree * count)
        for (j, t) in residues.moduli.enumerated() {
            let request = try channel.receiveMessage(expecting: OTMessage.polynomialRequest)
            let h = (1...degree).map { _ in generator.uniform(count: count, below: t.value) }
            let (response, u) = try ole.respond(request, factors: h, primes: [Int](repeating: j, count: degree), terms: degree)
            try channel.sendMessage(type: OTMessage.polynomialResponse, response)
            try channel.flush()
            masks += h.joined()
            shares += u[0]
        }
        return ServerState(degree: degree, count: count, masks: masks, shares: shares)
    }

    /// Client offline, with its shares `c` of the input: per plaintext prime, sends its powers encrypted
    /// (all primes before reading a response), then decodes the responses.
    public static func clientOffline(shares c: [UInt64], degree: Int, ole: PrimeOLEClient, channel: any Channel) throws -> ClientState {
        precondition(degrees.contains(degree), "degree \(degree) outside \(degrees)")
        precondition(ole.context.parameters.plaintextPrimes == residues.moduli.map(\.value), "the OLE's primes are the residue system's")
        var powers: [UInt64] = []
        powers.reserveCapacity(residues.moduli.count * degree * c.count)
        for (j, t) in residues.moduli.enumerated() {
            let base = c.map { t.reduce($0) }
            var power = base, rows: [[UInt64]] = []
            for i in 1...degree {
                if i > 1 { for k in power.indices { power[k] = t.multiply(power[k], base[k]) } }
                rows.append(power)
            }
            try channel.sendMessage(type: OTMessage.polynomialRequest, try ole.request(rows, primes: [Int](repeating: j, count: degree)))
            try channel.flush()
            powers += rows.joined()
        }
        var shares: [UInt64] = []
        for j in residues.moduli.indices {
            let response = try channel.receiveMessage(expecting: OTMessage.polynomialResponse)
            shares += try ole.decode(response, counts: [Int](repeating: c.count, count: degree),
                                     primes: [Int](repeating: j, count: degree), terms: degree)[0]
        }
        var montgomery = [UInt64](repeating: 0, count: powers.count)
        let rows = degree * c.count
        let converted = residues.moduli.indices.allSatisfy { j in
            powers.withUnsafeBufferPointer { p in
                montgomery.withUnsafeMutableBufferPointer { m in
                    cpolyring_montgomery(rows, residues.moduli[j].value, p.baseAddress! + j * rows, m.baseAddress! + j * rows) != 0
                }
            }
        }
        return ClientState(degree: degree, count: c.count, powers: powers, montgomery: converted ? montgomery : [], shares: shares)
    }

    /// Server online: `x` its shares of the input (C-H-W, `plane` elements per channel), `coefficients`
    /// A_k per channel ([channels][degree + 1], lowest degree first, two's complement mod 2^128). Sends
    /// the masked H_i, receives the client's reply, returns the server's shares of p(X) >> shift
    /// (`serverSend`, then `serverFinish`).
    public static func serverOnline(_ state: ServerState, shares x: [UInt64], coefficients: [[UInt128]], plane: Int,
                                    shift: Int, channel: any Channel) throws -> [UInt64] {
        let pending = try serverSend(state, shares: x, coefficients: coefficients, plane: plane, shift: shift, channel: channel)
        try channel.flush()
        return try serverFinish(pending, channel: channel)
    }

    /// What the server keeps between sending the masked H_i and reading the reply: its share of
    /// p(X) >> shift before the reply, computed while the client works on its side.
    public struct ServerPending: Sendable {
        var shifted: [UInt64]
    }

    /// Sends the masked H_i (flushed, so the client starts while the server turns its residues into its
    /// share).
    /// Message: per prime j, per power i, e_ij of every element at the prime's bit length, bit-packed
    /// (CKernels' cpolyring_server_send; `maskedValuesReference` is the Swift reference).
    public static func serverSend(_ state: ServerState, shares x: [UInt64], coefficients: [[UInt128]], plane: Int,
                                  shift: Int, channel: any Channel) throws -> ServerPending {
        precondition((0..<128).contains(shift), "shift must be in 0..<128")
        let (message, sums) = maskedValues(state, shares: x, coefficients: coefficients, plane: plane)
        try channel.sendMessage(type: OTMessage.polynomialMasked, message)
        try channel.flush()
        return ServerPending(shifted: residues.shiftedShares(sums, count: x.count, shift: shift, server: true,
                                                             adding: [UInt64](repeating: 0, count: x.count)))
    }

    /// The masked-values message and the server's residues sigma_j.
    public static func maskedValues(_ state: ServerState, shares x: [UInt64], coefficients: [[UInt128]], plane: Int,
                                    kernels: Int32 = 2) -> (message: [UInt8], sums: [UInt64]) {
        let n = x.count, d = state.degree, system = residues, primes = system.moduli.count
        precondition(state.count == n && plane > 0 && n % plane == 0 && coefficients.count == n / plane,
                     "polynomial: \(n) shares, \(state.count) prepared, \(coefficients.count) channels of \(plane)")
        // gamma per channel and prime, (d + 1) x (d + 1) rows zero-padded.
        let rows = (d + 1) * (d + 1)
        var gamma = [UInt64](repeating: 0, count: coefficients.count * primes * rows)
        for (c, a) in coefficients.enumerated() {
            for (j, g) in expanded(a, degree: d).enumerated() {
                for i in 0...d { for m in 0...(d - i) { gamma[(c * primes + j) * rows + i * (d + 1) + m] = g.values[i][m] } }
            }
        }
        // The kernel packs into 64-bit words: the message itself, with one spare word, removed after.
        let bytes = maskedBytes(count: n, degree: d)
        var message = [UInt8](repeating: 0, count: (bytes + 7) / 8 * 8 + 8)
        var sums = [UInt64](repeating: 0, count: primes * n)
        message.withUnsafeMutableBytes { words in
            cpolyring_server_send(n, Int32(d), Int32(primes), system.primes, system.inversePrimes, system.bitLengths, x, plane,
                                  gamma, state.masks, state.shares, words.baseAddress!.assumingMemoryBound(to: UInt64.self),
                                  &sums, kernels)
        }
        message.removeLast(message.count - bytes)
        return (message, sums)
    }

    /// `maskedValues` in Swift (the reference the kernel is tested against).
    public static func maskedValuesReference(_ state: ServerState, shares x: [UInt64], coefficients: [[UInt128]], plane: Int)
        -> (message: [UInt8], sums: [UInt64]) {
        let n = x.count, d = state.degree, moduli = residues.moduli
        var sums = [UInt64](repeating: 0, count: moduli.count * n)
        var masked = [UInt64](repeating: 0, count: moduli.count * d * n)
        var powers = [UInt64](repeating: 0, count: d + 1)
        let gammas = coefficients.map { expanded($0, degree: d) }
        for k in 0..<n {
            let gamma = gammas[k / plane]
            for (j, t) in moduli.enumerated() {
                // S = s - 2^64 modulo t, and its powers.
                let sj = t.subtract(t.reduce(x[k]), residues.twoTo64[j])
                powers[0] = 1
                for m in 1...d { powers[m] = t.multiply(powers[m - 1], sj) }
                let g = gamma[j].values
                for i in 0...d {
                    var h = g[i][0]
                    if i < d { for m in 1...(d - i) { h = t.add(h, t.multiply(powers[m], g[i][m])) } }
                    if i == 0 {
                        sums[j * n + k] = t.add(h, state.shares[j * n + k])
                    } else {
                        masked[(j * d + i - 1) * n + k] = t.subtract(h, state.masks[(j * d + i - 1) * n + k])
                    }
                }
            }
        }
        var w = MessageWriter(capacity: maskedBytes(count: n, degree: d))
        for (index, value) in masked.enumerated() { w.bits(value, width: moduli[index / (d * n)].bitLength) }
        return (w.finish(), sums)
    }

    /// Bytes of the masked H_i for `count` elements.
    static func maskedBytes(count: Int, degree: Int) -> Int {
        (count * degree * residues.moduli.reduce(0) { $0 + $1.bitLength } + 7) / 8
    }

    /// Reads the client's reply; returns the server's shares of p(X) >> shift.
    public static func serverFinish(_ pending: ServerPending, channel: any Channel) throws -> [UInt64] {
        let reply = try channel.receiveMessage(expecting: OTMessage.polynomialReply, UInt64.self, count: pending.shifted.count)
        return zip(pending.shifted, reply).map { $0 &+ $1 }
    }

    /// Client online: receives the masked H_i and replies its share of p(X) >> shift minus `output` (the
    /// share it fixed offline).
    public static func clientOnline(_ state: ClientState, output: [UInt64], shift: Int, channel: any Channel) throws {
        try channel.sendMessage(type: replyMessage, try clientReply(state, output: output, shift: shift, channel: channel))
        try channel.flush()
    }

    /// The frame type of the client's reply.
    public static let replyMessage = OTMessage.polynomialReply

    /// Reads the masked H_i and returns the reply to send.
    public static func clientReply(_ state: ClientState, output: [UInt64], shift: Int, channel: any Channel) throws -> [UInt64] {
        let n = state.count
        precondition(output.count == n && (0..<128).contains(shift), "polynomial: \(output.count) outputs for \(n) elements")
        let masked = try channel.receiveMessage(expecting: OTMessage.polynomialMasked)
        let tau = try clientResidues(state, masked: masked)
        return residues.shiftedShares(tau, count: n, shift: shift, server: false, adding: output.map { 0 &- $0 })
    }

    /// The client's residues tau_j (tau[j * count + k]) from the masked values (CKernels'
    /// cpolyring_client_residues; `clientResiduesReference` is the Swift reference).
    public static func clientResidues(_ state: ClientState, masked: [UInt8], kernels: Int32 = 2) throws -> [UInt64] {
        let n = state.count, d = state.degree, system = residues
        guard masked.count == maskedBytes(count: n, degree: d) else {
            throw OTError.malformedMessage("the masked polynomial values have \(masked.count) bytes, expected \(maskedBytes(count: n, degree: d))")
        }
        var tau = [UInt64](repeating: 0, count: system.moduli.count * n)
        let useMontgomery = kernels >= 2 && !state.montgomery.isEmpty
        let bad = state.montgomery.withUnsafeBufferPointer { m in
            cpolyring_client_residues(n, Int32(d), Int32(system.moduli.count), system.primes, system.inversePrimes, system.bitLengths,
                                      masked, masked.count, state.powers, useMontgomery ? m.baseAddress : nil, state.shares, &tau,
                                      kernels)
        }
        guard bad < 0 else { throw OTError.malformedMessage("masked polynomial value \(bad) is not below its prime") }
        return tau
    }

    /// `clientResidues` in Swift.
    public static func clientResiduesReference(_ state: ClientState, masked: [UInt8]) throws -> [UInt64] {
        let n = state.count, d = state.degree, moduli = residues.moduli
        var r = MessageReader(masked)
        var tau = state.shares
        for (j, t) in moduli.enumerated() {
            for i in 1...d {
                for k in 0..<n {
                    let e = try r.bits64(width: t.bitLength)
                    guard e < t.value else { throw OTError.malformedMessage("masked polynomial value \(e) is not below its prime \(t.value)") }
                    tau[j * n + k] = t.add(tau[j * n + k], t.multiply(state.powers[(j * d + i - 1) * n + k], e))
                }
            }
        }
        return tau
    }

    /// gamma[j]: the coefficients of H_i modulo t_j, gamma_im = A_(i+m) binom(i+m, i), m = 0...d-i, with
    /// their Shoup companions.
    static func expanded(_ a: [UInt128], degree d: Int) -> [(values: [[UInt64]], shoup: [[UInt64]])] {
        precondition(a.count == d + 1, "polynomial of degree \(d) needs \(d + 1) coefficients, got \(a.count)")
        return residues.moduli.map { t in
            let values = (0...d).map { i in
                (0...(d - i)).map { m in t.multiply(residues.reduce(signed: Int128(bitPattern: a[i + m]), modulo: t),
                                                    t.reduce(UInt64(binomial(i + m, i)))) }
            }
            return (values, values.map { row in row.map { t.shoupPrecompute($0) } })
        }
    }

    static func binomial(_ n: Int, _ k: Int) -> Int {
        var result = 1
        for j in 0..<k { result = result * (n - j) / (j + 1) }
        return result
    }

    /// `referenceChecked` for one polynomial over many inputs, faster: inputs with |X| <= `safeMagnitude`
    /// cannot overflow any Horner intermediate (sum_j |a_j| M^j < 2^125 for M = safeMagnitude, checked in
    /// float64 with a factor 4 of margin below Int128's 2^127), so they run in plain wrapping arithmetic;
    /// larger inputs take the reporting form. Returns exactly what `referenceChecked` returns.
    public struct CheckedEvaluator: Sendable {
        @usableFromInline let coefficients: [Int128]
        @usableFromInline let shift: Int
        @usableFromInline let safeMagnitude: UInt128
        @usableFromInline let raw: [UInt128]
        @usableFromInline let range = UInt128(OneRoundPolynomial.rangeBits)

        public init(coefficients a: [UInt128], shift: Int) {
            precondition(!a.isEmpty, "a polynomial needs at least one coefficient")
            raw = a
            coefficients = a.map { Int128(bitPattern: $0) }
            self.shift = shift
            let magnitudes = coefficients.map { Double($0.magnitude) }
            var safe: UInt128 = 0
            for bits in stride(from: 62, through: 0, by: -1) {
                let m = Double(sign: .plus, exponent: bits, significand: 1)
                var bound = 0.0, power = 1.0
                for magnitude in magnitudes { bound += magnitude * power; power *= m }
                if bound < 0x1p125 { safe = UInt128(1) << UInt128(bits); break }
            }
            safeMagnitude = safe
        }

        @inlinable
        public func callAsFunction(_ x: UInt64) -> (value: UInt64, exceeded: Bool) {
            let X = Int128(Int64(bitPattern: x))
            guard X.magnitude <= safeMagnitude else { return OneRoundPolynomial.referenceChecked(x: x, coefficients: raw, shift: shift) }
            var acc = coefficients[coefficients.count - 1]
            var m = coefficients.count - 2
            while m >= 0 { acc = acc &* X &+ coefficients[m]; m -= 1 }
            let y = acc >> Int128(shift)
            return (UInt64(truncatingIfNeeded: y), y < Int128(Int64.min) || y > Int128(Int64.max) || acc.magnitude >> range != 0)
        }
    }

    /// What the protocol computes, in the clear: p(signExtend(x)) mod 2^128, arithmetically shifted right
    /// by `shift`, modulo 2^64 (the reference the tests and the fixed-point oracle use).
    public static func reference(x: UInt64, coefficients a: [UInt128], shift: Int) -> UInt64 {
        referenceChecked(x: x, coefficients: a, shift: shift).value
    }

    /// `reference`, and whether the value left a range where it equals the real polynomial and the protocol
    /// computes it with failure probability below 2^-41: an intermediate of Horner's rule in signed 128-bit
    /// arithmetic overflowed (an input far outside the polynomial's range, whose d-th power needs more than
    /// 128 bits), |p(X)| reached 2^rangeBits (the protocol's declared range), or the shifted result left 64
    /// bits before the reduction mod 2^64. Conservative: a wrap that later terms would undo is counted too.
    public static func referenceChecked(x: UInt64, coefficients a: [UInt128], shift: Int) -> (value: UInt64, exceeded: Bool) {
        let X = Int128(Int64(bitPattern: x))
        var acc = Int128(bitPattern: a[a.count - 1])
        var wrapped = false
        var m = a.count - 2
        while m >= 0 {
            // The reporting operations return the wrapped value, so acc stays horner(a, X) mod 2^128.
            let (product, o1) = acc.multipliedReportingOverflow(by: X)
            let (sum, o2) = product.addingReportingOverflow(Int128(bitPattern: a[m]))
            wrapped = wrapped || o1 || o2
            acc = sum
            m -= 1
        }
        let y = acc >> Int128(shift)
        return (UInt64(truncatingIfNeeded: y),
                wrapped || y < Int128(Int64.min) || y > Int128(Int64.max) || acc.magnitude >> UInt128(rangeBits) != 0)
    }
}
