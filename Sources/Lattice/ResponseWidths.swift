// Noise bound, flooding width and modulus-switching widths of a linear-layer response: a public
// function of the layer's shape, its public weight bound and the parameters, so both parties derive
// the same values and nothing about the weights is revealed by them.
//
// Noise of a response coefficient before flooding (t = 2^k, BFV with Delta(m) = round(Q m / t)):
//   E = sum_j K_j e_j + sum_j K_j eps_j [+ sum_j K_j rho_j] + e' u + s e1 + e0 - eps_s
// (rho_j: the request's rounding where it is switched to fewer bits than Q has; see requestBits)
// with e_j the client's encryption errors (centered binomial, eta), eps_j, eps_s in [-1/2, 1/2] the
// encoding roundings, K_j the kernel polynomials of the response (k output channels x T terms each, all
// below 2^w), e' the rerandomisation key's error, u ternary, s the ternary secret, e0, e1 fresh errors.
// - sum_j K_j e_j: e_j has independent coordinates, each a sum of eta differences in [-1, 1], so by
//   Hoeffding |.| <= sqrt(2 eta ln(2/delta)) ||K||_2 <= sqrt(2 eta ln(2/delta)) sqrt(k T) 2^w except
//   with probability delta = 2^-(statistical + 15) per coefficient (a union over up to 2^15 revealed
//   coefficients keeps the total below 2^-statistical).
// - sum_j K_j eps_j <= k T 2^w / 2, and e' u + s e1 + e0 - eps_s <= 2 eta N + eta + 1/2 (worst case).
// Flooding with a uniform integer in [-2^f, 2^f), f = statistical + ceil(log2 B), hides E.
// Decryption after switching c0 to 2^b0 and c1 to 2^b1 is correct when
//   (2^f + B) / Q + 2^-(b0+1) + H 2^-b1 < 1 / (2t) = 2^-(k+1)   (t = 2^k, the shape's plaintextBits),
// with H bounding |r1 * s| for the c1 roundings r1 except with probability 2^-correctness per coefficient:
// c1 is pseudorandom (it holds the RLWE sample a' u + e1), so each coefficient of r1 * s is a sum of at most
// N independent zero-mean terms r1_i s_j with |r1_i s_j| <= 1/2 and variance <= 1/12, and Bernstein's
// inequality, P(|X| >= H) <= 2 exp(-H^2 / (2 (N / 12 + H / 6))), gives H = L / 6 + sqrt(L^2 / 36 + L N / 6)
// for L = ln(2^(correctness+1)): 202 for N = 8192 (Hoeffding's sqrt(N L / 2), used before, is 341 and
// costs c1 one more bit). (b0, b1) minimise the response size.

import ModularMath
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Public widths of one layer's request and response.
public struct ResponseWidths: Sendable, Hashable {
    /// Bound B on the noise before flooding.
    public let noiseBound: Double
    /// Flooding width: uniform integers in [-2^floodBits, 2^floodBits).
    public let floodBits: Int
    /// Bits kept per revealed c0 coefficient and per c1 coefficient.
    public let c0Bits: Int
    public let c1Bits: Int
    /// The request's c0 travels switched to 2^requestBits (round(2^b c0 / Q)) when requestBits is below the
    /// bit length of Q; at it, as residues. Where t = 2^k is small the budget has room for the rounding
    /// error rho (|rho| <= Q / 2^(b+1) + 1 per coefficient), which then enters the noise as sum_j K_j rho_j.
    public let requestBits: Int

    /// Derives the widths with the fewest bytes both ways; throws `noiseBudgetExceeded` when Q cannot hold
    /// the flooded noise.
    public init(plan: LinearLayerPlan, context: BFVContext) throws {
        let bitLength = context.modulusBitLength
        var best: (widths: ResponseWidths, bytes: Double)? = nil
        var firstError: (any Error)? = nil
        // Switched requests from 120 bits down (the 128-bit fixed point of x / Q rounds exactly there);
        // bitLength: residues, no rounding.
        for b in [bitLength] + Array(stride(from: min(120, bitLength - 1), through: plan.shape.plaintextBits + 3, by: -1)) {
            do {
                let w = try ResponseWidths(plan: plan, context: context, requestBits: b, bitLength: bitLength)
                let n = Double(plan.degree)
                let bytes = Double(plan.uploadCount) * n * Double(b)
                    + Double(plan.responseCount) * n * Double(w.c1Bits) + Double(plan.shape.outputCount) * Double(w.c0Bits)
                if best == nil || bytes < best!.bytes { best = (w, bytes) }
            } catch {
                if firstError == nil { firstError = error }
                if b < bitLength { break }   // fewer request bits only add noise
            }
        }
        guard let chosen = best?.widths else { throw firstError! }
        self = chosen
    }

