import NetworkPlan
import TwoParty

extension FixedPointProgram {
    /// Largest tensor a program may declare (elements per image), and largest total: far above any CIFAR
    /// network, far below what would exhaust memory.
    static let maximumTensorElements = 1 << 24
    static let maximumTotalElements = 1 << 27

    /// Checks a program received from a peer before anything is allocated or indexed by it: tensor ids
    /// defined once and before use, shapes consistent per step, shifts and bit widths in range, sizes
    /// bounded. A malformed or hostile program is an error, never a crash.
    public func validate() throws {
        func fail(_ reason: String) -> SecureInferenceError { .protocolFailure("the plan's program is malformed: \(reason)") }
        guard !tensors.isEmpty, (1...20).contains(fractionalBits) else { throw fail("no tensors or bad fractional bits") }
        var total = 0
        for (index, tensor) in tensors.enumerated() {
            let s = tensor.shape
            guard s.channels > 0, s.height > 0, s.width > 0,
                  s.channels <= Self.maximumTensorElements, s.height <= 4096, s.width <= 4096,
                  s.channels.multipliedReportingOverflow(by: s.height * s.width).partialValue <= Self.maximumTensorElements,
                  (0...62).contains(tensor.scale) else { throw fail("tensor \(index) has shape \(s), scale \(tensor.scale)") }
            total += s.elements
        }
        guard total <= Self.maximumTotalElements else { throw fail("\(total) elements in all") }
        var defined = [Bool](repeating: false, count: tensors.count)
        defined[Self.input] = true   // so no step may write the input
        func use(_ id: Int) throws -> TensorShape {
            guard tensors.indices.contains(id), defined[id] else { throw fail("tensor \(id) used before it is defined") }
            return tensors[id].shape
        }
        for (index, step) in steps.enumerated() {
            let output = step.output
            guard tensors.indices.contains(output), !defined[output] else { throw fail("step \(index) redefines tensor \(output)") }
            let out = tensors[output].shape
            switch step {
            case .linear(_, let terms, let bias, _):
                guard !terms.isEmpty, bias.isEmpty || bias.count == out.channels else { throw fail("step \(index): bad bias") }
                for term in terms {
                    let input = try use(term.input)
                    guard (1...40).contains(term.weightBits) else { throw fail("step \(index): weight bits \(term.weightBits)") }
                    switch term.map {
                    case .conv(let w, let i, let o, let k, let stride, let padding):
                        guard i == input.channels, o == out.channels, k >= 1, stride >= 1, padding >= 0,
                              k <= input.height + 2 * padding, k <= input.width + 2 * padding,
                              (input.height + 2 * padding - k) / stride + 1 == out.height,
                              (input.width + 2 * padding - k) / stride + 1 == out.width,
                              w.isEmpty || w.count == o * i * k * k else { throw fail("step \(index): convolution shapes") }
                    case .dense(let w, let i, let o):
                        guard i == input.elements, o == out.elements, w.isEmpty || w.count == i * o else {
                            throw fail("step \(index): dense shapes")
                        }
                    case .diagonal(let scale):
                        guard input == out, scale.isEmpty || scale.count == out.channels else { throw fail("step \(index): diagonal shapes") }
                    case .windowSum(let k, let stride):
                        guard k >= 1, stride >= 1, input.channels == out.channels, k <= input.height, k <= input.width,
                              (input.height - k) / stride + 1 == out.height, (input.width - k) / stride + 1 == out.width else {
                            throw fail("step \(index): pooling shapes")
                        }
                    }
                }
            case .add(_, let a, let shiftA, let b, let shiftB):
                guard try use(a) == out, try use(b) == out, (0..<64).contains(shiftA), (0..<64).contains(shiftB) else {
                    throw fail("step \(index): addition shapes or shifts")
                }
            case .truncate(_, let input, let bits):
                guard try use(input) == out, (1..<64).contains(bits) else { throw fail("step \(index): truncation") }
            case .relu(_, let input, let valueBits, let shift, _):
                guard try use(input) == out, (2...64).contains(valueBits), (0..<valueBits).contains(shift) else {
                    throw fail("step \(index): ReLU bits")
                }
            case .square(_, let input, _):
                guard try use(input) == out else { throw fail("step \(index): square shapes") }
            case .polynomial(_, let input, let degree, let coefficients, let shift, _):
                guard try use(input) == out, OneRoundPolynomial.degrees.contains(degree), (0..<128).contains(shift) else {
                    throw fail("step \(index): polynomial degree or shift")
                }
                // The public view carries no coefficients; a full program one row per channel.
                guard coefficients.isEmpty
                        || (coefficients.count == out.channels && coefficients.allSatisfy { $0.count == degree + 1 }) else {
                    throw fail("step \(index): polynomial coefficients")
                }
            case .gather(_, let input, let channels):
                let source = try use(input)
                guard !channels.isEmpty, channels.count == out.channels, Set(channels).count == channels.count,
                      channels.allSatisfy({ (0..<source.channels).contains($0) }),
                      source.height == out.height, source.width == out.width else {
                    throw fail("step \(index): gathered channels")
                }
            case .scatter(_, let parts):
                var filled = [Bool](repeating: false, count: out.channels)
                guard !parts.isEmpty else { throw fail("step \(index): scatter of nothing") }
                for part in parts {
                    let source = try use(part.input)
                    guard source.channels == part.channels.count, source.height == out.height, source.width == out.width,
                          tensors[part.input].scale == tensors[output].scale else {
                        throw fail("step \(index): scattered part shapes or scales")
                    }
                    for c in part.channels {
                        guard (0..<out.channels).contains(c), !filled[c] else { throw fail("step \(index): scattered channels") }
                        filled[c] = true
                    }
                }
                guard filled.allSatisfy({ $0 }) else { throw fail("step \(index): scatter leaves channels empty") }
            }
            defined[output] = true
        }
        if let stepSlots, stepSlots.count != steps.count {
            throw fail("\(stepSlots.count) step slots for \(steps.count) steps")
        }
        guard tensors.indices.contains(output), defined[output] else { throw fail("the output tensor is never defined") }
    }
}
