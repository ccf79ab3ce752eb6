// Applying a member's placement to the network's activation slots.
import NetworkPlan
import Planner
import Tensors
import Training

extension EngineTrainable {
    /// ReLU slots stay or become ReLU; a slot that becomes polynomial starts blending from ReLU with
    /// initial coefficients (fitted to its inputs, or Delphi's; `EngineOptions.polynomialInitialization`),
    /// unless it already is (or is blending into) a polynomial of that degree, whose learned coefficients
    /// are kept.
    func applyPlacement(_ placement: Placement) throws {
        var switched: [ActivationSlot] = []
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
                switched.append(slot)
            case .mixed:
                throw SearchError.unsupportedChoice(slot: slot.name, choice: "\(choice)")
            }
        }
        if !switched.isEmpty { measureInputs(of: switched) }
        for slot in network.slots { slot.rangePenaltyWeight = slot.isReLU ? 0 : options.rangePenaltyWeight }
        updateBlending()
    }

    /// Measures the inputs each slot receives on `options.fitImages` training images (not augmented, a
    /// fixed sample) with the network in inference mode, and sets each channel's input range (its
    /// largest magnitude, at most `options.fitDeviations` root mean squares) and, for the fitted
    /// initialisation, its polynomial: the least-squares fit of ReLU over the clamped inputs, mixed with
    /// the uniform distribution over the range (`options.fitUniformWeight`). The slots blend at alpha = 1 meanwhile, so the network computes what its all-ReLU version
    /// computes.
    func measureInputs(of slots: [ActivationSlot]) {
        // Pass 1: each channel's largest |x| and root mean square, hence its range; pass 2: the fit's sums
        // over inputs clamped to that range (so outliers beyond it cannot decide the fit).
        let spread = observeInputs(of: slots) { ReLUFitMoments(degree: 1, channels: $0.channels) }
        var ranges: [String: [Float]] = [:]
        for slot in slots {
            guard let measured = spread[slot.name] else { continue }
            let widest = measured.largest.max() ?? 0
            ranges[slot.name] = (0..<slot.channels).map { c in
                var bound = measured.largest[c]
                if let deviations = options.fitDeviations, measured.rootMeanSquare(channel: c) > 0 {
                    bound = min(bound, deviations * measured.rootMeanSquare(channel: c))
                }
                // A channel that never saw a nonzero value gets the slot's widest range (or 1).
                return bound > 0 ? bound : (widest > 0 ? widest : 1)
            }
        }
        for slot in slots { if let range = ranges[slot.name] { slot.setInputBounds(range) } }
        guard options.polynomialInitialization == .fitted else { return }
        let moments = observeInputs(of: slots) { slot in
            ReLUFitMoments(degree: (slot.coefficients?.value.shape.last ?? 3) - 1, channels: slot.channels,
                           clip: ranges[slot.name])
        }
        let uniform = Double(options.fitUniformWeight)
        for slot in slots {
            guard let fit = moments[slot.name] else { continue }
            if options.perChannelCoefficients {
                slot.setCoefficients(perChannel: (0..<slot.channels).map { fit.coefficients(channel: $0, uniformWeight: uniform) })
            } else {
                slot.setCoefficients(shared: fit.coefficients(channel: nil, uniformWeight: uniform))
            }
        }
    }

    /// Runs `options.fitImages` training images (not augmented, a fixed sample) through the network in
    /// inference mode and accumulates each slot's inputs into the sums `make` creates for it.
    private func observeInputs(of slots: [ActivationSlot], _ make: (ActivationSlot) -> ReLUFitMoments) -> [String: ReLUFitMoments] {
        var moments: [String: ReLUFitMoments] = [:]
        for slot in slots {
            moments[slot.name] = make(slot)
            slot.inputObserver = { tensor in
                moments[slot.name]!.add(UnsafeBufferPointer(start: tensor.pointer, count: tensor.count), shape: tensor.shape)
            }
        }
        defer { for slot in slots { slot.inputObserver = nil } }
        let count = max(1, min(options.fitImages, splits.train.count))
        let loader = BatchLoader(images: splits.train, batchSize: min(options.batchSize, count), shuffle: true,
                                 augment: false, normalization: splits.normalization, layout: .nchw,
                                 seed: options.seed ^ 0x5EED_F17, epoch: 0, dropLast: true)
        var seen = 0
        while seen < count, let batch = loader.next() {
            let tape = Tape(recording: false)
            _ = network.forward(tape.constant(Tensor(shape: [batch.count, 3, 32, 32], values: batch.images)),
                                tape: tape, training: false)
            seen += batch.count
        }
        return moments
    }

    /// The placement the network currently computes (blending slots count as polynomial).
    public var currentPlacement: Placement {
        Placement(choices: network.slots.map { slot in
            guard !slot.isReLU, let coefficients = slot.coefficients else { return .relu }
            return .polynomial(degree: (coefficients.shape.last ?? 3) - 1)
        })
    }
}
