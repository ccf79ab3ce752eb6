// One line of DIR/metrics.jsonl.
import Foundation

public struct EpochMetrics: Codable, Equatable, Sendable {
    public var epoch: Int
    public var lr: Float
    public var train_loss: Float
    public var train_accuracy: Float
    public var validation_accuracy: Float
    public var validation_loss: Float
    public var images_per_second: Float
    public var seconds: Float

    public func jsonLine() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
