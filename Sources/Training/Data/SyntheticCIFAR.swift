// Learnable synthetic data in CIFAR format, for tests and smoke runs. Class `k` is a template: a base
// colour (a fixed palette for the first 10 classes, hashed colours beyond) plus a pattern (horizontal
// stripes, vertical stripes, checkerboard, diagonal stripes or a centred blob; period from the class
// number), shifted by a random phase per image, plus uniform noise of +-32. Deterministic in the seed.
// The in-memory `.synthetic` dataset is encoded as real CIFAR-100 records and parsed back, so it goes
// through the same parser as the real files.
import Foundation

/// Generator of synthetic CIFAR-format images.
public enum SyntheticCIFAR {
    /// Record counts of the `.synthetic` dataset: 2,500 training records (2,000 train + 500 validation
    /// by default) and 500 test records.
    public static let trainRecords = 2500
    public static let testRecords = 500
    public static let classCount = 10
    public static let defaultValidationCount = 500

    private static let palette: [(UInt8, UInt8, UInt8)] = [
        (200, 40, 40), (40, 160, 40), (40, 60, 200), (210, 200, 50), (180, 60, 190),
        (50, 190, 200), (230, 130, 30), (120, 120, 120), (90, 50, 20), (240, 240, 240),
    ]
    private static let patternNames = ["hstripes", "vstripes", "checker", "diagonal", "blob"]

    /// Names of the synthetic classes, e.g. "class0-hstripes".
    public static func classNames(_ count: Int) -> [String] {
        (0..<count).map { "class\($0)-\(patternNames[$0 % patternNames.count])" }
    }

    /// `count` images with labels cycling through `0..<classCount` in a shuffled order.
    public static func images(count: Int, classCount: Int, seed: UInt64) -> ImageSet {
        precondition(classCount > 0 && classCount <= 256)
        var random = DataRandom(keys: seed, 0x5917_4E71)
        var labels = [Int32](repeating: 0, count: count)
        for i in 0..<count { labels[i] = Int32(i % classCount) }
        let order = random.permutation(count)
        labels = order.map { labels[$0] }
        var pixels = [UInt8](repeating: 0, count: count * ImageSet.imageBytes)
        let side = ImageSet.side
        for i in 0..<count {
            let label = Int(labels[i])
            let colour: (UInt8, UInt8, UInt8)
            if label < palette.count {
                colour = palette[label]
            } else {
                let h = DataRandom.mix(UInt64(label) &* 0x9E37_79B9)
                colour = (UInt8(truncatingIfNeeded: 40 + (h & 0xFF) % 180), UInt8(truncatingIfNeeded: 40 + (h >> 8 & 0xFF) % 180),
                          UInt8(truncatingIfNeeded: 40 + (h >> 16 & 0xFF) % 180))
            }
            let pattern = label % patternNames.count
            let period = 4 + 2 * ((label / patternNames.count) % 4)
            let phaseY = random.next(below: period), phaseX = random.next(below: period)
            let base = i * ImageSet.imageBytes
            let rgb = [Double(colour.0), Double(colour.1), Double(colour.2)]
            for y in 0..<side {
                for x in 0..<side {
                    let on: Bool
                    switch pattern {
                    case 0: on = ((y + phaseY) / (period / 2)) % 2 == 0
                    case 1: on = ((x + phaseX) / (period / 2)) % 2 == 0
                    case 2: on = (((y + phaseY) / (period / 2)) + ((x + phaseX) / (period / 2))) % 2 == 0
                    case 3: on = ((x + y + phaseX) / (period / 2)) % 2 == 0
                    default:
                        let dy = y - 16 - (phaseY - period / 2), dx = x - 16 - (phaseX - period / 2)
                        on = dy * dy + dx * dx < 64 + 8 * period
                    }
                    let shade = on ? 1.0 : 0.45
                    for channel in 0..<3 {
                        let noise = random.next(below: 65) - 32
                        let v = Int(rgb[channel] * shade) + noise
                        pixels[base + channel * side * side + y * side + x] = UInt8(clamping: v)
                    }
                }
            }
        }
        return ImageSet(count: count, pixels: pixels, labels: labels, classCount: classCount)
    }

    /// Writes `count` learnable records in CIFAR-100 format (fine labels in `0..<classCount`, coarse
    /// label = fine / 5) to `url`.
    public static func writeCIFAR100File(to url: URL, count: Int, seed: UInt64, classCount: Int = 100) throws {
        let data = CIFARFormat.cifar100.encode(images(count: count, classCount: classCount, seed: seed))
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw DataError.ioFailed(path: url.path, detail: "cannot write the file (\(error.localizedDescription))")
        }
    }

    /// The `.synthetic` dataset: 10 classes, 2,500 training records split stratified into train and
    /// `min(validationCount, 500)` validation images, and 500 test records.
    public static func splits(validationCount: Int = defaultValidationCount, seed: UInt64 = 0x5EED) throws -> DataSplits {
        let trainBytes = CIFARFormat.cifar100.encode(images(count: trainRecords, classCount: classCount, seed: seed))
        let testBytes = CIFARFormat.cifar100.encode(images(count: testRecords, classCount: classCount, seed: seed &+ 1))
        let trainFile = try CIFARFormat.cifar100.parse(trainBytes, source: "synthetic train records", classCount: classCount)
        let test = try CIFARFormat.cifar100.parse(testBytes, source: "synthetic test records", classCount: classCount)
        let (trainIndices, validationIndices) = try Datasets.splitIndices(
            labels: trainFile.labels, classCount: classCount, validationCount: min(validationCount, defaultValidationCount))
        let train = trainFile.subset(trainIndices)
        return DataSplits(train: train, validation: trainFile.subset(validationIndices), test: test,
                          classNames: classNames(classCount), normalization: Normalization.compute(from: train))
    }
}
