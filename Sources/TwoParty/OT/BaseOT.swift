// Base oblivious transfer: Chou and Orlandi, "The Simplest Protocol for Oblivious Transfer"
// (Latincrypt 2015, ePrint 2015/267), on the ristretto255 group (RFC 9496) through libsodium.
//
// Sender: a <- Z_q, A = aG, sends A.            Receiver, choice c_i: b_i <- Z_q,
//                                                B_i = b_i G + c_i A, sends B_i.
// Keys: sender k0_i = H(i, A, B_i, a B_i), k1_i = H(i, A, B_i, a B_i - a A); receiver k_ci = H(i, A, B_i, b_i A).
//
// Subtleties handled (see also Hauck and Loss, ePrint 2017/1011; Genc, Iovino, Rial, ePrint 2017/1042):
// - Keys hash the whole transcript (A, B_i) and the index i, not the shared point alone, so keys of
//   different OTs and sessions are independent and the receiver cannot correlate its keys.
// - ristretto255 has prime order and canonical encodings; every received point is decoded and checked
//   (crypto_core_ristretto255_is_valid_point, and multiplications that yield the identity fail), so
//   small-subgroup and non-canonical encodings are rejected with `OTError.invalidPoint`.
// - The receiver computes both b_i G and b_i G + A and selects in constant time, so the timing of its
//   messages does not depend on its choice bits.
// - Randomness: scalars from libsodium's randombytes (the OS CSPRNG).
// Semi-honest security; this is what IKNP needs for its 128 seeds.
import CSodium
import Transport

private let sodiumReady: Bool = sodium_init() >= 0

/// Chou-Orlandi base OT: the sender gets two random 128-bit keys per OT, the receiver the one it chose.
public enum BaseOT {
    static let pointBytes = 32
    static let scalarBytes = 32

    /// Runs `count` random OTs as the sender. Returns (keys0[i], keys1[i]).
    public static func send(count: Int, channel: any Channel) throws -> (keys0: [Block], keys1: [Block]) {
        precondition(count > 0, "base OT needs at least one transfer")
        guard sodiumReady else { throw OTError.sodiumUnavailable }
        var a = [UInt8](repeating: 0, count: scalarBytes)
        var bigA = [UInt8](repeating: 0, count: pointBytes)
        var aA = [UInt8](repeating: 0, count: pointBytes)
        defer { sodium_memzero(&a, a.count) }
        repeat {
            crypto_core_ristretto255_scalar_random(&a)
        } while crypto_scalarmult_ristretto255_base(&bigA, a) != 0
        guard crypto_scalarmult_ristretto255(&aA, a, bigA) == 0 else {
            throw OTError.invalidPoint(message: "own point A", index: 0)
        }
        try channel.sendMessage(type: OTMessage.baseOTSenderPoint, bigA)
        try channel.flush()

        let points = try channel.receiveMessage(expecting: OTMessage.baseOTReceiverPoints)
        guard points.count == count * pointBytes else {
            throw OTError.sizeMismatch(what: "base OT count", expected: count, received: points.count / pointBytes)
        }
        var keys0 = [Block](repeating: .zero, count: count)
        var keys1 = [Block](repeating: .zero, count: count)
        var p0 = [UInt8](repeating: 0, count: pointBytes)
        var p1 = [UInt8](repeating: 0, count: pointBytes)
        for i in 0..<count {
            let bigB = Array(points[(i * pointBytes)..<((i + 1) * pointBytes)])
            guard crypto_core_ristretto255_is_valid_point(bigB) == 1,
                  crypto_scalarmult_ristretto255(&p0, a, bigB) == 0,
                  crypto_core_ristretto255_sub(&p1, p0, aA) == 0 else {
                throw OTError.invalidPoint(message: "receiver point B", index: i)
            }
            keys0[i] = deriveKey(index: i, bigA: bigA, bigB: bigB, shared: p0)
            keys1[i] = deriveKey(index: i, bigA: bigA, bigB: bigB, shared: p1)
        }
        sodium_memzero(&p0, p0.count)
        sodium_memzero(&p1, p1.count)
        return (keys0, keys1)
    }

