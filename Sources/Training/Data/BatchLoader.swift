// Batches for one epoch, prepared in the background. Everything random is a pure function of
// (seed, epoch): the shuffle is a Fisher-Yates permutation from DataRandom keyed by (seed, epoch), and
// each image's crop and flip come from DataRandom keyed by (seed, epoch, record index). So a run
// resumed at epoch e sees exactly the batches it would have seen, whatever happened before.
//
// Background preparation: a serial dispatch queue works two batches ahead of the consumer; `next()`
// only waits when the consumer is faster than the producer.
import Foundation

/// Iterates over one epoch of an `ImageSet` in batches. One consumer calls `next()`.
public final class BatchLoader: @unchecked Sendable {
    /// Batches prepared ahead of the consumer.
    public static let prefetchDepth = 2

    public let batchSize: Int
    public let epoch: Int
    public let seed: UInt64
    /// Record indices in the order this epoch visits them.
    public let order: [Int]

    private let recipe: Recipe
    private let pipeline: Pipeline
    private var nextIndex = 0

    /// Shuffle order is a pure function of (seed, epoch); batches are prepared in the background.
    /// `cutout`: side of the cutout square of augmented images (0: none; `ImageTransform`).
    public init(images: ImageSet, batchSize: Int, shuffle: Bool, augment: Bool, cutout: Int = 0, normalization: Normalization,
                layout: TensorLayout, seed: UInt64, epoch: Int, dropLast: Bool) {
        precondition(batchSize > 0, "BatchLoader: batch size must be positive")
        self.batchSize = batchSize
        self.epoch = epoch
        self.seed = seed
        self.order = shuffle ? BatchLoader.permutation(count: images.count, seed: seed, epoch: epoch) : Array(0..<images.count)
        let batches = dropLast ? images.count / batchSize : (images.count + batchSize - 1) / batchSize
        recipe = Recipe(images: images, order: order, batchSize: batchSize, batchCount: batches, augment: augment, cutout: cutout,
                        table: ImageTransform.LookupTable(normalization), layout: layout, seed: seed, epoch: epoch)
        pipeline = Pipeline(recipe: recipe)
        for index in 0..<min(BatchLoader.prefetchDepth, batches) { pipeline.schedule(index) }
    }

    deinit { pipeline.cancel() }

    public var batchCount: Int { recipe.batchCount }

    /// The next batch of the epoch, or nil after the last one.
    public func next() -> Batch? {
        guard nextIndex < recipe.batchCount else { return nil }
        let index = nextIndex
        nextIndex += 1
        let batch = pipeline.take(index)
        let ahead = index + BatchLoader.prefetchDepth
        if ahead < recipe.batchCount { pipeline.schedule(ahead) }
        return batch
    }

    /// Batch `index` of this epoch, prepared synchronously on the calling thread (what `next()` returns
    /// as its `index`-th batch).
    public func batch(at index: Int) -> Batch {
        precondition(index >= 0 && index < recipe.batchCount, "BatchLoader: batch \(index) out of range")
        return recipe.make(index)
    }

    /// The crop/flip (and cutout) applied to record `index` this epoch (identity when not augmenting).
    public func augmentation(forRecord index: Int) -> AugmentationParameters {
        recipe.parameters(forRecord: index)
    }

    /// The visiting order of `count` records in `epoch` of a run with `seed`.
    public static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var random = DataRandom(keys: seed, 0x5_4FF1E, UInt64(truncatingIfNeeded: epoch))
        return random.permutation(count)
    }

    /// Everything needed to build any batch of the epoch; immutable, so safe to share with the producer.
    struct Recipe: Sendable {
        let images: ImageSet
        let order: [Int]
        let batchSize: Int
        let batchCount: Int
        let augment: Bool
        let cutout: Int
        let table: ImageTransform.LookupTable
        let layout: TensorLayout
        let seed: UInt64
        let epoch: Int

        func parameters(forRecord index: Int) -> AugmentationParameters {
            augment ? AugmentationParameters.sample(seed: seed, epoch: epoch, index: index, cutout: cutout) : .identity
        }

        func make(_ batchIndex: Int) -> Batch {
            let start = batchIndex * batchSize
            let count = min(batchSize, order.count - start)
            var pixels = [Float](repeating: 0, count: count * ImageSet.imageBytes)
            var labels = [Int32](repeating: 0, count: count)
            images.pixels.withUnsafeBufferPointer { source in
                pixels.withUnsafeMutableBufferPointer { target in
                    for slot in 0..<count {
                        let record = order[start + slot]
                        labels[slot] = images.labels[record]
                        let image = source.baseAddress! + record * ImageSet.imageBytes
                        let output = target.baseAddress! + slot * ImageSet.imageBytes
                        let parameters = parameters(forRecord: record)
                        table.apply(image, parameters: parameters, layout: layout, into: output)
                    }
                }
            }
            return Batch(images: pixels, labels: labels, count: count)
        }
    }

    /// The producer: a serial queue filling slots that the consumer takes in order.
    final class Pipeline: @unchecked Sendable {
        private let recipe: Recipe
        private let queue = DispatchQueue(label: "sibyl.batchloader", qos: .userInitiated)
        private let condition = NSCondition()
        private var ready: [Int: Batch] = [:]
        private var cancelled = false

        init(recipe: Recipe) { self.recipe = recipe }

        func schedule(_ index: Int) {
            queue.async { [self] in
                condition.lock()
                let skip = cancelled
                condition.unlock()
                if skip { return }
                let batch = recipe.make(index)
                condition.lock()
                ready[index] = batch
                condition.broadcast()
                condition.unlock()
            }
        }

        func take(_ index: Int) -> Batch {
            condition.lock()
            defer { condition.unlock() }
            while ready[index] == nil { condition.wait() }
            return ready.removeValue(forKey: index)!
        }

        func cancel() {
            condition.lock()
            cancelled = true
            ready.removeAll()
            condition.unlock()
        }
    }
}
