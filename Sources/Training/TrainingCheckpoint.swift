// What a training checkpoint holds (HDF5 via PlanStore.CheckpointIO):
//   arrays   weights/<parameter name>           every learned parameter (layouts in Layers.swift)
//            buffers/<name>                     batch-norm running_mean / running_var
//            optimizer/velocity/<name>          SGD momentum buffers
//            trainer/best_validation_accuracy   [1]
//            slot_bounds/<slot>                 input range [C] of a polynomial slot (training clamp)
//   integers epoch (completed), global_step, classes, format_version
//   strings  config (TrainingConfig JSON), model, slots (JSON: name -> ActivationMode)
//   words    rng (xoshiro256** state)
import Foundation
import PlanStore
import Tensors

public enum TrainingCheckpoint {
    public static let formatVersion: Int64 = 1

    /// Network weights, statistics and slot modes.
    public static func encode(_ network: Network, into c: inout CheckpointContents) {
        for p in network.namedParameters {
            c.arrays["weights/" + p.name] = StoredArray(shape: p.parameter.shape, values: p.parameter.value.array)
        }
        for b in network.namedBuffers {
            c.arrays["buffers/" + b.name] = StoredArray(shape: b.tensor.shape, values: b.tensor.array)
        }
        var modes: [String: ActivationMode] = [:]
        for s in network.slots { modes[s.name] = s.mode }
        for s in network.slots where !s.isReLU {
            if let bounds = s.inputBounds { c.arrays["slot_bounds/" + s.name] = StoredArray(shape: bounds.shape, values: bounds.array) }
            if let mask = s.polynomialChannels {
                c.arrays["slot_channels/" + s.name] = StoredArray(shape: [mask.count], values: mask.map { $0 ? 1 : 0 })
            }
            if let alphas = s.channelAlphas { c.arrays["slot_alphas/" + s.name] = StoredArray(shape: [alphas.count], values: alphas) }
            if let bits = s.coefficientFractionalBits { c.integers["slot_coefficient_bits/" + s.name] = Int64(bits) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        c.strings["slots"] = String(decoding: (try? encoder.encode(modes)) ?? Data(), as: UTF8.self)
        c.strings["model"] = network.kind.rawValue
        c.integers["classes"] = Int64(network.classCount)
        c.integers["format_version"] = formatVersion
    }

    /// Loads weights, statistics and slot modes into a network of the same architecture.
    public static func restore(_ network: Network, from c: CheckpointContents, path: String) throws {
        if let text = c.strings["slots"],
           let modes = try? JSONDecoder().decode([String: ActivationMode].self, from: Data(text.utf8)) {
            for s in network.slots {
                guard let mode = modes[s.name] else { continue }
                let coeff = c.arrays["weights/" + s.name + ".coefficients"]
                if mode != .relu, coeff == nil {
                    throw TrainingError.malformedCheckpoint(path: path, reason: "slot \(s.name) has no coefficients")
                }
                s.restore(mode: mode, coefficients: coeff.map { Tensor(shape: $0.shape, values: $0.values) })
                if mode == .relu { continue }
                if let bounds = c.arrays["slot_bounds/" + s.name] {
                    guard bounds.values.count == s.channels, bounds.values.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                        throw TrainingError.malformedCheckpoint(path: path, reason: "slot_bounds/\(s.name) must hold \(s.channels) positive values")
                    }
                    s.setInputBounds(bounds.values)
                } else {
                    s.setInputBounds(nil)
                }
                if let mask = c.arrays["slot_channels/" + s.name] {
                    guard mask.values.count == s.channels, mask.values.allSatisfy({ $0 == 0 || $0 == 1 }) else {
                        throw TrainingError.malformedCheckpoint(path: path, reason: "slot_channels/\(s.name) must hold \(s.channels) flags (0 or 1)")
                    }
                    s.setPolynomialChannels(mask.values.map { $0 == 1 })
                } else {
                    s.setPolynomialChannels(nil)
                }
                s.coefficientFractionalBits = c.integers["slot_coefficient_bits/" + s.name].map { Int($0) }
                if let alphas = c.arrays["slot_alphas/" + s.name] {
                    guard alphas.values.count == s.channels, alphas.values.allSatisfy({ (0...1).contains($0) }) else {
                        throw TrainingError.malformedCheckpoint(path: path, reason: "slot_alphas/\(s.name) must hold \(s.channels) values in [0, 1]")
                    }
                    s.setChannelAlphas(alphas.values)
                } else {
                    s.setChannelAlphas(nil)
                }
            }
        }
        for p in network.namedParameters where !p.name.hasSuffix(".coefficients") {
            try load(c.arrays["weights/" + p.name], into: p.parameter.value, name: "weights/" + p.name, path: path)
        }
        for b in network.namedBuffers {
            try load(c.arrays["buffers/" + b.name], into: b.tensor, name: "buffers/" + b.name, path: path)
        }
    }

    static func load(_ stored: StoredArray?, into tensor: Tensor, name: String, path: String) throws {
        guard let stored else { throw TrainingError.malformedCheckpoint(path: path, reason: "missing \(name)") }
        guard stored.shape == tensor.shape, stored.values.count == tensor.count else {
            throw TrainingError.malformedCheckpoint(path: path, reason: "\(name) has shape \(stored.shape), expected \(tensor.shape)")
        }
        tensor.assign(Tensor(shape: stored.shape, values: stored.values))
    }

    public static func config(in c: CheckpointContents, path: String) throws -> TrainingConfig {
        guard let text = c.strings["config"] else { throw TrainingError.malformedCheckpoint(path: path, reason: "no training config") }
        do { return try JSONDecoder().decode(TrainingConfig.self, from: Data(text.utf8)) } catch {
            throw TrainingError.malformedCheckpoint(path: path, reason: "unreadable training config (\(error))")
        }
    }

    /// Reads a checkpoint and rebuilds its network (for `sibyl test` and plan export).
    public static func loadNetwork(from url: URL) throws -> (Network, TrainingConfig) {
        let c = try CheckpointIO.read(from: url)
        let config = try config(in: c, path: url.path)
        guard let classes = c.integers["classes"], classes > 0 else {
            throw TrainingError.malformedCheckpoint(path: url.path, reason: "no class count")
        }
        var rng = RandomGenerator(seed: config.seed)
        let network = makeNetwork(config.model, classes: Int(classes), rng: &rng)
        try restore(network, from: c, path: url.path)
        return (network, config)
    }
}

extension Trainer {
    /// Everything needed to continue the run.
    public func checkpointContents() -> CheckpointContents {
        var c = CheckpointContents()
        TrainingCheckpoint.encode(network, into: &c)
        for (name, v) in optimizer.velocity {
            c.arrays["optimizer/velocity/" + name] = StoredArray(shape: v.shape, values: v.array)
        }
        c.arrays["trainer/best_validation_accuracy"] = StoredArray(shape: [1], values: [bestValidationAccuracy])
        c.integers["epoch"] = Int64(epochsCompleted)
        c.integers["global_step"] = Int64(globalStep)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        c.strings["config"] = String(decoding: (try? encoder.encode(config)) ?? Data(), as: UTF8.self)
        c.words["rng"] = rng.state
        return c
    }