    /// Runs one random OT per choice bit as the receiver. Returns the chosen keys.
    public static func receive(choices: [Bool], channel: any Channel) throws -> [Block] {
        precondition(!choices.isEmpty, "base OT needs at least one transfer")
        guard sodiumReady else { throw OTError.sodiumUnavailable }
        let bigA = try channel.receiveMessage(expecting: OTMessage.baseOTSenderPoint)
        guard bigA.count == pointBytes else {
            throw OTError.sizeMismatch(what: "base OT point A bytes", expected: pointBytes, received: bigA.count)
        }
        var identityCheck = [UInt8](repeating: 0, count: pointBytes)
        var one = [UInt8](repeating: 0, count: scalarBytes)
        one[0] = 1
        guard crypto_core_ristretto255_is_valid_point(bigA) == 1,
              crypto_scalarmult_ristretto255(&identityCheck, one, bigA) == 0 else {
            throw OTError.invalidPoint(message: "sender point A", index: 0)
        }
        let count = choices.count
        var scalars = [UInt8](repeating: 0, count: count * scalarBytes)
        defer { sodium_memzero(&scalars, scalars.count) }
        var points = [UInt8](repeating: 0, count: count * pointBytes)
        var b = [UInt8](repeating: 0, count: scalarBytes)
        var bG = [UInt8](repeating: 0, count: pointBytes)
        var bGplusA = [UInt8](repeating: 0, count: pointBytes)
        for i in 0..<count {
            repeat {
                crypto_core_ristretto255_scalar_random(&b)
            } while crypto_scalarmult_ristretto255_base(&bG, b) != 0
            guard crypto_core_ristretto255_add(&bGplusA, bG, bigA) == 0 else {
                throw OTError.invalidPoint(message: "sender point A", index: 0)
            }
            // Constant-time select: B = c ? bG + A : bG.
            let mask = UInt8(0) &- (choices[i] ? 1 : 0)
            for k in 0..<pointBytes {
                points[i * pointBytes + k] = (bG[k] & ~mask) | (bGplusA[k] & mask)
                scalars[i * scalarBytes + k] = b[k]
            }
        }
        sodium_memzero(&b, b.count)
        try channel.sendMessage(type: OTMessage.baseOTReceiverPoints, points)
        try channel.flush()

        var keys = [Block](repeating: .zero, count: count)
        var shared = [UInt8](repeating: 0, count: pointBytes)
        for i in 0..<count {
            let scalar = Array(scalars[(i * scalarBytes)..<((i + 1) * scalarBytes)])
            guard crypto_scalarmult_ristretto255(&shared, scalar, bigA) == 0 else {
                throw OTError.invalidPoint(message: "sender point A", index: i)
            }
            keys[i] = deriveKey(index: i, bigA: bigA, bigB: Array(points[(i * pointBytes)..<((i + 1) * pointBytes)]),
                                shared: shared)
        }
        sodium_memzero(&shared, shared.count)
        return keys
    }

    /// H(i, A, B, P): BLAKE2b (crypto_generichash) with a domain-separation prefix, 16-byte output.
    static func deriveKey(index: Int, bigA: [UInt8], bigB: [UInt8], shared: [UInt8]) -> Block {
        var input = Array("Sibyl/ChouOrlandi/v1".utf8)
        withUnsafeBytes(of: UInt64(index).littleEndian) { input.append(contentsOf: $0) }
        input += bigA
        input += bigB
        input += shared
        var out = [UInt8](repeating: 0, count: 16)
        _ = crypto_generichash(&out, 16, input, UInt64(input.count), nil, 0)
        sodium_memzero(&input, input.count)
        return Block(bytes: out)
    }
}
