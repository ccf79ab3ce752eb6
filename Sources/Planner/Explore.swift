import Foundation
import NetworkPlan

/// The explore step of population-based training (Jaderberg et al. 2017, "Population Based Training of
/// Neural Networks"), as a pure function: the same inputs and generator state give the same output.
///
/// Hyperparameters follow Ray Tune's PBT: with probability `resampleProbability` a value is drawn afresh
/// from its range, otherwise it is multiplied by one of the perturbation factors (0.8 or 1.2), and kept
/// inside its range. Unlike Delphi's planner, which only inherits placements, the placement is mutated
/// too: a polynomial slot flips back to ReLU, a ReLU slot becomes polynomial, or one of each swaps; the
/// result always meets the target.
public struct Explorer: Codable, Hashable, Sendable {
    public var resampleProbability: Double = 0.25
    public var perturbationFactors: [Double] = [0.8, 1.2]
    /// Probability that the placement is mutated at all in one explore step.
    public var placementMutationProbability: Double = 0.5

    public init() {}

    public init(resampleProbability: Double, perturbationFactors: [Double], placementMutationProbability: Double) {
        precondition((0...1).contains(resampleProbability) && (0...1).contains(placementMutationProbability))
        precondition(!perturbationFactors.isEmpty)
        self.resampleProbability = resampleProbability
        self.perturbationFactors = perturbationFactors
        self.placementMutationProbability = placementMutationProbability
    }

    /// A perturbed copy of `config` that meets `target`.
    public func explore(_ config: MemberConfig, space: SearchSpace, target: SearchTarget, costModel: CostModel,
                        generator: inout SeededGenerator) -> MemberConfig {
        var result = config
        let ranges = space.hyperParameters
        result.hyperParameters.learningRate = perturb(config.hyperParameters.learningRate, in: ranges.learningRate,
                                                      logScale: true, generator: &generator)
        result.hyperParameters.momentum = perturb(config.hyperParameters.momentum, in: ranges.momentum,
                                                  logScale: false, generator: &generator)
        result.hyperParameters.clipNorm = perturb(config.hyperParameters.clipNorm, in: ranges.clipNorm,
                                                  logScale: true, generator: &generator)
        result.hyperParameters.blendEpochs = perturb(config.hyperParameters.blendEpochs, in: ranges.blendEpochs,
                                                     logScale: false, generator: &generator)
        if Double.random(in: 0..<1, using: &generator) < placementMutationProbability {
            result.placement = mutate(config.placement, space: space, target: target, costModel: costModel,
                                      generator: &generator)
        }
        return result
    }

    func perturb(_ value: Double, in range: ClosedRange<Double>, logScale: Bool,
                 generator: inout SeededGenerator) -> Double {
        if Double.random(in: 0..<1, using: &generator) < resampleProbability {
            return PlacementSampler.draw(in: range, logScale: logScale, generator: &generator)
        }
        let factor = perturbationFactors[Int.random(in: 0..<perturbationFactors.count, using: &generator)]
        return min(max(value * factor, range.lowerBound), range.upperBound)
    }

    /// One placement move that keeps the target met; the input unchanged when no move does.
    public func mutate(_ placement: Placement, space: SearchSpace, target: SearchTarget, costModel: CostModel,
                       generator: inout SeededGenerator) -> Placement {
        let free = space.freeSlots
        guard !free.isEmpty else { return placement }
        if space.splitsByImportance {
            return mutateChannels(placement, space: space, target: target, costModel: costModel, generator: &generator)
        }
        // A few attempts at a random move; each candidate must meet the target.
        for _ in 0..<16 {
            var candidate = placement
            let polynomial = free.filter { !candidate.choices[$0].isReLU }
            let relu = free.filter { candidate.choices[$0].isReLU }
            let move = Int.random(in: 0..<3, using: &generator)
            switch move {
            case 0 where !relu.isEmpty:      // a ReLU slot becomes polynomial
                let slot = relu.randomElement(using: &generator)!
                candidate.choices[slot] = PlacementSampler.polynomialChoice(for: slot, space: space, generator: &generator)
            case 1 where !polynomial.isEmpty: // a polynomial slot returns to ReLU
                candidate.choices[polynomial.randomElement(using: &generator)!] = .relu
            case 2 where !polynomial.isEmpty && !relu.isEmpty: // move a polynomial slot elsewhere
                let from = polynomial.randomElement(using: &generator)!
                let to = relu.randomElement(using: &generator)!
                candidate.choices[to] = PlacementSampler.polynomialChoice(for: to, space: space, generator: &generator)
                candidate.choices[from] = .relu
            default:
                continue
            }
            if candidate != placement && target.isMet(by: candidate, space: space, costModel: costModel) {
                return candidate
            }
        }
        return placement
    }
}

