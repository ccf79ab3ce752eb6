// A member checkpoint: the training checkpoint format (TrainingCheckpoint, HDF5 via CheckpointIO) plus
//   integers search/format_version, search/steps, search/blend_steps/<slot>   blending progress
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
    static let velocityPrefix = "optimizer/velocity/"

    /// Everything a member needs to continue.
    public func checkpointContents() -> CheckpointContents {
        var contents = CheckpointContents()
        TrainingCheckpoint.encode(network, into: &contents)
        let names = Set(network.namedParameters.map(\.name))
        for (name, velocity) in optimizer.velocity where names.contains(name) {
            contents.arrays[Self.velocityPrefix + name] = StoredArray(shape: velocity.shape, values: velocity.array)
        }
        contents.integers[Self.formatKey] = 1
        contents.integers[Self.stepsKey] = Int64(memberSteps)
        contents.integers["epoch"] = 0
        contents.integers["global_step"] = Int64(memberSteps)
        for (name, steps) in blendSteps { contents.integers[Self.blendPrefix + name] = Int64(steps) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        contents.strings["config"] = String(decoding: (try? encoder.encode(baselineConfig)) ?? Data(), as: UTF8.self)
        if let config {
            contents.strings["search/member_config"] = String(decoding: (try? encoder.encode(config)) ?? Data(),
                                                              as: UTF8.self)
        }
        return contents
    }
}
