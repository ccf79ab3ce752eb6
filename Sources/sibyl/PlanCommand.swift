// `sibyl plan`: population-based search of hybrid ReLU/polynomial placements from a trained baseline,
// toward a ReLU count or a predicted latency, online or total (module Search).
import NetworkCost
import ArgumentParser
import Foundation
import NetworkPlan
import Planner
import Search
import Tensors
import Training

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Search hybrid ReLU/polynomial placements with population-based training.",
        discussion: """
            Starts from an all-ReLU baseline checkpoint (sibyl train) and trains a population of hybrid \
            networks, selecting on the validation split only. Writes DIR/search.jsonl (every decision), \
            DIR/pareto.json and DIR/pareto.svg (validation accuracy against predicted latency and ReLUs), \
            DIR/best.h5 (the chosen member's checkpoint, annealed with --anneal-epochs) and DIR/placement.json ({slot name: choice}) for \
            sibyl export --checkpoint DIR/best.h5 --placement DIR/placement.json.

            Give exactly one target: --max-relus N or --target-latency SECONDS [--network lan|wan|loopback]. A latency \
            is predicted by --cost-model for --latency-phase (online; total: offline + online, the default on \
            wan) with --relu (ot, the default; or garbled), as sibyl evaluate and serve default to.
            """)

    @Option(help: "Baseline checkpoint (all ReLU), e.g. runs/resnet32/best.h5.") var baseline: String
    @Option(help: "Dataset.") var dataset: DatasetKind = .cifar100
    @Option(help: "Members of the population.") var population: Int = 8
    @Option(name: .customLong("budget-epochs"), help: "Total training epochs over all members (rounds are derived).",
            transform: FlagValue.positive)
    var budgetEpochs: Double
    @Option(help: "Rounds (default: derived from the budget, about one epoch per round).") var rounds: Int?
    @Option(name: .customLong("target-latency"), help: "Predicted seconds per image to stay under (of --latency-phase).",
            transform: FlagValue.positive)
    var targetLatency: Double?
    @Option(help: "Network for --target-latency.") var network: NetworkChoice?
    @Option(name: .customLong("latency-phase"), help: "What --target-latency covers: online, or total (offline + online; default on wan).")
    var latencyPhase: CostPhase?
    @Option(help: "ReLU protocol --target-latency assumes: ot (the default) or garbled.") var relu: ReLUProtocol?
    @Option(name: .customLong("max-relus"), help: "ReLUs per image to stay under.") var maxReLUs: Int?
    @Option(help: "Run directory.") var out: String
    @Flag(help: "Continue the search in --out (same flags).") var resume = false
    @OptionGroup var executor: ExecutorOptions
    @Option(help: "Seed of the search and the data order.") var seed: UInt64 = 1
    @Option(help: "Slots that stay ReLU: first,last (Delphi) or none.") var pinned: PlanRequest.Pinned = .firstLast
    @Option(help: ArgumentHelp("Polynomial degrees, comma separated, each 1...6 (2 = quadratic: one OT product per element; 3 and up: one round of OT products in a 128-bit ring).",
                               discussion: "Other degrees are refused before the search starts.", valueName: "d,d,..."))
    var degrees: DegreeList = DegreeList(argument: "2")!
    @Option(name: .customLong("cost-model"), help: "Cost model JSON (sibyl calibrate); default: Experiments/costmodel/resnet32-measured.json, else provisional.json.")
    var costModel: String?
    @Option(name: .customLong("batch-size"), help: "Images per step.") var batchSize: Int = 128
    @Option(name: .customLong("clip-value"), help: "Also clip each gradient element to [-v, v] (Delphi: 2.0).",
            transform: FlagValue.positive)
    var clipValue: Float?
    @Flag(name: .customLong("reverse-blend"), help: "Polynomial channels the search turns back into ReLU blend back gradually (alpha 0 to 1 over the member's blend schedule) instead of switching at once; for searches that start from a polynomial network and give ReLUs back.")
    var reverseBlend = false
    @Option(name: .customLong("distill"), help: "Weight of distillation from the baseline's logits, in [0, 1] (0: off).",
            transform: FlagValue.unitInterval)
    var distill: Float = 0
    @Option(name: .customLong("lr-range"), help: "Learning rates the population draws from and explores, MIN:MAX or one value (default 0.001:0.1).")
    var lrRange: ValueRange?
    @Option(name: .customLong("momentum-range"), help: "Momentum range, MIN:MAX or one value (default 0.8:0.99).")
    var momentumRange: ValueRange?
    @Option(name: .customLong("anneal-epochs"),
            help: "After the search, train the chosen member this many more epochs with its learning rate decayed to zero (cosine); DIR/best.h5 is then the annealed network. Resumable. (default: 0, none)")
    var annealEpochs: Int = 0
    @Option(name: .customLong("polynomial-init"),
            help: "Initial coefficients of a newly polynomial slot: fitted (least-squares fit of ReLU over the slot's measured inputs, per channel) or delphi (0.2 + 0.5x + 0.2x^2).")
    var polynomialInit: PolynomialInitialization.Kind = .fitted
    @Option(name: .customLong("range-penalty"),
            help: "Weight of the loss that keeps each polynomial slot's inputs within the range measured when it switched (0: off). In training the polynomial reads its input clamped to that range.",
            transform: FlagValue.nonNegative)
    var rangePenalty: Float = EngineOptions().rangePenaltyWeight
    @Option(name: .customLong("data-dir"), help: "Folder holding the datasets.") var dataDir: String = "Datasets"
    @Option(name: .customLong("validation-count"), help: "Training images held out for validation.")
    var validationCount: Int = 5000
    @Option(help: "Worker threads per process.") var threads: Int = 2
    @Option(name: .customLong("coefficient-bits"), help: "Keep polynomial coefficients on multiples of 2^-B (straight-through rounding; default: off).")
    var coefficientBits: Int?
    @Flag(help: "Split slots by channel (SAFENet): each slot keeps its most important channels ReLU (importance measured on the baseline: the first-order loss change of replacing a channel's ReLU by its fitted polynomial) and the search moves ReLU channels between slots and changes degrees per slot.")
    var channels = false
    @Option(name: .customLong("channel-group"), help: "Channels one per-channel move shifts (default 4, at most a quarter of a slot).")
    var channelGroup: Int?

    func validate() throws {
        if targetLatency == nil && maxReLUs == nil {
            throw ValidationError("give a target: --max-relus N or --target-latency SECONDS [--network lan|wan]")
        }
        if targetLatency != nil && maxReLUs != nil {
            throw ValidationError("give one target, not both --max-relus and --target-latency")
        }
        if maxReLUs != nil, network != nil || latencyPhase != nil || relu != nil {
            throw ValidationError("--network, --latency-phase and --relu only apply to --target-latency")
        }
        if let n = maxReLUs, n < 0 { throw ValidationError("--max-relus must be at least 0") }
        if population < 2 { throw ValidationError("--population must be at least 2") }
        if let r = rounds, r < 1 { throw ValidationError("--rounds must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if annealEpochs < 0 { throw ValidationError("--anneal-epochs must be at least 0") }
        if let bits = coefficientBits, !(1...40).contains(bits) { throw ValidationError("--coefficient-bits must be in 1...40") }
        if let channelGroup, channelGroup < 1 { throw ValidationError("--channel-group must be at least 1") }
        if channelGroup != nil && !channels { throw ValidationError("--channel-group applies to --channels only") }
        if !FileManager.default.fileExists(atPath: baseline) {
            throw ValidationError("--baseline \(baseline) does not exist; train one with `sibyl train` first")
        }
    }

    /// Paths stay as given (relative to the working directory, which worker processes share), so the
    /// run's plan-request.json and log hold no machine's absolute paths.
    func request() throws -> PlanRequest {
        var options = EngineOptions()
        options.batchSize = batchSize
        options.clipValue = clipValue
        options.distillationWeight = distill
        if reverseBlend { options.reverseBlending = true }
        options.seed = seed
        options.polynomialInitialization = polynomialInit
        options.rangePenaltyWeight = rangePenalty
        options.coefficientFractionalBits = coefficientBits
        let target: PlanRequest.Target = maxReLUs.map { .maxReLUs($0) }
            ?? .cost(seconds: targetLatency!, network: (network ?? .lan).rawValue, phase: latencyPhase, relu: relu)
        return PlanRequest(baseline: baseline, dataset: dataset.rawValue,
                           dataDirectory: dataDir, validationCount: validationCount,
                           population: population, budgetEpochs: budgetEpochs, rounds: rounds, target: target,
                           out: out, workers: executor.workers, seed: seed,
                           pinned: pinned, degrees: degrees.degrees,
                           costModel: try CalibrateCommand.loadCostModel(costModel), options: options, threads: threads,
                           learningRateRange: lrRange?.range, momentumRange: momentumRange?.range,
                           annealEpochs: annealEpochs > 0 ? annealEpochs : nil, channels: channels,
                           channelGroup: channelGroup)
    }

    func run() throws {
        BLASInfo.reportEnvironment()
        let request = try request()
        let summary: PlanRun.Summary
        do {
            summary = try PlanRun.run(request, resume: resume, executor: executor.choice(threads: threads)) { line in
                ProgressLine.write(line + "\n")
            }
        } catch let error as SearchError {
            // A flag to change gets the usage line; a failure while running (a worker, the Ray driver) does not.
            if case .invalidSetting = error { throw ValidationError(error.description) }
            throw error
        }
        for line in summary.report(directory: request.directory) { print(line) }
        if summary.chosen == nil { throw ExitCode(2) }
    }
}
