import ArgumentParser
import Pipeline
import Foundation
import Lattice
import NetworkCost
import NetworkPlan
import SecureInference
import Training
import Transport

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Run a plan under the secure two-party protocol on test images and report accuracy and costs.",
        discussion: """
            Both parties run in this process, on their own threads, connected by real TCP on 127.0.0.1.
            Each image gets a fresh offline phase (HE for linear layers, garbled circuits and OT for ReLUs,
            OT-based correlations for squares) followed by its online phase.

            Network emulation: latency on a network = measured loopback time + bytes x 8 / bandwidth
            + flights x RTT / 2, where a flight is a maximal run of traffic in one direction. LAN: 3 Gbps,
            0.3 ms RTT; WAN: 400 Mbps, 40 ms RTT (OpenCheetah's settings). Nothing is slept or throttled.
            """)

    @Argument(help: "Plan directory (plan.json + weights.h5), e.g. Plans/resnet32-cifar100-relu.")
    var plan: String
    @Option(help: "Number of test images to evaluate.") var images = 10
    @Option(help: "Index of the first test image.") var first = 0
    @Option(help: "Network whose latency is reported as `latency`.") var network: NetworkChoice = .loopback
    @Option(help: "Dataset whose test images are evaluated.") var dataset: DatasetKind = .cifar100
    @Option(help: "Folder holding the datasets.") var dataDir = "Datasets"
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Skip the float reference model (faster; agreement_with_float is then omitted).") var noFloat = false
    @Option(help: "Correlated OT: iknp (128 bits per COT, fastest to compute) or silent (Ferret-style LPN, about 1.45 bits per COT). Default: silent with --network wan (a tenth of the offline bytes there), else iknp.")
    var ot: OTChoice?
    @Option(help: "ReLU protocol: ot (millionaire and multiplexer over OT, every OT offline: the faster online phase and a tenth of the bytes in total; the default) or garbled (garbled circuits, Delphi).")
    var relu: ReLUProtocol?

    func validate() throws {
        guard images > 0 else { throw ValidationError("--images must be positive") }
        guard first >= 0 else { throw ValidationError("--first must be non-negative") }
    }

    func run() throws {
        let plan = try SecurePlan(directory: self.plan)
        let manifest = plan.contents.manifest
        let kind = dataset
        let test = try Datasets.loadTest(kind, directory: URL(fileURLWithPath: dataDir))
        try checkPlanMatchesDataset(planName: self.plan, classes: manifest.classNames.count, input: manifest.input.shape,
                                    dataset: kind, images: test)
        guard first + images <= test.count else {
            throw ValidationError("--first \(first) + --images \(images) exceeds the \(test.count) test images")
        }
        let oracle = FixedPointOracle(program: plan.program)
        var inputs: [[UInt64]] = []
        var floatInputs: [[Float]] = []
        var labels: [Int] = []
        let bytes = ImageSet.imageBytes
        for i in first..<(first + images) {
            let pixels = test.pixels[(i * bytes)..<((i + 1) * bytes)]
            let x = PlaintextInput.normalize(pixels, spec: manifest.input)
            floatInputs.append(x)
            inputs.append(oracle.encodeInput(x))
            labels.append(Int(test.labels[i]))
        }
        let started = Date()
        var architecture = plan.architecture
        let relu = self.relu ?? .defaultChoice(network: network.rawValue)
        architecture.relu = relu
        let ot = self.ot ?? .defaultChoice(network: network.rawValue)
        let results = try ot.evaluate(program: plan.program, architecture: architecture, inputs: inputs, labels: labels,
                                      link: .tcp) { result in
            if !json {
                let mark = result.top1 == result.label ? "correct" : "wrong"
                let oracle = result.matchesOracle ? "equal" : String(format: "within %.2g", result.oracleDeviation)
                FileHandle.standardError.write(Data(String(
                    format: "image %d: class %d (%@), oracle %@, offline %.2f s %.1f MB, online %.3f s %.2f MB\n",
                    first + result.index, result.top1, mark, oracle,
                    result.costs.offline.seconds, Double(result.costs.offline.bytes) / 1e6,
                    result.costs.online.seconds, Double(result.costs.online.bytes) / 1e6).utf8))
            }
        }
        let wall = Date().timeIntervalSince(started)
        var floatAgreement: Double?
        if !noFloat {
            var agree = 0
            for (i, x) in floatInputs.enumerated() {
                let logits = try ReferenceEvaluator.evaluate(graph: manifest.graph, weights: plan.contents.weights,
                                                             activations: manifest.activations,
                                                             coefficients: plan.contents.coefficients, input: x)
                if argmax(logits) == results[i].top1 { agree += 1 }
            }
            floatAgreement = Double(agree) / Double(images)
        }
        let wrapped = FastFixedPointEvaluator(program: plan.program).evaluate(inputs: inputs).exceeded.filter { $0 }.count
        let report = EvaluationReport(plan: manifest.name, results: results, floatAgreement: floatAgreement,
                                      program: plan.program, wrappedImages: wrapped, wallSeconds: wall, peakResidentBytes: peakResidentBytes(),
                                      network: network.rawValue, ot: ot.rawValue, relu: relu.rawValue)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.summary)
        }
    }
}