extension Explorer {
    /// Per-channel moves (SAFENet-style search of per-layer ratios and degrees): move a group of ReLU
    /// channels from one slot to another, give a slot a group more or fewer, or change a slot's degree.
    /// A slot always keeps its most important channels as ReLU (`SearchSpace.choice`).
    func mutateChannels(_ placement: Placement, space: SearchSpace, target: SearchTarget, costModel: CostModel,
                        generator: inout SeededGenerator) -> Placement {
        let free = space.freeSlots
        func relus(_ p: Placement, _ s: Int) -> Int { p.choices[s].reluChannels(of: space.slots[s]) }
        func degree(_ p: Placement, _ s: Int) -> Int { p.choices[s].polynomialDegree ?? space.degrees[0] }
        for _ in 0..<32 {
            var candidate = placement
            let slot = free.randomElement(using: &generator)!
            let group = max(1, min(space.channelGroup, space.slots[slot].channels / 4))
            switch Int.random(in: 0..<4, using: &generator) {
            case 0:   // a group of ReLU channels moves from `slot` to another slot
                let other = free.randomElement(using: &generator)!
                guard other != slot, relus(candidate, slot) > 0 else { continue }
                let moved = min(group, relus(candidate, slot))
                // Keep the ReLU count: the other slot gets as many ReLU elements as `slot` gives up.
                let elements = moved * space.slots[slot].elementsPerChannel
                let gained = max(1, elements / space.slots[other].elementsPerChannel)
                candidate.choices[slot] = space.choice(slot: slot, reluChannels: relus(candidate, slot) - moved, degree: degree(candidate, slot))
                candidate.choices[other] = space.choice(slot: other, reluChannels: relus(candidate, other) + gained,
                                                        degree: degree(candidate, other))
            case 1:   // one group more ReLU channels
                candidate.choices[slot] = space.choice(slot: slot, reluChannels: relus(candidate, slot) + group, degree: degree(candidate, slot))
            case 2:   // one group fewer
                candidate.choices[slot] = space.choice(slot: slot, reluChannels: relus(candidate, slot) - group, degree: degree(candidate, slot))
            default:  // another degree for the slot's polynomial channels
                guard space.degrees.count > 1, !candidate.choices[slot].isReLU else { continue }
                let next = space.degrees.filter { $0 != degree(candidate, slot) }.randomElement(using: &generator)!
                candidate.choices[slot] = space.choice(slot: slot, reluChannels: relus(candidate, slot), degree: next)
            }
            if candidate != placement && target.isMet(by: candidate, space: space, costModel: costModel) {
                return candidate
            }
        }
        return placement
    }
}

/// Draws initial members: random placements that meet the target, hyperparameters from their ranges.
public enum PlacementSampler {
    /// A random placement meeting `target`: free slots are made polynomial in random order until it is met.
    /// Returns nil when even the all-polynomial placement misses the target.
    public static func feasiblePlacement(space: SearchSpace, target: SearchTarget, costModel: CostModel,
                                         extraPolynomialProbability: Double = 0,
                                         generator: inout SeededGenerator) -> Placement? {
        if space.splitsByImportance {
            return importancePlacement(space: space, target: target, costModel: costModel,
                                       spread: extraPolynomialProbability, generator: &generator)
        }
        var placement = Placement.allReLU(slotCount: space.slots.count)
        var order = space.freeSlots
        order.shuffle(using: &generator)
        var remaining = order[...]
        while !target.isMet(by: placement, space: space, costModel: costModel) {
            guard let slot = remaining.popFirst() else { return nil }
            placement.choices[slot] = .polynomial(degree: space.degrees.randomElement(using: &generator)!)
        }
        // Optionally go further than needed, so the population also covers cheaper placements.
        for slot in remaining where Double.random(in: 0..<1, using: &generator) < extraPolynomialProbability {
            placement.choices[slot] = .polynomial(degree: space.degrees.randomElement(using: &generator)!)
        }
        return placement
    }

