// Applying a member's placement to the network's activation slots.
import NetworkPlan
import Planner
import Tensors
import Training

extension EngineTrainable {
    /// ReLU slots stay or become ReLU. A slot that becomes polynomial (whole, or split by channel:
    /// `.mixed`) starts blending from ReLU with initial coefficients (fitted to its inputs, or Delphi's;
    /// `EngineOptions.polynomialInitialization`). A slot that already is polynomial of that degree keeps
    /// its learned coefficients: channels that join the polynomial ones are fitted and blend in on their
    /// own, channels that leave become ReLU.
    ///
    /// With `EngineOptions.reverseBlending`, polynomial channels that become ReLU blend back instead
    /// (`BlendProgress`): a whole slot turned ReLU keeps its polynomial until every channel is back.
    func applyPlacement(_ placement: Placement) throws {
        var fits: [(slot: ActivationSlot, channels: Set<Int>)] = []
        let reverse = options.reverseBlending ?? false
        for (slot, choice) in zip(network.slots, placement.choices) {
            var degree = choice.polynomialDegree ?? 0
            if choice.polynomialDegree == nil {
                // Gradually back to ReLU: the slot keeps its degree, with no channel polynomial any more.
                guard reverse, !slot.isReLU, let terms = slot.coefficients?.value.shape.last else {
                    slot.setReLU()
                    blendSteps[slot.name] = nil
                    continue
                }
                degree = terms - 1
            }
            var mask = [Bool](repeating: choice.polynomialDegree != nil, count: slot.channels)
            if case .mixed(let channels, _) = choice {
                guard channels.allSatisfy({ (0..<slot.channels).contains($0) }) else {
                    throw SearchError.unsupportedChoice(slot: slot.name, choice: "\(choice): channel out of range")
                }
                guard options.perChannelCoefficients else {
                    throw SearchError.unsupportedChoice(slot: slot.name, choice: "\(choice) with shared coefficients")
                }
                mask = mask.indices.map { Set(channels).contains($0) }
            }
            if !slot.isReLU, let coefficients = slot.coefficients, coefficients.shape.last == degree + 1 {
                // Same degree: channels polynomial before (with no recorded progress: finished) keep their state.
                let before = Set(slot.polynomialChannelIndices)
                var steps = blendSteps[slot.name] ?? (0..<slot.channels).map { before.contains($0) ? Int(Int32.max) : -1 }
                var joined: Set<Int> = []
                let schedule = blendSchedule
                for c in 0..<slot.channels {
                    let progress = BlendProgress(steps[c])
                    if !mask[c] {
                        steps[c] = reverse && progress.isPolynomialward ? BlendProgress.towardsReLU(0).encoded
                            : (progress.isReLUward ? steps[c] : BlendProgress.relu.encoded)
                    } else if progress == .relu {
                        steps[c] = 0; joined.insert(c)
                    } else if case .towardsReLU(let k) = progress {
                        // Coming back before it reached ReLU: continue towards the polynomial from the same alpha.
                        steps[c] = max(0, schedule.totalSteps - k)
                    }
                }
                blendSteps[slot.name] = steps
                if !joined.isEmpty { fits.append((slot, joined)) }
                continue
            }
            slot.setBlended(alpha: 1, coefficients: PolynomialInitialization.coefficients(degree: degree),
                            perChannel: options.perChannelCoefficients)
            blendSteps[slot.name] = mask.map { $0 ? 0 : -1 }
            fits.append((slot, Set(0..<slot.channels)))
        }
        if !fits.isEmpty { measureInputs(of: fits) }
        for slot in network.slots {
            slot.rangePenaltyWeight = slot.isReLU ? 0 : options.rangePenaltyWeight
            slot.coefficientFractionalBits = slot.isReLU ? nil : options.coefficientFractionalBits
        }
        updateBlending()
    }

    /// Measures the inputs each slot receives on `options.fitImages` training images (not augmented, a
    /// fixed sample) with the network in inference mode, and sets each channel's input range (its
    /// largest magnitude, at most `options.fitDeviations` root mean squares) and, for the fitted
    /// initialisation, its polynomial: the least-squares fit of ReLU over the clamped inputs, mixed with
    /// the uniform distribution over the range (`options.fitUniformWeight`). The slots blend at alpha = 1 meanwhile, so the network computes what its all-ReLU version
    /// computes.
    func measureInputs(of fits: [(slot: ActivationSlot, channels: Set<Int>)]) {
        let slots = fits.map(\.slot)
        // Pass 1: each channel's largest |x| and root mean square, hence its range; pass 2: the fit's sums
        // over inputs clamped to that range (so outliers beyond it cannot decide the fit).
        let spread = observeInputs(of: slots) { ReLUFitMoments(degree: 1, channels: $0.channels) }
        var ranges: [String: [Float]] = [:]
        for (slot, channels) in fits {
            guard let measured = spread[slot.name] else { continue }
            let widest = measured.largest.max() ?? 0
            let old = slot.inputBounds?.array
            ranges[slot.name] = (0..<slot.channels).map { c in
                if !channels.contains(c), let old { return old[c] }
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
        for (slot, channels) in fits {
            guard let fit = moments[slot.name], let current = slot.coefficients?.value else { continue }
            if options.perChannelCoefficients {
                let terms = current.shape.last ?? 1
                let values = current.array
                slot.setCoefficients(perChannel: (0..<slot.channels).map { c in
                    channels.contains(c) || current.shape.count == 1
                        ? fit.coefficients(channel: c, uniformWeight: uniform)
                        : Array(values[c * terms..<(c + 1) * terms])
                })
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
            _ = network.forward(tape.constant(batch.tensor),
                                tape: tape, training: false)
            seen += batch.count
        }
        return moments
    }

    /// The placement the network currently computes (blending slots and channels count as polynomial).
    public var currentPlacement: Placement {
        Placement(choices: network.slots.map { slot in
            guard !slot.isReLU, let coefficients = slot.coefficients else { return .relu }
            let degree = (coefficients.shape.last ?? 3) - 1
            let channels = slot.polynomialChannelIndices
            return channels.count == slot.channels ? .polynomial(degree: degree) : .mixed(polynomialChannels: channels, degree: degree)
        })
    }
}
