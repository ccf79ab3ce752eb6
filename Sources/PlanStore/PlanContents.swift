// What a plan directory holds, in memory: the manifest (plan.json, with the fixed-point program from
// schema 3 on), the batch-norm-folded float weights and polynomial coefficients (weights.h5 /float), and
// the program's integer arrays (weights.h5 /program). Schema 1-2 files also hold /fixed copies derived
// from the float ones (`PlanFixedPoint`); they are checked at read, not kept.
import ModularMath
import NetworkPlan

public struct PlanContents: Sendable, Equatable {
    /// plan.json. Its graph is the folded graph: convolutions carry biases, no batch-norm nodes.
    public var manifest: PlanManifest
    /// Every dataset `manifest.graph.expectedParameters()` names, flattened in the graph's layouts.
    public var weights: WeightTable
    /// Per-channel [a0, a1, a2] of every slot that is (at least partly) polynomial.
    public var coefficients: [String: SlotCoefficients]
    /// The integer datasets `manifest.program` names (`program/...`), exactly as they run.
    public var programArrays: [String: IntegerArray]

    public init(manifest: PlanManifest, weights: WeightTable, coefficients: [String: SlotCoefficients],
                programArrays: [String: IntegerArray] = [:]) {
        self.manifest = manifest
        self.weights = weights
        self.coefficients = coefficients
        self.programArrays = programArrays
    }

    /// Names of the slots whose choice needs coefficients, sorted.
    public var polynomialSlots: [String] {
        manifest.activations.filter { !$0.value.isReLU }.map(\.key).sorted()
    }
}

/// The fixed-point encoding of a plan's parameters: the same rule the fixed-point compiler uses
/// (round(value * 2^scale) as a two's-complement integer). Weights are at f fractional bits, biases at
/// 2f (the scale of a layer's output), polynomial coefficients a0, a1, a2 at 2f, f, f (degrees 1 and 2, as
/// the compiler encodes them). Degrees 3 and up run with 128-bit coefficients (FixedPointCompiler
/// .polynomialScales); their int64 copy, column k at 2f + 4k, is a cross-check of the float values only.
public enum PlanFixedPoint {
    /// Fractional bits of a parameter dataset: 2f for `*.bias`, f otherwise.
    public static func scale(ofParameter name: String, fractionalBits f: Int) -> Int {
        name.hasSuffix(".bias") ? 2 * f : f
    }

    /// Fractional bits of coefficient column j (a_j) of a polynomial of `degree`.
    public static func coefficientScales(fractionalBits f: Int, degree: Int) -> [Int] {
        degree <= 2 ? Array([2 * f, f, f].prefix(degree + 1)) : (0...degree).map { 2 * f + 4 * $0 }
    }

    /// round(value * 2^scale), or nil when a value is not finite or does not fit in 62 bits.
    public static func encode(_ values: [Float], scale: Int) -> [Int64]? {
        var result = [Int64](repeating: 0, count: values.count)
        for (i, v) in values.enumerated() {
            guard let encoded = FixedPoint.round(Double(v), scale: scale) else { return nil }
            result[i] = encoded
        }
        return result
    }

    /// Coefficients [C][degree + 1] flattened row-major and encoded column by column at their scales.
    public static func encode(coefficients: SlotCoefficients, fractionalBits f: Int, degree: Int) -> [Int64]? {
        let scales = coefficientScales(fractionalBits: f, degree: degree)
        var result: [Int64] = []
        result.reserveCapacity(coefficients.count * (degree + 1))
        for row in coefficients {
            guard row.count == degree + 1 else { return nil }
            for j in 0...degree {
                guard let encoded = encode([row[j]], scale: scales[j]) else { return nil }
                result.append(encoded[0])
            }
        }
        return result
    }
}
