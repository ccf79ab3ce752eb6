// A plan read from disk, lowered for the secure runtime and the plaintext evaluator.
import NetworkPlan
import PlanStore
import SecureInference

public enum PlanCompilation {
    /// The fixed-point program of a plan: the one it holds (schema 3: the integers that run, validated), else
    /// (schemas 1-2) compiled from its folded graph, float weights, choices, coefficients and configuration.
    public static func program(of plan: PlanContents) throws -> FixedPointProgram {
        if let document = plan.manifest.program {
            return try FixedPointProgram(document: document, arrays: plan.programArrays)
        }
        return try compile(plan)
    }

    /// Compiles the plan's float contents (ignoring any program it holds).
    public static func compile(_ plan: PlanContents) throws -> FixedPointProgram {
        try FixedPointCompiler.compile(graph: plan.manifest.graph, weights: plan.weights,
                                       activations: plan.manifest.activations, coefficients: plan.coefficients,
                                       fixedPoint: plan.manifest.fixedPoint)
    }

    /// Sets the plan's program (manifest.program and its integer arrays) to the one compiled from its float
    /// contents: what `sibyl export` writes, and how `--upgrade` turns a schema 1-2 plan into schema 3.
    public static func attachProgram(_ plan: inout PlanContents) throws {
        let (document, arrays) = try compile(plan).document()
        plan.manifest.program = document
        plan.programArrays = arrays
    }
}
