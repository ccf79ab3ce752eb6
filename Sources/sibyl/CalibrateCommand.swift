// `sibyl calibrate`: writes the cost model `sibyl plan` predicts online latency with.
import ArgumentParser
import Foundation
import Planner
import Search

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Write a latency cost model (JSON) for sibyl plan.",
        discussion: """
            Without input: the provisional model from the cryptographic core's figures, reading
            Experiments/crypto/gc.json when present (garbling benchmark). --from FILE: the same from a
            given garbling benchmark JSON (evaluate_and_gates_per_second, aes_blocks_per_second,
            relu_and_gates, relu_value_bits). --plan-stats FILE (repeatable): per-element costs, online and
            offline, fitted from measured secure evaluations (`sibyl evaluate --json` reports: "relu", "ot",
            "layers"); each report sets the kinds it measured, in order: e.g. an all-ReLU plan with --relu
            garbled, the same with --relu ot, and a polynomial plan, all with the same --ot.
            """)

    @Option(name: .customLong("from"), help: "Garbling benchmark JSON.") var from: String?
    @Option(name: .customLong("plan-stats"), help: "A `sibyl evaluate --json` report (repeat the flag for several).")
    var planStats: [String] = []
    @Option(help: "Output file.") var out: String

    static let defaultBenchmark = "Experiments/crypto/gc.json"

    func validate() throws {
        if from != nil && !planStats.isEmpty { throw ValidationError("give --from or --plan-stats, not both") }
        for path in [from].compactMap({ $0 }) + planStats where !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("\(path) does not exist")
        }
    }

    func run() throws {
        let model: CostModel
        do {
            if !planStats.isEmpty {
                var folded = try Self.provisional(from: nil)
                for path in planStats {
                    let statistics: PlanStatistics
                    do { statistics = try JSONDecoder().decode(PlanStatistics.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                        throw SearchError.unreadableInput(path: path, reason: "not a sibyl evaluate --json report (\(error))")
                    }
                    folded = try statistics.costModel(fallback: folded, source: URL(fileURLWithPath: path).lastPathComponent)
                }
                model = folded
            } else {
                model = try Self.provisional(from: from)
            }
        } catch let error as SearchError {
            throw ValidationError(error.description)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let url = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try encoder.encode(model).write(to: url, options: .atomic)
        print(String(format: "wrote %@: ReLU %.3g s and %.0f B, polynomial %.3g s and %.0f B per element; linear %.3g s",
                     out, model.relu.seconds, model.relu.bytes, model.polynomial.seconds, model.polynomial.bytes,
                     model.linearSeconds))
        print("source: \(model.source)")
    }

    /// The provisional model, from `path` or the committed garbling benchmark when it exists.
    static func provisional(from path: String?) throws -> CostModel {
        if let path { return ProvisionalCostModel.model(from: try ProvisionalCostModel.inputs(fromBenchmark: URL(fileURLWithPath: path))) }
        if FileManager.default.fileExists(atPath: defaultBenchmark) {
            return ProvisionalCostModel.model(from: try ProvisionalCostModel.inputs(fromBenchmark: URL(fileURLWithPath: defaultBenchmark)))
        }
        return ProvisionalCostModel.standard
    }

    /// The committed models `sibyl plan` uses without --cost-model, the first that exists: the one fitted
    /// to secure evaluations of ResNet-32 (both ReLU protocols, offline figures), the provisional one.
    static let defaultModels = ["Experiments/costmodel/resnet32-measured.json", "Experiments/costmodel/provisional.json"]

    /// A cost model file, or the first committed default, or the built-in provisional one.
    static func loadCostModel(_ path: String?) throws -> CostModel {
        let candidate = path ?? defaultModels.first { FileManager.default.fileExists(atPath: $0) }
        guard let candidate else { return ProvisionalCostModel.standard }
        do {
            return try JSONDecoder().decode(CostModel.self, from: Data(contentsOf: URL(fileURLWithPath: candidate)))
        } catch {
            throw ValidationError("--cost-model \(candidate) is not a cost model written by sibyl calibrate (\(error))")
        }
    }
}
