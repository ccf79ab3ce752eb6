// `sibyl bench fuzz`: the decoders fuzzed (SecureInference.DecoderFuzzer) for a number of executions or
// seconds per target, from a corpus directory (one folder per target, one file per input).
import ArgumentParser
import Pipeline
import Foundation
import SecureInference

struct BenchFuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Fuzz the protocol and plan decoders with seeded mutations; a crash is a failure.",
        discussion: """
            Targets: frames (the frame decoder), hello (the server's architecture, validated), garbled-batch,
            he-setup, linear-request (the plan's first layer as a session lowers it: modulo 2^k' before a
            ReLU, its request switched to fewer bits), linear-request-64 (the same layer modulo 2^64),
            ole-request and ole-response (the polynomials' batched OLE, two terms of 20 values on one
            prime), plan-manifest. The plan sizes the HE layer the requests are parsed against. --write-corpus writes the seed inputs (real messages of a session over the plan) and
            exits; --corpus reads them back (and --save-new adds inputs that reached a new outcome).
            The seed is printed, so a failing run can be repeated.
            """)

    @Option(help: "Plan whose messages seed the corpus and whose first layer the requests target.") var plan: String
    @Option(help: "Corpus directory (DIR/<target>/*.bin).") var corpus: String?
    @Option(name: .customLong("write-corpus"), help: "Write the seed corpus to this directory and exit.") var writeCorpus: String?
    @Flag(name: .customLong("save-new"), help: "Add inputs that reached a new outcome to --corpus.") var saveNew = false
    @Option(help: "Mutated executions per target.") var executions = 100_000
    @Option(help: "Seconds per target at most.", transform: FlagValue.positive) var seconds = 60.0
    @Option(help: "Targets to run, comma separated (default: all).") var targets: String?
    @Option(help: "Seed of the mutations (default: from the OS).") var seed: UInt64?
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Write the JSON object to this file as well.") var out: String?

    func validate() throws {
        guard executions >= 1 else { throw ValidationError("--executions must be at least 1") }
        if saveNew && corpus == nil { throw ValidationError("--save-new needs --corpus DIR") }
    }

    func run() throws {
        let plan = try SecurePlan(directory: self.plan)
        if let writeCorpus {
            let manifest = try Data(contentsOf: plan.directory.appendingPathComponent("plan.json"))
            let seeds = try DecoderFuzzer.seeds(program: plan.program, architecture: plan.architecture, manifest: manifest)
            for (target, inputs) in seeds {
                for input in inputs { try FuzzCorpus.save(input, target: target, in: URL(fileURLWithPath: writeCorpus)) }
            }
            print("wrote \(seeds.values.map(\.count).reduce(0, +)) seed inputs to \(writeCorpus)")
            return
        }
        let seed = self.seed ?? UInt64.random(in: 0...UInt64.max)
        let wanted = targets.map { Set($0.split(separator: ",").map(String.init)) }
        let all = try DecoderFuzzer.targets(program: plan.program)
        if let wanted, let unknown = wanted.first(where: { name in !all.contains { $0.name == name } }) {
            throw ValidationError("unknown target '\(unknown)'; targets: \(all.map(\.name).joined(separator: ", "))")
        }
        FileHandle.standardError.write(Data("fuzzing with --seed \(seed)\n".utf8))
        var reports: [DecoderFuzzer.Report] = []
        for target in all where wanted?.contains(target.name) ?? true {
            let inputs = try corpus.map { try FuzzCorpus.load(target: target.name, from: URL(fileURLWithPath: $0)) } ?? []
            let report = DecoderFuzzer.run(target, corpus: inputs, executions: executions, seconds: seconds, seed: seed) { input in
                if saveNew, let corpus { try? FuzzCorpus.save(input, target: target.name, in: URL(fileURLWithPath: corpus)) }
            }
            reports.append(report)
            if !json {
                print(String(format: "%-15@ %10d executions in %7.1f s (%8.0f/s), %d rejected, %d outcomes, corpus %d, slowest %.4f s",
                             target.name as NSString, report.executions, report.seconds,
                             Double(report.executions) / max(report.seconds, 1e-9), report.rejected,
                             report.distinctOutcomes, report.corpusSize, report.slowestExecutionSeconds))
            }
        }
        let summary = FuzzSummary(seed: seed, reports: reports, totalExecutions: reports.map(\.executions).reduce(0, +),
                                  peakResidentMegabytes: Double(peakResidentBytes()) / 1e6)
        if json || out != nil {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(summary)
            if json { print(String(decoding: data, as: UTF8.self)) }
            if let out { try data.write(to: URL(fileURLWithPath: out)) }
        } else {
            print(String(format: "total %d executions, no crash; peak resident memory %.0f MB", summary.totalExecutions,
                         summary.peakResidentMegabytes))
        }
    }

    struct FuzzSummary: Codable {
        var seed: UInt64
        var reports: [DecoderFuzzer.Report]
        var totalExecutions: Int
        var peakResidentMegabytes: Double
    }
}
