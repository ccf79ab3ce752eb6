import Foundation
import Search
import XCTest

final class DistillationLossTests: XCTestCase {
    func testMatchesReferenceAndFiniteDifferences() {
        let seed: UInt64 = 11
        var state = seed
        func next() -> Double { // SplitMix-style scalar stream, enough for test data
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53) * 4 - 2
        }
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
