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

/// Draws initial members: random placements that meet the target, hyperparameters from their ranges.
public enum PlacementSampler {
    /// A random placement meeting `target`: free slots are made polynomial in random order until it is met.
    /// Returns nil when even the all-polynomial placement misses the target.
    public static func feasiblePlacement(space: SearchSpace, target: SearchTarget, costModel: CostModel,
                                         extraPolynomialProbability: Double = 0,
                                         generator: inout SeededGenerator) -> Placement? {
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
