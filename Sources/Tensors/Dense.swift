// Fully connected layer: y = x W^T + b with x [N, I], W [O, I] (PyTorch layout), b [O].

extension Tape {
    public func dense(_ x: Variable, weight: Variable, bias: Variable) -> Variable {
        let N = x.shape[0], I = x.shape[1], O = weight.shape[0]
        precondition(x.shape.count == 2 && weight.shape == [O, I] && bias.shape == [O], "dense: \(x.shape) \(weight.shape) \(bias.shape)")
        let y = Tensor(uninitialized: [N, O])
        multiplyAdds += N * O * I
        for n in 0..<N { (y.pointer + n * O).update(from: bias.value.pointer, count: O) }
        sgemm(transA: false, transB: true, m: N, n: O, k: I, a: x.value.pointer, lda: I,
              b: weight.value.pointer, ldb: I, beta: 1, c: y.pointer, ldc: O)
        return record(y, inputs: [x, weight, bias]) { [unowned self] dy in
            if x.requiresGrad {
                let dx = Tensor(uninitialized: [N, I])
                sgemm(transA: false, transB: false, m: N, n: I, k: O, a: dy.pointer, lda: O,
                      b: weight.value.pointer, ldb: I, beta: 0, c: dx.pointer, ldc: I)
                self.accumulate(x, dx)
            }
            if weight.requiresGrad {
                let dw = Tensor(uninitialized: [O, I])
                sgemm(transA: true, transB: false, m: O, n: I, k: N, a: dy.pointer, lda: O,
                      b: x.value.pointer, ldb: I, beta: 0, c: dw.pointer, ldc: I)
                self.accumulate(weight, dw)
            }
            if bias.requiresGrad {
                let db = Tensor(zeros: [O])
                for n in 0..<N { for o in 0..<O { db.pointer[o] += dy.pointer[n * O + o] } }
                self.accumulate(bias, db)
            }
        }
    }
}

extension Reference {
    public static func dense<T: BinaryFloatingPoint>(_ x: [T], n: Int, inputs: Int, weight: [T], bias: [T]) -> [T] {
        let O = bias.count
        var y = [T](repeating: 0, count: n * O)
        for i in 0..<n { for o in 0..<O {
            var acc = bias[o]
            for k in 0..<inputs { acc += x[i * inputs + k] * weight[o * inputs + k] }
            y[i * O + o] = acc
        } }
        return y
    }
}
