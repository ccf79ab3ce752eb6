// Benchmarks of the Lattice module, wired into `sibyl bench crypto --json` by the command-line tool.
// Times are the best of several repetitions on one thread (the machine is shared: take the minimum).

import ModularMath

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Lattice benchmarks: NTT and the HE linear layer.
public enum LatticeBenchmark {
    /// Monotonic time in seconds.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// CPU time of the calling thread in seconds (less sensitive than wall time to other processes
    /// taking the core).
    static func cpuNow() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
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

    /// Forward and inverse NTT of size 8192 modulo one prime of `bits` bits, microseconds (best of many).
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

    /// The HE linear layer on a C x H x W input with M k x k filters (default: Cheetah's benchmark
    /// layer 16x32x32 -> 16, 3x3, stride 1, padding 1), one thread, best of `repeats`: client request (choosing its mask, as the protocol does),
    /// server response, client decode (milliseconds) and bytes in each direction.
    public static func heConvolution(channels: Int = 16, height: Int = 32, width: Int = 32, outputs: Int = 16,
                                     kernel: Int = 3, stride: Int = 1, padding: Int = 1, weightBits: Int = 12,
                                     repeats: Int = 10) throws -> [String: Double] {
        let context = try BFVContext(parameters: .default)
        let shape = try LinearLayerShape.convolution(inputChannels: channels, height: height, width: width,
                                                     outputChannels: outputs, kernelHeight: kernel, kernelWidth: kernel,
                                                     stride: stride, padding: padding, weightBits: weightBits)
        var g = SystemRandomNumberGenerator()
        let bound = UInt64(1) << UInt64(weightBits)
        let weights = (0..<shape.weightCount).map { _ in Int64(g.next() % (2 * bound - 1)) - Int64(bound - 1) }
        let layer = try LinearLayer(shape: shape, weights: weights)
        let given = (0..<shape.inputCount).map { _ in g.next() }
        let client = LinearLayerClient(context: context)
        let setup = try client.setupMessage()
        let server = try LinearLayerServer(context: context, setupMessage: setup)
        // Best (minimum) over repetitions of wall time and of thread CPU time, per phase.
        var wall = [Double](repeating: .infinity, count: 4), cpu = wall
        var wallTotal = Double.infinity, cpuTotal = Double.infinity
        var prepared = try server.prepare(layer)
        var up = 0, down = 0
        var ok = true
        for _ in 0..<repeats {
            var w0 = now(), c0 = cpuNow()
            let wStart = w0, cStart = c0
            func lap(_ k: Int) {
                let w1 = now(), c1 = cpuNow()
                wall[k] = min(wall[k], w1 - w0); cpu[k] = min(cpu[k], c1 - c0)
                w0 = w1; c0 = c1
            }
            // The protocol's requests choose their masks (compact first occurrences: LinearLayerClient).
            let (request, state, r) = try client.offlineRequest(choosingMaskFor: shape)
            lap(0)
            prepared = try server.prepare(layer)
            lap(1)
            let (response, share) = try server.offlineResponse(request: request, layer: prepared)
            lap(2)
            let clientShare = try client.decodeResponse(response, state: state)
            lap(3)
            wallTotal = min(wallTotal, now() - wStart)
            cpuTotal = min(cpuTotal, cpuNow() - cStart)
            up = request.count
            down = response.count
            let sum = try ShareRing.reconstruct(share, clientShare)
            let reference = try layer.applyReference(r)
            ok = ok && sum == reference
        }
        guard ok else { throw LatticeError.malformedInput("benchmark layer did not reconstruct") }
        // The online phase's exact evaluation L(x - r) + s of the same layer in Z_(2^64).
        let online = try best(repeats) { _ = try layer.apply(given) }
        let givenRequest = try client.offlineRequest(r: given, layer: shape).message.count
        let plan = try LinearLayerPlan(shape: shape, parameters: context.parameters)
        return [
            "he_conv_ms": wallTotal * 1e3,
            "he_conv_cpu_ms": cpuTotal * 1e3,
            "he_conv_ms_kernels_prepared": (wall[0] + wall[2] + wall[3]) * 1e3,
            "he_conv_cpu_ms_kernels_prepared": (cpu[0] + cpu[2] + cpu[3]) * 1e3,
            "he_conv_client_encrypt_ms": wall[0] * 1e3,
            "he_conv_server_prepare_kernels_ms": wall[1] * 1e3,
            "he_conv_server_response_ms": wall[2] * 1e3,
            "he_conv_client_decrypt_ms": wall[3] * 1e3,
            "he_conv_client_encrypt_cpu_ms": cpu[0] * 1e3,
            "he_conv_server_prepare_kernels_cpu_ms": cpu[1] * 1e3,
            "he_conv_server_response_cpu_ms": cpu[2] * 1e3,
            "he_conv_client_decrypt_cpu_ms": cpu[3] * 1e3,
            "he_conv_bytes": Double(up + down),
            "he_conv_request_bytes": Double(up),
            "he_conv_request_bytes_given_mask": Double(givenRequest),
            "he_conv_response_bytes": Double(down),
            "he_setup_bytes": Double(setup.count),
            "he_conv_uploads": Double(plan.uploadCount),
            "he_conv_responses": Double(plan.responseCount),
            "he_log2_q": context.logQ,
            "online_conv_exact_ms": online * 1e3,
        ]
    }

