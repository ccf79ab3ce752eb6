// A member checkpoint: the training checkpoint format (TrainingCheckpoint, HDF5 via CheckpointIO) plus
//   integers search/format_version, search/steps
//   words    search/channel_blend_steps/<slot>   blending progress per channel (Int64 bit patterns, -1: ReLU);
//            format 1 wrote one integer per slot, search/blend_steps/<slot>, still read
//   arrays   optimizer/velocity/<parameter>                                   momentum buffers
//   strings  search/member_config (MemberConfig JSON), config (the baseline's TrainingConfig)
// so `sibyl test --checkpoint` and plan export read it like any training checkpoint.
import Foundation
import PlanStore
import Training

extension EngineTrainable {
    static let formatKey = "search/format_version"
    static let stepsKey = "search/steps"
    static let blendPrefix = "search/blend_steps/"
    static let channelBlendPrefix = "search/channel_blend_steps/"
    static let velocityPrefix = "optimizer/velocity/"

    /// Everything a member needs to continue.
    public func checkpointContents() -> CheckpointContents {
        var contents = CheckpointContents()
        TrainingCheckpoint.encode(network, into: &contents)
        let names = Set(network.namedParameters.map(\.name))
        for (name, velocity) in optimizer.velocity where names.contains(name) {
            contents.arrays[Self.velocityPrefix + name] = StoredArray(shape: velocity.shape, values: velocity.array)
        }
        contents.integers[Self.formatKey] = 2
        contents.integers[Self.stepsKey] = Int64(memberSteps)
        contents.integers["epoch"] = 0
        contents.integers["global_step"] = Int64(memberSteps)
        for (name, steps) in blendSteps {
            contents.words[Self.channelBlendPrefix + name] = steps.map { UInt64(bitPattern: Int64($0)) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        contents.strings["config"] = String(decoding: (try? encoder.encode(baselineConfig)) ?? Data(), as: UTF8.self)
        if let config {
            contents.strings["search/member_config"] = String(decoding: (try? encoder.encode(config)) ?? Data(),
                                                              as: UTF8.self)
        }
        return contents
    }

    /// Blending progress per slot and channel from a member checkpoint (either format).
    static func blendSteps(in contents: CheckpointContents, network: Network, path: String) throws -> [String: [Int]] {
        var result: [String: [Int]] = [:]
        let channels = Dictionary(uniqueKeysWithValues: network.slots.map { ($0.name, $0.channels) })
        for (key, words) in contents.words where key.hasPrefix(channelBlendPrefix) {
            let name = String(key.dropFirst(channelBlendPrefix.count))
            guard let count = channels[name], words.count == count else {
                throw SearchError.unreadableInput(path: path, reason: "\(key) does not match a slot of the network")
            }
            result[name] = words.map { Int(Int64(bitPattern: $0)) }   // BlendProgress encoding
        }
        for (key, steps) in contents.integers where key.hasPrefix(blendPrefix) {   // format 1: whole slots
            let name = String(key.dropFirst(blendPrefix.count))
            guard let count = channels[name] else { continue }
            result[name] = result[name] ?? [Int](repeating: Int(steps), count: count)
        }
        return result
    }
}
