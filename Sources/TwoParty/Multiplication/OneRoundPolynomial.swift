// A polynomial activation in one online round, with the server's private coefficients and no third
// party: y = p(x) for x shared as x = s + c (mod 2^64), where the client's share c is fixed offline and
// the server's share s arrives online (the shape of every tensor in Sibyl's runtime).
//
// Lifting. x is small (|x| << 2^63), so as integers s + c = x + 2^64 except with probability about
// |x| / 2^64 (s, c in [0, 2^64)); the parties therefore hold S = s - 2^64 and C = c as shares of x in
// Z_(2^128) without talking. (Same failure bound as a local truncation in Z_(2^64).)
//
// Evaluation. For p(X) = sum_k A_k X^k (integer coefficients, per channel, the server's),
//     p(S + C) = sum_i C^i H_i(S),   H_i(S) = sum_(k >= i) A_k binom(k, i) S^(k - i)   (mod 2^128).
// Offline, for i = 1..d, an OLE over Z_(2^128) (OLE.swift) gives shares u_i + v_i = C^i h_i of the client's
// power C^i and a random h_i of the server's. Online the server sends e_i = H_i(S) - h_i (uniform: it
// reveals nothing), and
//     server: sigma_S = H_0(S) + sum_i u_i,   client: sigma_C = sum_i (C^i e_i + v_i),
// so sigma_S + sigma_C = p(X) mod 2^128. (HoneyBadger-style powers of a mask, as in Diaa et al., USENIX
// Security 2024, need shares of r^i from a dealer and public coefficients; here the mask is the client's
// own share and the coefficients enter through H_i on the server's side.)
//
// Output. Both truncate their 128-bit share by `shift` locally (SecureML; the sum is p(X) >> shift up to
// one unit, correct modulo 2^128 except with probability about |p(X)| / 2^128), reduce it modulo 2^64,
// and the client replies its share minus the output share it chose offline; the server keeps the sum.
// The ring has room for x^d at the input's precision: a 64-bit ring does not (x^4 with |x| < 16 at 13
// fractional bits is already 2^68).
//
// Costs per element, degree d, IKNP: offline d OLEs (one with 64-bit factors: 1,796 B; d - 1 with
// 128-bit: 3,080 B each); online d x 16 bytes server -> client and 8 bytes back: two flights for a
// whole layer.
import Transport

public enum OneRoundPolynomial {
    /// Degrees this protocol evaluates.
    public static let degrees: ClosedRange<Int> = 1...6

    /// The server's offline material for `count` elements.
    public struct ServerState: Sendable {
        public let degree: Int
        /// masks[i - 1][k] = h_i of element k.
        var masks: [[UInt128]]
        /// shares[i - 1][k] = u_i of element k.
        var shares: [[UInt128]]
        public var count: Int { masks.first?.count ?? 0 }
    }

    /// The client's offline material.
    public struct ClientState: Sendable {
        public let degree: Int
        /// powers[i - 1][k] = C^i of element k (C its share of x, as an integer below 2^64).
        var powers: [[UInt128]]
        /// shares[i - 1][k] = v_i of element k.
        var shares: [[UInt128]]
        public var count: Int { powers.first?.count ?? 0 }
    }

    /// Server offline: d OLEs against the client's powers (`clientOffline` runs the other side).
    public static func serverOffline(count: Int, degree: Int, ot: any CorrelatedOTSender) throws -> ServerState {
        precondition(degrees.contains(degree), "degree \(degree) outside \(degrees)")
        var masks: [[UInt128]] = [], shares: [[UInt128]] = []
        let sender = OLESender(ot: ot)
        for i in 1...degree {
            let h = randomWide(count: count)
            shares.append(try sender.multiply(h, bits: i == 1 ? 64 : 128))
            masks.append(h)
        }
        return ServerState(degree: degree, masks: masks, shares: shares)
    }

