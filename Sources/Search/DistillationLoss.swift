// Knowledge distillation (Hinton, Vinyals, Dean, "Distilling the Knowledge in a Neural Network", 2015):
// the student learns the labels and the teacher's softened predictions,
//   loss = (1 - w) * CE(softmax(z), y) + w * T^2 * KL(softmax(t / T) || softmax(z / T)),  mean over the batch,
//   d loss / d z = (1 - w) * (softmax(z) - onehot(y)) / N + w * T * (softmax(z / T) - softmax(t / T)) / N.
// Here the teacher is the all-ReLU baseline and the student a hybrid member.
import Foundation
import Tensors

extension Tape {
    /// Scalar loss [1] for student logits [N, K], labels and the teacher's logits [N, K].
    public func distillationLoss(_ logits: Variable, labels: [Int32], teacherLogits: Tensor, weight w: Float,
                                 temperature T: Float) -> Variable {
        let N = logits.shape[0], K = logits.shape[1]
        precondition(labels.count == N && teacherLogits.shape == logits.shape, "distillationLoss: shapes differ")
        precondition(T > 0 && (0...1).contains(w), "distillationLoss: temperature > 0 and weight in [0, 1]")
        let z = logits.value.pointer, t = teacherLogits.pointer
        let hard = Tensor(uninitialized: [N, K]), soft = Tensor(uninitialized: [N, K]), target = Tensor(uninitialized: [N, K])
        var total: Double = 0
        let inverseT = 1 / T
        for n in 0..<N {
            let zr = z + n * K, tr = t + n * K
            let hardSum = softmaxRow(zr, count: K, into: hard.pointer + n * K)
            let softSum = softmaxRow(zr, count: K, scale: inverseT, into: soft.pointer + n * K)
            let teacherSum = softmaxRow(tr, count: K, scale: inverseT, into: target.pointer + n * K)
            let label = Int(labels[n])
            precondition(label >= 0 && label < K, "label \(label) outside 0..<\(K)")
            var kl: Float = 0
            for k in 0..<K {
                let pt = target.pointer[n * K + k]
                let logTeacher = tr[k] * inverseT - teacherSum.max - teacherSum.logSum
                let logSoft = zr[k] * inverseT - softSum.max - softSum.logSum
                if pt > 0 { kl += pt * (logTeacher - logSoft) }
            }
            let logHard = zr[label] - hardSum.max - hardSum.logSum
            total += Double((1 - w) * -logHard + w * T * T * kl)
        }
        let loss = Tensor(shape: [1], values: [Float(total / Double(N))])
        return record(loss, inputs: [logits]) { [unowned self] dy in
            let scale = dy.pointer[0] / Float(N)
            let dz = Tensor(uninitialized: [N, K])
            for n in 0..<N {
                let label = Int(labels[n])
                for k in 0..<K {
                    let i = n * K + k
                    let hardPart = hard.pointer[i] - (k == label ? 1 : 0)
                    let softPart = soft.pointer[i] - target.pointer[i]
                    dz.pointer[i] = ((1 - w) * hardPart + w * T * softPart) * scale
                }
            }
            self.accumulate(logits, dz)
        }
    }
}

/// The slow, obvious form of the distillation loss in Double (for tests).
public enum DistillationReference {
    public static func loss(logits: [Double], labels: [Int32], teacherLogits: [Double], classes K: Int,
                            weight w: Double, temperature T: Double) -> Double {
        let N = labels.count
        func logSoftmax(_ row: ArraySlice<Double>, _ scale: Double) -> [Double] {
            let scaled = row.map { $0 * scale }
            let m = scaled.max()!
            let logS = log(scaled.reduce(0) { $0 + exp($1 - m) })
            return scaled.map { $0 - m - logS }
        }
        var total = 0.0
        for n in 0..<N {
            let z = logits[(n * K)..<((n + 1) * K)], t = teacherLogits[(n * K)..<((n + 1) * K)]
            let hard = logSoftmax(z, 1), student = logSoftmax(z, 1 / T), teacher = logSoftmax(t, 1 / T)
            var kl = 0.0
            for k in 0..<K { kl += exp(teacher[k]) * (teacher[k] - student[k]) }
            total += (1 - w) * -hard[Int(labels[n])] + w * T * T * kl
        }
        return total / Double(N)
    }
}

extension DistillationReference {
    /// The fast (tape) loss and its gradient with respect to the logits, on plain arrays.
    public static func tapeLossAndGradient(logits: [Float], labels: [Int32], teacherLogits: [Float], classes K: Int,
                                           weight: Float, temperature: Float) -> (loss: Float, gradient: [Float]) {
        let N = labels.count
        let tape = Tape()
        let z = tape.input(Tensor(shape: [N, K], values: logits))
        let loss = tape.distillationLoss(z, labels: labels, teacherLogits: Tensor(shape: [N, K], values: teacherLogits),
                                         weight: weight, temperature: temperature)
        tape.backward(from: loss, keeping: [z])
        return (loss.value[flat: 0], z.grad?.array ?? [])
    }
}