    func restore(_ c: CheckpointContents, path: String) throws {
        guard let classes = c.integers["classes"], Int(classes) == network.classCount else {
            throw TrainingError.incompatibleCheckpoint(path: path, reason: "class count differs from the dataset's \(network.classCount)")
        }
        try TrainingCheckpoint.restore(network, from: c, path: path)
        for (key, stored) in c.arrays where key.hasPrefix("optimizer/velocity/") {
            let name = String(key.dropFirst("optimizer/velocity/".count))
            optimizer.setVelocity(Tensor(shape: stored.shape, values: stored.values), for: name)
        }
        guard let epoch = c.integers["epoch"], let step = c.integers["global_step"] else {
            throw TrainingError.malformedCheckpoint(path: path, reason: "no epoch / global_step")
        }
        epochsCompleted = Int(epoch)
        globalStep = Int(step)
        bestValidationAccuracy = c.arrays["trainer/best_validation_accuracy"]?.values.first ?? -1
        if let words = c.words["rng"], let restored = RandomGenerator(state: words) { rng = restored }
        setRangePenalties()
    }
}

extension TrainingCheckpoint {
    /// Epochs the checkpoint's run has completed.
    public static func completedEpochs(in c: CheckpointContents, path: String) throws -> Int {
        guard let epoch = c.integers["epoch"], epoch >= 0 else {
            throw TrainingError.malformedCheckpoint(path: path, reason: "no epoch count")
        }
        return Int(epoch)
    }
}