    /// The batched prime-field OLE (PrimeOLE) over `ciphertexts` full request ciphertexts summed in groups
    /// of `terms` (the degree-4 polynomial's shape), one thread, best of `repeats`: per request ciphertext,
    /// thread CPU milliseconds of the client's request, the server's response and the client's decoding,
    /// and bytes each way per product.
    public static func primeOLE(ciphertexts: Int = 12, terms: Int = 4, repeats: Int = 3) throws -> [String: Double] {
        let context = try PrimeOLEContext()
        let client = PrimeOLEClient(context: context)
        let server = try PrimeOLEServer(context: context, setupMessage: try client.setupMessage())
        let n = context.slots, primes = (0..<ciphertexts).map { ($0 / terms) % context.plaintextModuli.count }
        var g = SystemRandomNumberGenerator()
        let a = primes.map { j in (0..<n).map { _ in g.next() % context.plaintextModuli[j].value } }
        let b = primes.map { j in (0..<n).map { _ in g.next() % context.plaintextModuli[j].value } }
        var cpu = [Double](repeating: .infinity, count: 3)
        var up = 0, down = 0
        for _ in 0..<repeats {
            var c0 = cpuNow()
            func lap(_ k: Int) { let c1 = cpuNow(); cpu[k] = min(cpu[k], c1 - c0); c0 = c1 }
            let request = try client.request(a, primes: primes)
            lap(0)
            let (response, u) = try server.respond(request, factors: b, primes: primes, terms: terms)
            lap(1)
            let v = try client.decode(response, counts: a.map(\.count), primes: primes, terms: terms)
            lap(2)
            up = request.count
            down = response.count
            for g in u.indices {
                let t = context.plaintextModuli[primes[g * terms]]
                for i in 0..<n {
                    var sum: UInt64 = 0
                    for k in (g * terms)..<((g + 1) * terms) { sum = t.add(sum, t.multiply(a[k][i], b[k][i])) }
                    guard t.add(u[g][i], v[g][i]) == sum else { throw LatticeError.malformedInput("benchmark OLE did not reconstruct") }
                }
            }
        }
        let per = 1e3 / Double(ciphertexts), products = Double(ciphertexts * n)
        return [
            "prime_ole_client_request_cpu_ms": cpu[0] * per,
            "prime_ole_server_response_cpu_ms": cpu[1] * per,
            "prime_ole_client_decode_cpu_ms": cpu[2] * per,
            "prime_ole_request_bytes_per_product": Double(up) / products,
            "prime_ole_response_bytes_per_product": Double(down) / products,
            "prime_ole_log2_q": context.bfv.logQ,
        ]
    }

    /// All figures (keys as in `sibyl bench crypto --json`).
    public static func run() throws -> [String: Double] {
        var out: [String: Double] = [:]
        // A 60-bit prime runs the Swift loops; a 44-bit one (the linear layers' primes) CKernels' AVX-512 IFMA
        // transforms where the CPU has them.
        let ntt = try nttForwardMicroseconds()
        out["ntt_8192_forward_us"] = ntt.forward
        out["ntt_8192_inverse_us"] = ntt.inverse
        let ntt44 = try nttForwardMicroseconds(bits: 44)
        out["ntt_8192_44bit_forward_us"] = ntt44.forward
        out["ntt_8192_44bit_inverse_us"] = ntt44.inverse
        for (k, v) in try heConvolution() { out[k] = v }
        for (k, v) in try primeOLE() { out[k] = v }
        return out
    }
}
