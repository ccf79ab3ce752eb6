// Calibration of the ReLU value bits k' (FixedPointConfig.reluValueBits): the garbled circuit decides
// the sign of a ReLU input from its low k' bits, so k' must cover every value the slot sees. Measured
// on calibration images: the largest |x| at each ReLU input (at that input's scale) needs
// bitLength(max) bits, plus 1 sign bit, plus a margin of `marginBits` for images not in the sample.
import NetworkPlan

public enum ReLUCalibration {
    /// Bits added to the measured bit length: 1 for the sign and 3 of margin (8x headroom).
    public static let signBits = 1
    public static let marginBits = 3

    /// k' for every ReLU slot of the plan, measured on `inputs` (normalised float images, C-H-W).
    /// The program is compiled with 64 value bits (no wrap-around) to observe the true values.
    public static func valueBits(graph: NetworkGraph, weights: WeightTable, activations: [String: SlotChoice],
                                 coefficients: [String: SlotCoefficients], fractionalBits: Int,
                                 inputs: [[Float]], threads: Int = 2) throws -> [String: Int] {
        let slots = try graph.slots().filter { (activations[$0.name] ?? .relu).isReLU }
        var wide: [String: Int] = [:]
        for slot in slots { wide[slot.name] = 64 }
        let program = try FixedPointCompiler.compile(graph: graph, weights: weights, activations: activations,
                                                     coefficients: coefficients,
                                                     fixedPoint: FixedPointConfig(fractionalBits: fractionalBits, reluValueBits: wide))
        let oracle = FixedPointOracle(program: program)
        let result = FastFixedPointEvaluator(program: program)
            .evaluate(inputs: inputs.map(oracle.encodeInput), threads: threads, recordMagnitudes: true)
        return bits(program: program, maxMagnitudes: result.maxMagnitudes)
    }

    /// k' per ReLU slot from the largest magnitude at each ReLU input tensor (clamped to 2...64).
    public static func bits(program: FixedPointProgram, maxMagnitudes: [UInt64]) -> [String: Int] {
        var result: [String: Int] = [:]
        for step in program.steps {
            guard case .relu(_, let input, _, _, let slot) = step else { continue }
            let length = 64 - maxMagnitudes[input].leadingZeroBitCount
            result[slot] = min(64, max(2, length + signBits + marginBits))
        }
        return result
    }
}
