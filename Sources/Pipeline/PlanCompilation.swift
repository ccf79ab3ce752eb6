// A plan read from disk, lowered for the secure runtime and the plaintext evaluator.
import PlanStore
import SecureInference

public enum PlanCompilation {
    /// The fixed-point program of a plan read from disk (folded graph, float weights, the plan's choices,
    /// coefficients and fixed-point configuration).
    public static func program(of plan: PlanContents) throws -> FixedPointProgram {
        try FixedPointCompiler.compile(graph: plan.manifest.graph, weights: plan.weights,
                                       activations: plan.manifest.activations, coefficients: plan.coefficients,
                                       fixedPoint: plan.manifest.fixedPoint)
    }
}
