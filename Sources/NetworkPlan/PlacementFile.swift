// placement.json: the chosen placement as {slot name: choice}, choices in SlotChoice's JSON form
// ({"relu": {}}, {"polynomial": {"degree": 2}}); the learned coefficients live in best.h5.
import Foundation
import NetworkPlan

public enum PlacementFile {
    public static func write(_ placement: Placement, slots: [SlotDescriptor], to url: URL) throws {
        precondition(placement.choices.count == slots.count, "placement and slots differ in length")
        var byName: [String: SlotChoice] = [:]
        for (slot, choice) in zip(slots, placement.choices) { byName[slot.name] = choice }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(byName).write(to: url, options: .atomic)
    }

    /// Reads a placement file back in the order of `slots`; slots it does not name are ReLU.
    public static func read(from url: URL, slots: [SlotDescriptor]) throws -> Placement {
        let byName: [String: SlotChoice]
        do {
            byName = try JSONDecoder().decode([String: SlotChoice].self, from: Data(contentsOf: url))
        } catch {
            throw SearchError.unreadableInput(path: url.path, reason: "not a placement file (\(error))")
        }
        let names = Set(slots.map(\.name))
        if let unknown = byName.keys.sorted().first(where: { !names.contains($0) }) {
            throw SearchError.unreadableInput(path: url.path, reason: "slot '\(unknown)' is not in the network")
        }
        return Placement(choices: slots.map { byName[$0.name] ?? .relu })
    }
}
