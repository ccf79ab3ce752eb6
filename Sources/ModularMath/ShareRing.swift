// Additive secret sharing over the ring Z_(2^64) and local share truncation.
// Local truncation: P. Mohassel and Y. Zhang, "SecureML: A System for Scalable Privacy-Preserving
// Machine Learning", IEEE S&P 2017, Theorem 1.
//
// Why the ring Z_(2^64): reductions are free (wrapping UInt64 arithmetic), a garbled ReLU needs no
// modular reduction, coefficient-encoded BFV accepts t = 2^64, and local truncation of a value with
// |x| < 2^l_x fails with probability about 2^(l_x + 1 - 64): ~2^-37 for 26-bit activations, so a
// network with ~250k truncations per image fails about once in 2^19 images (a 41-bit field would fail
// several times per image).

import CAES

/// Helpers for additive shares x = x_server + x_client mod 2^64.
public enum ShareRing {
    /// Splits values into two uniformly random additive shares using `generator`.
    /// Use a cryptographic generator (the default `SystemRandomNumberGenerator` is the OS CSPRNG).
    public static func share<G: RandomNumberGenerator>(_ values: [UInt64], using generator: inout G)
        -> (server: [UInt64], client: [UInt64]) {
        var server = [UInt64](repeating: 0, count: values.count)
        var client = server
        for i in 0..<values.count {
            let mask = generator.next()
            server[i] = mask
            client[i] = values[i] &- mask
        }
        return (server, client)
    }

    /// Splits values into two random shares with the OS CSPRNG.
    public static func share(_ values: [UInt64]) -> (server: [UInt64], client: [UInt64]) {
        var g = SystemRandomNumberGenerator()
        return share(values, using: &g)
    }

    /// `count` uniformly random ring elements from the OS CSPRNG, read in bulk (the standard library's
    /// generator makes one getrandom(2) call per element: 300,000 calls per ResNet-32 inference).
    public static func random(count: Int) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: count)
        out.withUnsafeMutableBytes { bytes in
            if let base = bytes.baseAddress, bytes.count > 0, caes_os_random(base, bytes.count) != 0 {
                fatalError("getrandom(2) failed: the operating system's random number generator is unavailable")
            }
        }
        return out
    }

    /// x_server + x_client mod 2^64 elementwise; throws on a length mismatch.
    public static func reconstruct(_ a: [UInt64], _ b: [UInt64]) throws -> [UInt64] {
        guard a.count == b.count else { throw ModularMathError.lengthMismatch(expected: a.count, actual: b.count) }
        return zip(a, b).map { $0 &+ $1 }
    }

    /// SecureML local truncation of one share by f bits: the server (share index 0) shifts its share
    /// logically; the client (index 1) computes 2^64 - floor((2^64 - x1) / 2^f). The two results add up
    /// to x / 2^f (arithmetic) up to 1 in the last place, except with probability about
    /// 2^(l_x + 1 - 64) over the random shares when |x| < 2^l_x; `truncationFails` detects that case.
    @inlinable public static func truncate(share: UInt64, by f: Int, party: Party) -> UInt64 {
        switch party {
        case .server: return share >> UInt64(f)
        case .client: return 0 &- ((0 &- share) >> UInt64(f))
        }
    }

    /// Truncates every element of a party's share vector.
    public static func truncate(shares: [UInt64], by f: Int, party: Party) -> [UInt64] {
        shares.map { truncate(share: $0, by: f, party: party) }
    }

    /// Whether locally truncating this pair of shares gives a large error, that is, a result that
    /// differs from the arithmetic shift of x = serverShare + clientShare by more than 1.
    public static func truncationFails(serverShare: UInt64, clientShare: UInt64, by f: Int) -> Bool {
        let x = Int64(bitPattern: serverShare &+ clientShare)
        let exact = x >> Int64(f)
        let local = Int64(bitPattern: truncate(share: serverShare, by: f, party: .server)
                                      &+ truncate(share: clientShare, by: f, party: .client))
        let diff = local &- exact
        return diff > 1 || diff < -1
    }

    /// Upper bound on the probability (over a uniformly random split) that truncating a value with
    /// |x| < 2^valueBits fails: 2^(valueBits + 1 - 64).
    public static func truncationFailureBound(valueBits: Int) -> Double {
        var p = 1.0
        for _ in 0..<max(0, 63 - valueBits) { p /= 2 }
        return min(1, p)
    }
}
