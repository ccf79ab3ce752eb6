// Elementwise helpers (parallel over two workers for large tensors) and the residual add primitive.

public enum Elementwise {
    static let parallelThreshold = 1 << 15

    /// a + b into a new tensor (shape of a).
    public static func sum(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.count == b.count, "add: \(a.shape) vs \(b.shape)")
        let out = Tensor(uninitialized: a.shape)
        let pa = a.pointer, pb = b.pointer, po = out.pointer
        Parallel.forEachChunk(a.count, minimumPerChunk: parallelThreshold) { r in
            for i in r { po[i] = pa[i] + pb[i] }
        }
        return out
    }

    /// dst += src.
    public static func addInPlace(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
        Parallel.forEachChunk(count, minimumPerChunk: parallelThreshold) { r in
            for i in r { dst[i] += src[i] }
        }
    }
}

extension Tape {
    /// Residual add: a + b (same shape). Pullback hands the same gradient to both inputs.
    public func add(_ a: Variable, _ b: Variable) -> Variable {
        precondition(a.shape == b.shape, "add: \(a.shape) vs \(b.shape)")
        let y = Elementwise.sum(a.value, b.value)
        return record(y, inputs: [a, b]) { [unowned self] dy in
            self.accumulate(a, dy)
            self.accumulate(b, dy)
        }
    }

    /// Same values, new shape (e.g. flatten before a dense layer).
    public func reshape(_ x: Variable, _ shape: [Int]) -> Variable {
        let y = x.value.reshaped(shape)
        let old = x.shape
        return record(y, inputs: [x]) { [unowned self] dy in self.accumulate(x, dy.reshaped(old)) }
    }
}

extension Tape {
    /// ReLU(a + b) in one pass (residual join followed by a ReLU slot). The pullback hands the masked
    /// gradient to both inputs.
    public func addReLU(_ a: Variable, _ b: Variable) -> Variable {
        precondition(a.shape == b.shape, "addReLU: \(a.shape) vs \(b.shape)")
        let n = a.value.count
        let y = Tensor(uninitialized: a.shape)
        let pa = a.value.pointer, pb = b.value.pointer, ys = y.pointer
        Parallel.forEachChunk(n, minimumPerChunk: Elementwise.parallelThreshold) { r in
            for i in r { ys[i] = max(pa[i] + pb[i], 0) }
        }
        return record(y, inputs: [a, b]) { [unowned self] dy in
            let dx = Tensor(uninitialized: a.shape)
            let d = dy.pointer, q = dx.pointer
            Parallel.forEachChunk(n, minimumPerChunk: Elementwise.parallelThreshold) { r in
                for i in r { let dv = d[i]; q[i] = ys[i] > 0 ? dv : 0 }
            }
            self.accumulate(a, dx)
            self.accumulate(b, dx)
        }
    }
}