    private init(plan: LinearLayerPlan, context: BFVContext, requestBits: Int, bitLength: Int) throws {
        let p = context.parameters
        let eta = Double(p.errorEta)
        let n = Double(p.degree)
        let ln2 = 0.6931471805599453
        let w = Double(UInt64(1) << UInt64(plan.shape.weightBits))
        let terms = Double(plan.shape.termsPerOutput * plan.channelsPerResponse)
        let delta = Double(p.statisticalSecurity + 15)
        let hoeffding = (2 * eta * (delta + 1) * ln2).squareRoot() * terms.squareRoot() * w
        // The request's rounding: |rho_i| <= Q / 2^(b+1) + 1, pseudorandom and independent per coefficient
        // (the rounding residues of a pseudorandom c0), so by Hoeffding |sum_j K_j rho_j| <=
        // sqrt(2 ln(2 / delta)) ||K||_2 (Q / 2^(b+1) + 1).
        let rounding = requestBits < bitLength
            ? (2 * (delta + 1) * ln2).squareRoot() * terms.squareRoot() * w * (exp2(context.logQ - Double(requestBits) - 1) + 1) : 0
        let b = hoeffding + rounding + terms * w / 2 + 2 * eta * n + eta + 0.5
        guard b < exp2(100) else {
            throw LatticeError.noiseBudgetExceeded(requiredBits: log2(b) + Double(p.statisticalSecurity + plan.shape.plaintextBits + 2),
                                                   availableBits: context.logQ)
        }
        noiseBound = b
        self.requestBits = requestBits
        let switching = try Self.switching(noiseBound: b, plaintextBits: plan.shape.plaintextBits,
                                           outputsPerResponse: Double(plan.shape.outputCount) / Double(plan.responseCount),
                                           context: context)
        floodBits = switching.floodBits
        c0Bits = switching.c0Bits
        c1Bits = switching.c1Bits
    }

    /// Flooding width and switched widths for a response whose noise is below `b` before flooding and
    /// whose plaintext modulus is at most 2^plaintextBits (a power of two, or a prime below it: decryption
    /// is correct while the error stays below 1 / (2t), and 2^-(k+1) <= 1 / (2t)), with
    /// `outputsPerResponse` revealed c0 coefficients per N of c1: the (b0, b1) with the fewest bytes.
    /// `extraFloodBits` widens the flooding and `extraCorrectnessBits` the margin of c1's rounding (the only
    /// probabilistic term of the decryption bound; c0's is worst-case): each log2 of the coefficients revealed
    /// together, where their statistical distances, or their decryption failures, should sum to
    /// 2^-statistical, or 2^-correctness (a slot-encoded response, whose slots all depend on every coefficient).
    static func switching(noiseBound b: Double, plaintextBits k: Int, outputsPerResponse: Double, extraFloodBits: Int = 0,
                          extraCorrectnessBits: Int = 0, context: BFVContext) throws -> (floodBits: Int, c0Bits: Int, c1Bits: Int) {
        let p = context.parameters
        let n = Double(p.degree)
        let ln2 = 0.6931471805599453
        let floodBits = p.statisticalSecurity + extraFloodBits + Int(log2(UInt128(b.rounded(.up))).rounded(.up))
        // log2((2^f + B) / Q); 1 / (2t) = 2^-(k+1).
        let half = Double(k + 1)
        let lf = log2(exp2(Double(floodBits)) + b.rounded(.up)) - context.logQ
        guard lf <= -(half + 1), floodBits <= 120 else {
            throw LatticeError.noiseBudgetExceeded(requiredBits: context.logQ + lf + half + 1, availableBits: context.logQ)
        }
        let remaining = 1 - exp2(lf + half)          // fraction of 2^-(k+1) left for rounding
        let l = Double(p.correctnessBits + extraCorrectnessBits + 1) * ln2
        let h = l / 6 + (l * l / 36 + l * n / 6).squareRoot()
        var best: (bytes: Double, b0: Int, b1: Int)? = nil
        for b0 in (k + 2)...(k + 36) {
            let r0 = exp2(Double(k - b0))
            if r0 >= remaining { continue }
            // h 2^-b1 <= (remaining - r0) 2^-(k+1)  <=>  b1 >= k + 1 + log2 h - log2(remaining - r0).
            let b1 = Int((half + log2(h) - log2(remaining - r0)).rounded(.up))
            guard b1 <= 127 else { continue }
            let bytes = n * Double(b1) + outputsPerResponse * Double(b0)
            if best == nil || bytes < best!.bytes { best = (bytes, b0, max(b1, k + 1)) }
        }
        guard let chosen = best else {
            throw LatticeError.noiseBudgetExceeded(requiredBits: context.logQ + lf + half + 1, availableBits: context.logQ)
        }
        return (floodBits, chosen.b0, chosen.b1)
    }

    /// Size of a response message body for the plan (without the 10 header bytes).
    public func responseBytes(plan: LinearLayerPlan) -> Int {
        (plan.responseCount * plan.degree * c1Bits + plan.shape.outputCount * c0Bits + 7) / 8
    }
}

