import Foundation
import NetworkPlan
import Planner

/// ResNet-32's 31 activation slots (Delphi's network): 303,104 ReLUs per image.
func resnet32Slots() -> [SlotDescriptor] {
    var slots = [SlotDescriptor(name: "stem.act", channels: 16, elements: 16 * 32 * 32)]
    for (stage, (channels, side)) in [(16, 32), (32, 16), (64, 8)].enumerated() {
        for block in 0..<5 {
            for act in 1...2 {
                slots.append(SlotDescriptor(name: "stage\(stage + 1).block\(block).act\(act)",
                                            channels: channels, elements: channels * side * side))
            }
        }
    }
    return slots
}

let testCostModel = CostModel(
    relu: .init(seconds: 2e-6, bytes: 530), polynomial: .init(seconds: 2e-8, bytes: 16),
    flightsPerActivationLayer: 2, linearSeconds: 0.05, linearBytes: 2e6, linearFlights: 66, source: "test fixture")

func resnet32Space() -> SearchSpace {
    SearchSpace(slots: resnet32Slots(), pinned: [0, 30], degrees: [2])
}

/// A deterministic stand-in for a training engine. A member's "weights" are one number stored in a JSON
/// checkpoint; training moves it by an amount that depends on the config, so exploits and resumes are
/// observable in the results.
final class MockTrainable: Trainable {
    struct State: Codable, Equatable { var quality: Double; var history: [String] }
    var state = State(quality: 0, history: [])
    var config: MemberConfig?
    var failAt: (member: Int, round: Int)?
    var divergeAt: (member: Int, round: Int)?
    var trained: [(member: Int, round: Int)] = []
    var currentMember = -1
    let slots: [SlotDescriptor]

    init(slots: [SlotDescriptor]) { self.slots = slots }

    static func writeBaseline(to url: URL) throws {
        try JSONEncoder().encode(State(quality: 0.6, history: ["baseline"])).write(to: url)
    }

    func restore(member: Int, config: MemberConfig, from checkpoint: URL) throws {
        state = try JSONDecoder().decode(State.self, from: Data(contentsOf: checkpoint))
        self.config = config
        currentMember = member
    }

    func train(epochs: Double, round: Int) throws -> (validationAccuracy: Double, trainLoss: Double, diverged: Bool) {
        let member = currentMember
        if let fail = failAt, fail.member == member, fail.round == round { throw CocoaError(.userCancelled) }
        trained.append((member, round))
        guard let config else { fatalError("restore first") }
        let reluShare = Double(config.placement.reluCount(slots: slots)) / 303_104
        // Best learning rate 0.01; ReLUs help; training accumulates.
        let lrPenalty = abs(log10(config.hyperParameters.learningRate) + 2) * 0.02
        state.quality += epochs * (0.01 + 0.02 * reluShare - lrPenalty * 0.1)
        state.history.append("r\(round)")
        if let diverge = divergeAt, diverge.member == member, diverge.round == round {
            return (.nan, .infinity, true)
        }
        return (min(state.quality - 0.1 * (1 - reluShare), 1), 1 - state.quality, false)
    }

    func save(to checkpoint: URL) throws {
        try JSONEncoder().encode(state).write(to: checkpoint, options: .atomic)
    }
}

func temporaryDirectory(_ name: String) -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("sibyl-planner-\(name)-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
