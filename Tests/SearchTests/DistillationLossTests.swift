import Foundation
import Search
import TestSupport
import XCTest

final class DistillationLossTests: XCTestCase {
    func testMatchesReferenceAndFiniteDifferences() {
        let seed: UInt64 = 11
        var random = SplitMix64(seed: seed)
        func next() -> Double { Double(random.next() >> 11) / Double(1 << 53) * 4 - 2 }
        let N = 3, K = 5
        let z = (0..<(N * K)).map { _ in next() }, t = (0..<(N * K)).map { _ in next() }
        let labels: [Int32] = [0, 3, 4]
        for (w, T) in [(0.0, 1.0), (0.5, 4.0), (1.0, 2.0)] {
            let (loss, gradient) = DistillationReference.tapeLossAndGradient(
                logits: z.map(Float.init), labels: labels, teacherLogits: t.map(Float.init), classes: K,
                weight: Float(w), temperature: Float(T))
            let reference = DistillationReference.loss(logits: z, labels: labels, teacherLogits: t, classes: K, weight: w, temperature: T)
            XCTAssertEqual(Double(loss), reference, accuracy: 1e-4, "seed \(seed) w \(w) T \(T)")
            for i in 0..<(N * K) {
                var up = z, down = z
                up[i] += 1e-5; down[i] -= 1e-5
                let numeric = (DistillationReference.loss(logits: up, labels: labels, teacherLogits: t, classes: K, weight: w, temperature: T)
                    - DistillationReference.loss(logits: down, labels: labels, teacherLogits: t, classes: K, weight: w, temperature: T)) / 2e-5
                XCTAssertEqual(Double(gradient[i]), numeric, accuracy: 1e-4, "seed \(seed) w \(w) T \(T) element \(i)")
            }
        }
    }
}
