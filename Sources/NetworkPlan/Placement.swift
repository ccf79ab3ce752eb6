// Activation placements: which activation slots of a network stay ReLU and which become polynomials.
//
// A slot is one activation layer of a model (ResNet-32 has 31). Delphi (Mishra et al., USENIX Security
// 2020) replaces whole slots by the quadratic 0.2 + 0.5x + 0.2x^2; SAFENet (Lou et al., ICLR 2021)
// replaces a subset of the channels of a slot. Both are expressible here. The coefficients themselves are
// learned by training and live with the weights, not in the placement.

/// One activation slot of a model, as the planner and the exporter see it.
public struct SlotDescriptor: Codable, Hashable, Sendable {
    /// Stable name, e.g. `stage1.block0.act1`.
    public var name: String
    /// Channels of the activation tensor.
    public var channels: Int
    /// Elements per image (channels x height x width): the ReLUs this slot costs when all-ReLU.
    public var elements: Int

    public init(name: String, channels: Int, elements: Int) {
        precondition(channels > 0 && elements > 0 && elements % channels == 0,
                     "slot \(name): elements must be a positive multiple of channels")
        self.name = name
        self.channels = channels
        self.elements = elements
    }

    /// Elements per channel (height x width).
    public var elementsPerChannel: Int { elements / channels }
}

/// What one slot computes.
public enum SlotChoice: Codable, Hashable, Sendable {
    /// Every element is a ReLU (a garbled circuit under 2PC).
    case relu
    /// Every element is a polynomial of the given degree (2 = Delphi's quadratic).
    case polynomial(degree: Int)
    /// The listed channels (sorted, unique) are polynomials of the given degree, the rest ReLU.
    case mixed(polynomialChannels: [Int], degree: Int)

    /// Number of channels that stay ReLU, given the slot's channel count.
    public func reluChannels(of slot: SlotDescriptor) -> Int {
        switch self {
        case .relu: return slot.channels
        case .polynomial: return 0
        case .mixed(let channels, _): return slot.channels - channels.count
        }
    }

    public var isReLU: Bool { if case .relu = self { return true } else { return false } }

    /// The polynomial degree of a slot with polynomial channels (nil for ReLU).
    public var polynomialDegree: Int? {
        switch self {
        case .relu: return nil
        case .polynomial(let degree), .mixed(_, let degree): return degree
        }
    }
}

/// A choice per slot, in the model's slot order.
public struct Placement: Codable, Hashable, Sendable {
    public var choices: [SlotChoice]

    public init(choices: [SlotChoice]) { self.choices = choices }

    /// Every slot ReLU.
    public static func allReLU(slotCount: Int) -> Placement {
        Placement(choices: Array(repeating: .relu, count: slotCount))
    }

    /// ReLUs per image under this placement.
    public func reluCount(slots: [SlotDescriptor]) -> Int {
        precondition(slots.count == choices.count, "placement has \(choices.count) choices for \(slots.count) slots")
        var total = 0
        for (slot, choice) in zip(slots, choices) {
            total += choice.reluChannels(of: slot) * slot.elementsPerChannel
        }
        return total
    }

    /// Polynomial activations per image under this placement.
    public func polynomialCount(slots: [SlotDescriptor]) -> Int {
        slots.reduce(0) { $0 + $1.elements } - reluCount(slots: slots)
    }

    /// Indices of slots that are (at least partly) polynomial.
    public var polynomialSlots: [Int] {
        choices.indices.filter { !choices[$0].isReLU }
    }

    /// A compact human-readable form: one character per slot, `R` ReLU, `2`..`9` polynomial degree,
    /// `m` mixed. ResNet-32 all-ReLU is 31 `R`s.
    public var signature: String {
        String(choices.map { choice -> Character in
            switch choice {
            case .relu: return "R"
            case .polynomial(let degree): return Character(String(min(degree, 9)))
            case .mixed: return "m"
            }
        })
    }
}