    /// Every free slot polynomial (a random degree each), then ReLU given back one channel at a time to the
    /// channels with the most importance per ReLU (importance / elements per channel) across all slots, for
    /// as long as the target stays met: the channels that matter most keep their ReLU wherever they are.
    /// `spread` in [0, 1] multiplies each slot's importances by a random factor in [1 - spread, 1 + spread],
    /// so members start from different allocations across slots. Nil when the all-polynomial placement misses the target.
    public static func importancePlacement(space: SearchSpace, target: SearchTarget, costModel: CostModel,
                                           spread: Double, generator: inout SeededGenerator) -> Placement? {
        var placement = Placement.allReLU(slotCount: space.slots.count)
        var degrees = [Int](repeating: space.degrees[0], count: space.slots.count)
        for slot in space.freeSlots {
            degrees[slot] = space.degrees.randomElement(using: &generator)!
            placement.choices[slot] = .polynomial(degree: degrees[slot])
        }
        guard target.isMet(by: placement, space: space, costModel: costModel) else { return nil }
        var candidates: [(slot: Int, rank: Int, value: Double)] = []
        for slot in space.freeSlots {
            let importance = space.channelImportance![slot]
            let noise = spread > 0 ? Double.random(in: (1 - spread)...(1 + spread), using: &generator) : 1
            let weight = noise / Double(space.slots[slot].elementsPerChannel)
            for (rank, channel) in space.importanceOrder(slot: slot).enumerated() {
                candidates.append((slot, rank, importance[channel] * weight))
            }
        }
        // Within a slot, channels return in importance order (a slot's kept set is always its top channels).
        candidates.sort { $0.value > $1.value || ($0.value == $1.value && ($0.slot, $0.rank) < ($1.slot, $1.rank)) }
        var kept = [Int](repeating: 0, count: space.slots.count)
        for candidate in candidates where candidate.rank == kept[candidate.slot] {
            var next = placement
            next.choices[candidate.slot] = space.choice(slot: candidate.slot, reluChannels: kept[candidate.slot] + 1,
                                                        degree: degrees[candidate.slot])
            guard target.isMet(by: next, space: space, costModel: costModel) else { continue }
            placement = next
            kept[candidate.slot] += 1
        }
        return placement
    }

    static func polynomialChoice(for slot: Int, space: SearchSpace, generator: inout SeededGenerator) -> SlotChoice {
        let degree = space.degrees.randomElement(using: &generator)!
        let descriptor = space.slots[slot]
        guard space.allowMixed, descriptor.channels > space.channelGroup,
              Bool.random(using: &generator) else { return .polynomial(degree: degree) }
        // Replace a random multiple of the channel group, at least one group and not all channels.
        let groups = descriptor.channels / space.channelGroup
        let count = Int.random(in: 1..<groups, using: &generator) * space.channelGroup
        var channels = Array(0..<descriptor.channels)
        channels.shuffle(using: &generator)
        return .mixed(polynomialChannels: channels.prefix(count).sorted(), degree: degree)
    }

    static func draw(in range: ClosedRange<Double>, logScale: Bool, generator: inout SeededGenerator) -> Double {
        guard range.lowerBound < range.upperBound else { return range.lowerBound }
        if logScale && range.lowerBound > 0 {
            let low = log2(range.lowerBound), high = log2(range.upperBound)
            return exp2(Double.random(in: low...high, using: &generator))
        }
        return Double.random(in: range, using: &generator)
    }

    /// Hyperparameters drawn from their ranges.
    public static func hyperParameters(space: HyperParameterSpace, generator: inout SeededGenerator) -> HyperParameters {
        HyperParameters(learningRate: draw(in: space.learningRate, logScale: true, generator: &generator),
                        momentum: draw(in: space.momentum, logScale: false, generator: &generator),
                        clipNorm: draw(in: space.clipNorm, logScale: true, generator: &generator),
                        blendEpochs: draw(in: space.blendEpochs, logScale: false, generator: &generator))
    }
}
