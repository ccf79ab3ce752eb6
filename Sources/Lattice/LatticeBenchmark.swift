// Benchmarks of the Lattice module, wired into `sibyl bench crypto --json` by the command-line tool.
// Times are the best of several repetitions on one thread (the machine is shared: take the minimum).

import ModularMath

#if canImport(Glibc)
import Glibc
#endif

/// Lattice benchmarks: NTT and the HE linear layer.
public enum LatticeBenchmark {
    /// Monotonic time in seconds.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Best time in seconds of `repeats` runs of `body`.
    static func best(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
        var b = Double.infinity
        for _ in 0..<repeats {
            let t0 = now()
            try body()
            b = min(b, now() - t0)
        }
        return b
    }

    /// Forward NTT of size 8192 modulo one prime below 2^60, microseconds (best of many).
    public static func nttForwardMicroseconds(bits: Int = 60) throws -> (forward: Double, inverse: Double) {
        let n = 8192
        let q = try Modulus.nttPrimes(bits: bits, count: 1, degree: n)[0]
        let t = try NTTTables(modulus: try Modulus(q), degree: n)
        var g = SystemRandomNumberGenerator()
        var a = (0..<n).map { _ in g.next() % q }
        var fwd = Double.infinity, inv = Double.infinity
        a.withUnsafeMutableBufferPointer { p in
            for _ in 0..<20 {
                fwd = min(fwd, best(20) { t.forwardInPlace(p.baseAddress!) })
                inv = min(inv, best(20) { t.inverseInPlace(p.baseAddress!) })
            }
        }
        return (fwd * 1e6, inv * 1e6)
    }

    /// All figures (keys as in `sibyl bench crypto --json`).
    public static func run() throws -> [String: Double] {
        var out: [String: Double] = [:]
        let ntt = try nttForwardMicroseconds()
        out["ntt_8192_forward_us"] = ntt.forward
        out["ntt_8192_inverse_us"] = ntt.inverse
        return out
    }
}
