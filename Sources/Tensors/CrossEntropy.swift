// Softmax cross-entropy with label smoothing (Szegedy et al., CVPR 2016), mean over the batch:
// target = (1 - eps) * onehot + eps / K; loss = -sum_k target_k * log softmax(z)_k.
import Foundation

extension Tape {
    /// logits [N, K], labels N class indices -> scalar loss [1].
    public func softmaxCrossEntropy(_ logits: Variable, labels: [Int32], labelSmoothing eps: Float = 0) -> Variable {
        let N = logits.shape[0], K = logits.shape[1]
        precondition(labels.count == N, "softmaxCrossEntropy: \(labels.count) labels for \(N) rows")
        let z = logits.value.pointer
        let probs = Tensor(uninitialized: [N, K])
        let pp = probs.pointer
        var total: Double = 0
        for n in 0..<N {
            let row = z + n * K, p = pp + n * K
            let (m, logS) = softmaxRow(row, count: K, into: p)
            var rowLoss: Float = 0
            let label = Int(labels[n])
            precondition(label >= 0 && label < K, "label \(label) outside 0..<\(K)")
            for k in 0..<K {
                let logp = row[k] - m - logS
                let t = (k == label ? 1 - eps : 0) + eps / Float(K)
                rowLoss -= t * logp
            }
            total += Double(rowLoss)
        }
        let loss = Tensor(shape: [1], values: [Float(total / Double(N))])
        return record(loss, inputs: [logits]) { [unowned self, probs] dy in
            withExtendedLifetime(probs) {}  // pp points into probs
            let scale = dy.pointer[0] / Float(N)
            let dz = Tensor(uninitialized: [N, K])
            for n in 0..<N {
                let label = Int(labels[n])
                for k in 0..<K {
                    let t = (k == label ? 1 - eps : 0) + eps / Float(K)
                    dz.pointer[n * K + k] = (pp[n * K + k] - t) * scale
                }
            }
            self.accumulate(logits, dz)
        }
    }
}

extension Reference {
    public static func softmaxCrossEntropy<T: BinaryFloatingPoint>(_ z: [T], n: Int, classes K: Int, labels: [Int32],
                                                                  labelSmoothing eps: T) -> T {
        var total: T = 0
        for i in 0..<n {
            let row = Array(z[(i * K)..<((i + 1) * K)])
            let m = row.max()!
            let s = row.reduce(T(0)) { $0 + T(exp(Double($1 - m))) }
            let logS = T(log(Double(s)))
            for k in 0..<K {
                let t = (k == Int(labels[i]) ? 1 - eps : 0) + eps / T(K)
                total -= t * (row[k] - m - logS)
            }
        }
        return total / T(n)
    }
}

/// Number of rows whose largest logit is at the label.
public func correctCount(logits: Tensor, labels: [Int32]) -> Int {
    let N = logits.shape[0], K = logits.shape[1]
    var correct = 0
    for n in 0..<N {
        let row = logits.pointer + n * K
        var best = 0, finite = row[0].isFinite
        for k in 1..<K {
            finite = finite && row[k].isFinite
            if row[k] > row[best] { best = k }
        }
        // A row with an infinite or NaN logit (an overflowing polynomial network) counts as wrong.
        if finite && best == Int(labels[n]) { correct += 1 }
    }
    return correct
}

/// Softmax cross-entropy of row `n` of logits [N, K] against `label`, in Float64 (no tape); nil when the
/// row holds an infinite or NaN logit.
public func rowCrossEntropy(logits: Tensor, row n: Int, label: Int32) -> Double? {
    let K = logits.shape[1]
    let row = UnsafeBufferPointer(start: logits.pointer + n * K, count: K)
    guard row.allSatisfy(\.isFinite) else { return nil }
    let m = row.max()!
    var sum = 0.0
    for v in row { sum += exp(Double(v - m)) }
    return log(sum) - Double(row[Int(label)] - m)
}

/// The engine's one log-softmax kernel (cross-entropy, distillation): softmax(scale x row) is written to
/// `probabilities`; returns m = max(scale x row) and log s, s = sum exp(scale x row - m), so that
/// log softmax_k = scale x row[k] - m - log s.
public func softmaxRow(_ row: UnsafePointer<Float>, count K: Int, scale: Float = 1,
                       into probabilities: UnsafeMutablePointer<Float>) -> (max: Float, logSum: Float) {
    var m = row[0] * scale
    for k in 1..<K { m = max(m, row[k] * scale) }
    var s: Float = 0
    for k in 0..<K { let e = expf(row[k] * scale - m); probabilities[k] = e; s += e }
    let inverse = 1 / s
    for k in 0..<K { probabilities[k] *= inverse }
    return (m, logf(s))
}
