// The value types of the data pipeline: raw image sets, the three splits, normalisation, batches.
import Foundation
import Tensors

/// Which dataset to load.
public enum DatasetKind: String, CaseIterable, Sendable {
    case cifar10, cifar100, synthetic
}

/// Raw records: `count` images of 3 planes (R, G, B) of 32x32 bytes, row-major, top-left first.
public struct ImageSet: Sendable {
    /// Side length of an image.
    public static let side = 32
    /// Bytes per image (3 x 32 x 32).
    public static let imageBytes = 3 * 32 * 32

    public let count: Int
    /// `count * 3072` bytes; image `i` starts at `i * 3072`.
    public let pixels: [UInt8]
    /// One label per image, in `0..<classCount`.
    public let labels: [Int32]
    public let classCount: Int

    public init(count: Int, pixels: [UInt8], labels: [Int32], classCount: Int) {
        precondition(count >= 0 && pixels.count == count * ImageSet.imageBytes && labels.count == count,
                     "ImageSet: \(pixels.count) pixel bytes and \(labels.count) labels do not make \(count) images")
        precondition(classCount > 0, "ImageSet: classCount must be positive")
        self.count = count
        self.pixels = pixels
        self.labels = labels
        self.classCount = classCount
    }

    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int]) -> ImageSet {
        var newPixels = [UInt8](repeating: 0, count: indices.count * ImageSet.imageBytes)
        var newLabels = [Int32](repeating: 0, count: indices.count)
        pixels.withUnsafeBufferPointer { source in
            newPixels.withUnsafeMutableBufferPointer { target in
                for (slot, index) in indices.enumerated() {
                    precondition(index >= 0 && index < count, "ImageSet.subset: index \(index) out of range 0..<\(count)")
                    let from = source.baseAddress! + index * ImageSet.imageBytes
                    (target.baseAddress! + slot * ImageSet.imageBytes).update(from: from, count: ImageSet.imageBytes)
                    newLabels[slot] = labels[index]
                }
            }
        }
        return ImageSet(count: indices.count, pixels: newPixels, labels: newLabels, classCount: classCount)
    }

    /// The bytes of image `index` (3 planes of 1,024).
    public func image(_ index: Int) -> ArraySlice<UInt8> {
        pixels[(index * ImageSet.imageBytes)..<((index + 1) * ImageSet.imageBytes)]
    }

    /// Number of images per class.
    public func classCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        for label in labels { counts[Int(label)] += 1 }
        return counts
    }
}

/// Per-channel mean and standard deviation of pixel values scaled to [0, 1]; a pixel byte `b` of
/// channel `c` becomes `(b / 255 - mean[c]) / std[c]`.
public struct Normalization: Sendable, Codable, Equatable {
    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float]) {
        self.mean = mean
        self.std = std
    }

    /// No normalisation beyond scaling to [0, 1].
    public static let unit = Normalization(mean: [0, 0, 0], std: [1, 1, 1])
}

/// The three parts of a dataset. The planner selects on `validation`, never on `test`.
public struct DataSplits: Sendable {
    public let train: ImageSet
    public let validation: ImageSet
    public let test: ImageSet
    public let classNames: [String]
    /// Computed from `train` (see `Normalization.compute(from:)`).
    public let normalization: Normalization

    public init(train: ImageSet, validation: ImageSet, test: ImageSet, classNames: [String], normalization: Normalization) {
        self.train = train
        self.validation = validation
        self.test = test
        self.classNames = classNames
        self.normalization = normalization
    }

    /// These splits as `config`'s network reads them: with the normalisation and class names it was
    /// brought in with (`sibyl import`), where it has them. Every place that pairs a checkpoint with data
    /// goes through this, so an imported network is never fed another normalisation than its own.
    public func using(_ config: TrainingConfig) -> DataSplits {
        DataSplits(train: train, validation: validation, test: test, classNames: config.classNames ?? classNames,
                   normalization: config.normalization ?? normalization)
    }
}

/// Memory order of a batch of images.
public enum TensorLayout: Sendable {
    /// (N, 3, 32, 32)
    case nchw
    /// (N, 32, 32, 3)
    case nhwc
}

/// A batch of normalised images and their labels.
public struct Batch: Sendable {
    /// `count * 3072` floats in the loader's layout.
    public let images: [Float]
    public let labels: [Int32]
    public let count: Int

    public init(images: [Float], labels: [Int32], count: Int) {
        self.images = images
        self.labels = labels
        self.count = count
    }

    /// Channels, height and width of one CIFAR image.
    public static let imageShape = [3, 32, 32]

    /// The images as one [count, 3, 32, 32] tensor (a loader with the `.nchw` layout).
    public var tensor: Tensor { Tensor(shape: [count] + Self.imageShape, values: images) }
}
