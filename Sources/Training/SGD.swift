// Stochastic gradient descent with momentum or Nesterov momentum (Sutskever et al., ICML 2013) and
// PyTorch-style coupled L2 weight decay: g += wd * w (only for parameters that decay: conv and dense
// weights, not batch-norm parameters, biases or polynomial coefficients);
// v = mu * v + g; w -= lr * (nesterov ? g + mu * v : v).
import Tensors

public struct SGDSettings: Codable, Equatable, Sendable {
    public var momentum: Float
    public var nesterov: Bool
    public var weightDecay: Float

    public init(momentum: Float = 0.9, nesterov: Bool = false, weightDecay: Float = 5e-4) {
        self.momentum = momentum; self.nesterov = nesterov; self.weightDecay = weightDecay
    }
}

public final class SGD {
    public var settings: SGDSettings
    /// Momentum buffers by parameter name (created on first use).
    public private(set) var velocity: [String: Tensor] = [:]

    public init(settings: SGDSettings) { self.settings = settings }

    /// One update of every parameter from its gradient; then zeroes the gradients.
    public func step(_ parameters: [NamedParameter], learningRate lr: Float) {
        let mu = settings.momentum, wd = settings.weightDecay, nesterov = settings.nesterov
        for p in parameters {
            let w = p.parameter.value.pointer, g = p.parameter.grad.pointer
            let n = p.parameter.value.count
            let v: Tensor
            // A buffer of another shape belongs to a parameter that was replaced (a slot's polynomial that
            // changed degree since the checkpoint it came from): it starts again from zero.
            if let existing = velocity[p.name], existing.shape == p.parameter.shape { v = existing } else {
                v = Tensor(zeros: p.parameter.shape)
                velocity[p.name] = v
            }
            let vp = v.pointer
            let decay = p.decays ? wd : 0
            Parallel.forEachChunk(n, minimumPerChunk: 1 << 15) { r in
                for i in r {
                    let gi = g[i] + decay * w[i]
                    let vi = mu * vp[i] + gi
                    vp[i] = vi
                    w[i] -= lr * (nesterov ? gi + mu * vi : vi)
                    g[i] = 0
                }
            }
        }
    }

    /// Restores momentum buffers (checkpoints).
    public func setVelocity(_ tensor: Tensor, for name: String) { velocity[name] = tensor }
}

/// Gradient clipping (Pascanu, Mikolov, Bengio, ICML 2013).
public enum GradientClipping {
    /// Clamps every gradient element to [-limit, limit].
    public static func clipByValue(_ parameters: [NamedParameter], limit: Float) {
        for p in parameters {
            let g = p.parameter.grad.pointer
            for i in 0..<p.parameter.grad.count { g[i] = min(limit, max(-limit, g[i])) }
        }
    }

    /// Global L2 norm of all gradients.
    public static func globalNorm(_ parameters: [NamedParameter]) -> Float {
        var total: Double = 0
        for p in parameters {
            let g = p.parameter.grad.pointer
            var s: Float = 0
            for i in 0..<p.parameter.grad.count { s += g[i] * g[i] }
            total += Double(s)
        }
        return Float(total.squareRoot())
    }

    /// Scales all gradients by maxNorm / norm when the global norm exceeds maxNorm; returns the norm
    /// before clipping.
    @discardableResult
    public static func clipByGlobalNorm(_ parameters: [NamedParameter], maxNorm: Float) -> Float {
        let norm = globalNorm(parameters)
        guard norm > maxNorm, norm > 0 else { return norm }
        let scale = maxNorm / norm
        for p in parameters {
            let g = p.parameter.grad.pointer
            for i in 0..<p.parameter.grad.count { g[i] *= scale }
        }
        return norm
    }
}
