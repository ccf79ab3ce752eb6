// Applying a member's placement to the network's activation slots.
import NetworkPlan
import Planner
import Training

extension EngineTrainable {
    /// ReLU slots stay or become ReLU; a slot that becomes polynomial starts blending from ReLU with
    /// Delphi's initial coefficients, unless it already is (or is blending into) a polynomial of that
    /// degree, whose learned coefficients are kept.
    func applyPlacement(_ placement: Placement) throws {
        for (slot, choice) in zip(network.slots, placement.choices) {
            switch choice {
            case .relu:
                slot.setReLU()
                blendSteps[slot.name] = nil
            case .polynomial(let degree):
                if !slot.isReLU, let coefficients = slot.coefficients, coefficients.shape.last == degree + 1 {
                    continue
                }
                slot.setBlended(alpha: 1, coefficients: PolynomialInitialization.coefficients(degree: degree),
                                perChannel: options.perChannelCoefficients)
                blendSteps[slot.name] = 0
            case .mixed:
                throw SearchError.unsupportedChoice(slot: slot.name, choice: "\(choice)")
            }
        }
        updateBlending()
    }

    /// The placement the network currently computes (blending slots count as polynomial).
    public var currentPlacement: Placement {
        Placement(choices: network.slots.map { slot in
            guard !slot.isReLU, let coefficients = slot.coefficients else { return .relu }
            return .polynomial(degree: (coefficients.shape.last ?? 3) - 1)
        })
    }
}