    /// Client offline, with its shares `c` of the input.
    public static func clientOffline(shares c: [UInt64], degree: Int, ot: any CorrelatedOTReceiver) throws -> ClientState {
        precondition(degrees.contains(degree), "degree \(degree) outside \(degrees)")
        var powers: [[UInt128]] = [], shares: [[UInt128]] = []
        let receiver = OLEReceiver(ot: ot)
        var power = c.map { UInt128($0) }
        for i in 1...degree {
            if i > 1 { for k in power.indices { power[k] &*= UInt128(c[k]) } }
            shares.append(try receiver.multiply(power, bits: i == 1 ? 64 : 128))
            powers.append(power)
        }
        return ClientState(degree: degree, powers: powers, shares: shares)
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

    /// What the server keeps between sending the masked H_i and reading the reply: its sums, the shift.
    public struct ServerPending: Sendable {
        var sums: [UInt128]
        var shift: Int
    }

    /// Sends the masked H_i (not flushed: a session may send other steps' messages in the same flight).
    public static func serverSend(_ state: ServerState, shares x: [UInt64], coefficients: [[UInt128]], plane: Int,
                                  shift: Int, channel: any Channel) throws -> ServerPending {
        let n = x.count, d = state.degree
        precondition(state.count == n && plane > 0 && n % plane == 0 && coefficients.count == n / plane,
                     "polynomial: \(n) shares, \(state.count) prepared, \(coefficients.count) channels of \(plane)")
        precondition((0..<128).contains(shift), "shift must be in 0..<128")
        var masked = [UInt64](repeating: 0, count: 2 * d * n)
        var sums = [UInt128](repeating: 0, count: n)
        for channelIndex in 0..<coefficients.count {
            let gamma = expanded(coefficients[channelIndex], degree: d)
            for k in channelIndex * plane..<(channelIndex + 1) * plane {
                let s = UInt128(x[k]) &- (1 << 64)
                var sum = horner(gamma[0], s)
                for i in 1...d {
                    let e = horner(gamma[i], s) &- state.masks[i - 1][k]
                    masked[2 * ((i - 1) * n + k)] = UInt64(truncatingIfNeeded: e)
                    masked[2 * ((i - 1) * n + k) + 1] = UInt64(truncatingIfNeeded: e >> 64)
                    sum &+= state.shares[i - 1][k]
                }
                sums[k] = sum
            }
        }
        try channel.sendMessage(type: OTMessage.polynomialMasked, masked)
        return ServerPending(sums: sums, shift: shift)
    }

    /// Reads the client's reply; returns the server's shares of p(X) >> shift.
    public static func serverFinish(_ pending: ServerPending, channel: any Channel) throws -> [UInt64] {
        let n = pending.sums.count
        let reply = try channel.receiveMessage(expecting: OTMessage.polynomialReply, UInt64.self, count: n)
        return (0..<n).map { k in UInt64(truncatingIfNeeded: pending.sums[k] >> UInt128(pending.shift)) &+ reply[k] }
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
        let n = state.count, d = state.degree
        precondition(output.count == n && (0..<128).contains(shift), "polynomial: \(output.count) outputs for \(n) elements")
        let masked = try channel.receiveMessage(expecting: OTMessage.polynomialMasked, UInt64.self, count: 2 * d * n)
        var reply = [UInt64](repeating: 0, count: n)
        for k in 0..<n {
            var sum: UInt128 = 0
            for i in 1...d {
                let e = UInt128(masked[2 * ((i - 1) * n + k)]) | (UInt128(masked[2 * ((i - 1) * n + k) + 1]) << 64)
                sum &+= state.powers[i - 1][k] &* e &+ state.shares[i - 1][k]
            }
            // The client's half of a SecureML truncation: -((-sigma) >> shift).
            let truncated = 0 &- ((0 &- sum) >> UInt128(shift))
            reply[k] = UInt64(truncatingIfNeeded: truncated) &- output[k]
        }
        return reply
    }

    /// gamma[i][m] = A_(i+m) binom(i+m, i), m = 0...d-i: the coefficients of H_i.
    static func expanded(_ a: [UInt128], degree d: Int) -> [[UInt128]] {
        precondition(a.count == d + 1, "polynomial of degree \(d) needs \(d + 1) coefficients, got \(a.count)")
        return (0...d).map { i in (0...(d - i)).map { m in a[i + m] &* UInt128(binomial(i + m, i)) } }
    }

    /// sum_m c[m] s^m mod 2^128.
    @inline(__always)
    static func horner(_ c: [UInt128], _ s: UInt128) -> UInt128 {
        var acc = c[c.count - 1]
        var m = c.count - 2
        while m >= 0 { acc = acc &* s &+ c[m]; m -= 1 }
        return acc
    }

    static func binomial(_ n: Int, _ k: Int) -> Int {
        var result = 1
        for j in 0..<k { result = result * (n - j) / (j + 1) }
        return result
    }

    static func randomWide(count: Int) -> [UInt128] {
        var generator = AESPRG()
        return (0..<count).map { _ in UInt128(generator.nextUInt64()) | (UInt128(generator.nextUInt64()) << 64) }
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
            return (UInt64(truncatingIfNeeded: y), y < Int128(Int64.min) || y > Int128(Int64.max))
        }
    }

    /// What the protocol computes, in the clear: p(signExtend(x)) mod 2^128, arithmetically shifted right
    /// by `shift`, modulo 2^64 (the reference the tests and the fixed-point oracle use).
    public static func reference(x: UInt64, coefficients a: [UInt128], shift: Int) -> UInt64 {
        referenceChecked(x: x, coefficients: a, shift: shift).value
    }

    /// `reference`, and whether the value left a range where it equals the real polynomial: an
    /// intermediate of Horner's rule in signed 128-bit arithmetic overflowed (the ring wrapped: an input far
    /// outside the polynomial's range, whose d-th power needs more than 128 bits), or the shifted result left
    /// 64 bits before the reduction mod 2^64. Conservative: a wrap that later terms would undo is counted too.
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
        return (UInt64(truncatingIfNeeded: y), wrapped || y < Int128(Int64.min) || y > Int128(Int64.max))
    }
}
