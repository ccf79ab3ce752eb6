// `sibyl inspect Plans/NAME [--json]`: reads and validates a plan, then summarises it.
import ArgumentParser
import Foundation
import NetworkPlan
import PlanStore

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Validate an exported plan and summarise it (ReLUs, slots, parameters, recorded accuracy).")

    @Argument(help: "Plan directory (holds plan.json and weights.h5).") var plan: String
    @Flag(help: "Print the summary as JSON.") var json = false

    /// The summary; JSON keys are the snake-case property names.
    struct Summary: Codable {
        var name: String
        var schemaVersion: Int
        var relus: Int
        var activationSlots: Int
        var polynomialSlots: Int
        var polynomialSlotNames: [String]
        var polynomialActivations: Int
        var parameters: Int
        var placement: String
        var accuracy: [AccuracyRecord]
        var fixedPoint: FixedPointConfig
        var classes: Int
        var provenance: Provenance
        /// "verified" (schema 2: plan.json and weights.h5 match the digest recorded at export) or why not.
        var integrity: String
        /// Program steps (schema 3) and the output scale of its logits; nil when the plan holds no program.
        var programSteps: Int?
        var logitScale: Int?
        /// Images that exceeded a bound of the program, as measured at export (none recorded: nil).
        var overflow: [OverflowRecord]?
    }

    static func summary(of contents: PlanContents) throws -> Summary {
        let manifest = contents.manifest
        let slots = try manifest.graph.slots()
        let placement = try manifest.placement()
        let parameters = try manifest.graph.expectedParameters().values.reduce(0) { $0 + $1.reduce(1, *) }
            + contents.coefficients.values.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } }
        return Summary(name: manifest.name, schemaVersion: manifest.schemaVersion,
                       relus: placement.reluCount(slots: slots), activationSlots: slots.count,
                       polynomialSlots: placement.polynomialSlots.count,
                       polynomialSlotNames: placement.polynomialSlots.map { slots[$0].name },
                       polynomialActivations: placement.polynomialCount(slots: slots), parameters: parameters,
                       placement: placement.signature, accuracy: manifest.accuracy, fixedPoint: manifest.fixedPoint,
                       classes: manifest.classNames.count, provenance: manifest.provenance,
                       integrity: manifest.digest != nil ? "verified"
                        : "unverified: schema \(manifest.schemaVersion) has no digest (sibyl export --upgrade DIR adds one)",
                       programSteps: manifest.program?.steps.count,
                       logitScale: manifest.program.map { $0.tensors[$0.output].scale }, overflow: manifest.overflow)
    }

    func run() throws {
        let contents = try PlanFiles.read(from: URL(fileURLWithPath: plan))
        let summary = try Self.summary(of: contents)
        if json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
            return
        }
        print("plan \(summary.name) (schema \(summary.schemaVersion)), \(summary.classes) classes")
        print("  activation slots  \(summary.activationSlots) (placement \(summary.placement))")
        print("  relus             \(summary.relus) per image")
        print("  polynomial slots  \(summary.polynomialSlots)\(summary.polynomialSlotNames.isEmpty ? "" : ": " + summary.polynomialSlotNames.joined(separator: ", ")) (\(summary.polynomialActivations) activations per image)")
        print("  parameters        \(summary.parameters) (batch norm folded)")
        let bits = summary.fixedPoint.reluValueBits.values
        print("  fixed point       \(summary.fixedPoint.fractionalBits) fractional bits, ring Z_2^\(summary.fixedPoint.ringBits)"
              + (bits.isEmpty ? "" : ", ReLU value bits \(bits.min()!)...\(bits.max()!)"))
        for record in summary.accuracy {
            print(String(format: "  accuracy          %@ %.4f on %d %@ images (recorded at export, not re-measured)", record.arithmetic.rawValue, record.top1,
                         record.images, record.split))
        }
        if let steps = summary.programSteps, let scale = summary.logitScale {
            print("  program           \(steps) fixed-point steps in plan.json, integers in weights.h5; logits at scale \(scale)")
        } else {
            print("  program           none stored: compiled from the float weights at load (sibyl export --upgrade DIR stores it)")
        }
        if let records = summary.overflow {
            for record in records {
                print("  overflow          \(record.wrapped) of \(record.images) \(record.split) images (\(record.purpose)) exceeded a bound of the program"
                      + (record.wrapped > 0 ? ": WARNING, their results may differ from the float model's" : ""))
            }
        } else {
            print("  overflow          not measured (sibyl export --upgrade DIR measures it when the dataset is present)")
        }
        print("  integrity         \(summary.integrity)")
        print("  provenance        \(summary.provenance.checkpoint) (sha256 \(summary.provenance.checkpointSha256.prefix(16))...), \(summary.provenance.created)")
    }
}
