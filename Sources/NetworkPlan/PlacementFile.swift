// placement.json: a placement as {slot name: choice}, choices in SlotChoice's JSON form ({"relu": {}},
// {"polynomial": {"degree": 2}}, {"mixed": ...}); the learned coefficients live in the checkpoint. The one
// reader of placement files: `sibyl plan` writes them, `sibyl export --placement` and the tests read them.
import Foundation

public enum PlacementFile {
    /// Why a placement file was refused (callers name the file and the flag).
    public struct ReadError: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    public static func write(_ placement: Placement, slots: [SlotDescriptor], to url: URL) throws {
        precondition(placement.choices.count == slots.count, "placement and slots differ in length")
        var byName: [String: SlotChoice] = [:]
        for (slot, choice) in zip(slots, placement.choices) { byName[slot.name] = choice }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(byName).write(to: url, options: .atomic)
    }

    /// The choices a placement file names, by slot: {slot name: choice} (what `sibyl plan` writes), or a
    /// `Placement` ({"choices": [...]}, one per slot in `slotNames`' order); keys in camel or snake case.
    /// Refuses slots the network does not have and a choice list of the wrong length.
    public static func choices(in data: Data, slotNames: [String]) throws -> [String: SlotChoice] {
        let plain = JSONDecoder(), snake = JSONDecoder()
        snake.keyDecodingStrategy = .convertFromSnakeCase
        var byName: [String: SlotChoice] = [:]
        if let placement = (try? plain.decode(Placement.self, from: data)) ?? (try? snake.decode(Placement.self, from: data)) {
            guard placement.choices.count == slotNames.count else {
                throw ReadError(reason: "\(placement.choices.count) choices for the network's \(slotNames.count) slots")
            }
            for (name, choice) in zip(slotNames, placement.choices) { byName[name] = choice }
        } else if let map = (try? plain.decode([String: SlotChoice].self, from: data))
                    ?? (try? snake.decode([String: SlotChoice].self, from: data)) {
            byName = map
        } else {
            throw ReadError(reason: "neither a {\"slot\": choice} object nor a Placement {\"choices\": [...]}, with choices "
                            + "like {\"relu\": {}} or {\"polynomial\": {\"degree\": 2}}")
        }
        let names = Set(slotNames)
        if let unknown = byName.keys.sorted().first(where: { !names.contains($0) }) {
            throw ReadError(reason: "names slot '\(unknown)', which the network does not have")
        }
        return byName
    }

    /// Reads a placement file in the order of `slots`; slots it does not name are ReLU.
    public static func read(from url: URL, slots: [SlotDescriptor]) throws -> Placement {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ReadError(reason: "\(url.path) cannot be read (\(error.localizedDescription))")
        }
        let byName = try choices(in: data, slotNames: slots.map(\.name))
        return Placement(choices: slots.map { byName[$0.name] ?? .relu })
    }
}
