import Foundation
import NetworkPlan
import Planner
import Search
import Training

/// A tiny all-ReLU baseline trained once per test process on the synthetic dataset.
enum SearchFixtures {
    nonisolated(unsafe) private static var cached: (URL, DataSplits)?
    private static let lock = NSLock()

    static func temporaryDirectory(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sibyl-search-\(name)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// (baseline checkpoint, synthetic splits): TinyNet, 2 epochs, seed 7.
    static func baseline() throws -> (URL, DataSplits) {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let splits = try Datasets.load(.synthetic, directory: URL(fileURLWithPath: "/nonexistent"), validationCount: 500)
        let directory = temporaryDirectory("baseline")
        let config = TrainingConfig(model: .tiny, dataset: "synthetic", epochs: 2, batchSize: 64, learningRate: 0.05,
                                    seed: 7, threads: 2, validationCount: 500)
        let trainer = try Trainer.prepare(config: config, splits: splits, directory: directory, resume: false)
        trainer.showsProgress = false
        try trainer.run()
        cached = (trainer.checkpointURL, splits)
        return cached!
    }

    static func options(seed: UInt64 = 3) -> EngineOptions {
        var options = EngineOptions()
        options.batchSize = 64
        options.seed = seed
        return options
    }

    static func config(_ choices: [SlotChoice], lr: Double = 0.02, blendEpochs: Double = 0.5) -> MemberConfig {
        MemberConfig(placement: Placement(choices: choices),
                     hyperParameters: HyperParameters(learningRate: lr, momentum: 0.9, clipNorm: 5, blendEpochs: blendEpochs))
    }
}
