// Timing of batch preparation and dataset loading. Prints figures only when SIBYL_BENCH=1 (no timing
// assertions); results are recorded in Experiments/data/README.md.
import Foundation
import PlanStore
import Training
import XCTest

final class DataBenchmarkTests: XCTestCase {
    private func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    func testBenchmarkBatchPreparation() throws {
        guard ProcessInfo.processInfo.environment["SIBYL_BENCH"] == "1" else { throw XCTSkip("set SIBYL_BENCH=1 to run") }
        let images = dataRandomImages(count: 2048, classCount: 100, seed: 1)
        let normalization = Normalization.cifar100Reference
        for layout in [TensorLayout.nchw, .nhwc] {
            let loader = BatchLoader(images: images, batchSize: 128, shuffle: true, augment: true, normalization: normalization,
                                     layout: layout, seed: 1, epoch: 0, dropLast: true)
            var best = Double.infinity
            for round in 0..<5 {
                for index in 0..<loader.batchCount {
                    best = min(best, seconds { _ = loader.batch(at: (index + round) % loader.batchCount) })
                }
            }
            var reference = Double.infinity
            for index in 0..<3 {
                reference = min(reference, seconds {
                    for slot in 0..<128 {
                        let record = loader.order[index * 128 + slot]
                        _ = ImageTransform.transformReference(images.image(record), parameters: loader.augmentation(forRecord: record),
                                                              normalization: normalization, layout: layout)
                    }
                })
            }
            print(String(format: "bench data: batch of 128 (%@, crop+flip+normalise): fast %.3f ms (best of %d), reference %.3f ms",
                         "\(layout)", best * 1e3, 5 * loader.batchCount, reference * 1e3))
        }
        // Consumer-side wait when the consumer is slow (the producer keeps up): time spent in next().
        let loader = BatchLoader(images: images, batchSize: 128, shuffle: true, augment: true, normalization: normalization,
                                 layout: .nchw, seed: 1, epoch: 1, dropLast: true)
        var waits: [Double] = []
        while true {
            var batch: Batch?
            waits.append(seconds { batch = loader.next() })
            if batch == nil { break }
            Thread.sleep(forTimeInterval: 0.02)   // a training step
        }
        waits.removeLast()
        print(String(format: "bench data: next() wait with a 20 ms consumer: median %.4f ms, max %.4f ms over %d batches",
                     waits.sorted()[waits.count / 2] * 1e3, waits.max()! * 1e3, waits.count))
    }

    func testBenchmarkLoadingAndHashing() throws {
        guard ProcessInfo.processInfo.environment["SIBYL_BENCH"] == "1" else { throw XCTSkip("set SIBYL_BENCH=1 to run") }
        let data = Data(repeating: 0x5A, count: 64 << 20)
        var best = Double.infinity
        for _ in 0..<3 { best = min(best, seconds { _ = SHA256.hex(of: data) }) }
        print(String(format: "bench data: SHA-256 %.0f MB/s", 64 * 1.048576 / best))
        let repoData = dataRepositoryRoot().appendingPathComponent("Datasets")
        guard FileManager.default.fileExists(atPath: repoData.appendingPathComponent("cifar-100-binary/train.bin").path) else { return }
        var splits: DataSplits?
        let load = seconds { splits = try? Datasets.load(.cifar100, directory: repoData) }
        print(String(format: "bench data: Datasets.load(.cifar100) with a valid stamp: %.2f s (train %d)", load, splits?.train.count ?? -1))
        if let n = splits?.normalization { print("bench data: normalisation of the 45,000-image train split: mean \(n.mean) std \(n.std)") }
    }
}
