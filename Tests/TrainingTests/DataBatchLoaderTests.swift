// BatchLoader and ImageTransform: determinism per (seed, epoch), crop and flip on a known image, the
// fast transform against the reference, normalisation, layouts, batch counts, background delivery.
import Foundation
import Training
import XCTest

final class DataBatchLoaderTests: XCTestCase {
    /// R = row + 1, G = column + 1, B = 200 (so padding, which is 0, is distinguishable).
    private func coordinateImage() -> ImageSet {
        var pixels = [UInt8](repeating: 200, count: 3072)
        for y in 0..<32 {
            for x in 0..<32 {
                pixels[y * 32 + x] = UInt8(y + 1)
                pixels[1024 + y * 32 + x] = UInt8(x + 1)
            }
        }
        return ImageSet(count: 1, pixels: pixels, labels: [3], classCount: 10)
    }

    func testCropAndFlipOnAKnownImage() {
        let image = coordinateImage().image(0)
        func value(_ output: [Float], _ channel: Int, _ y: Int, _ x: Int) -> Int { Int((output[channel * 1024 + y * 32 + x] * 255).rounded()) }

        let identity = ImageTransform.transform(image, parameters: .identity, normalization: .unit, layout: .nchw)
        XCTAssertEqual(value(identity, 0, 10, 3), 11)
        XCTAssertEqual(value(identity, 1, 10, 3), 4)

        // Window at the top-right corner of the padded image: 4 rows of padding on top, 4 columns on the right.
        let shifted = ImageTransform.transform(image, parameters: AugmentationParameters(offsetY: 0, offsetX: 8, flip: false),
                                               normalization: .unit, layout: .nchw)
        for x in 0..<32 { XCTAssertEqual(value(shifted, 0, 3, x), 0, "padding row"); XCTAssertEqual(value(shifted, 2, 2, x), 0) }
        for y in 0..<32 { XCTAssertEqual(value(shifted, 1, y, 28), 0, "padding column") }
        XCTAssertEqual(value(shifted, 0, 4, 0), 1)     // source row 0
        XCTAssertEqual(value(shifted, 1, 4, 0), 5)     // source column 4
        XCTAssertEqual(value(shifted, 1, 10, 27), 32)  // source column 31
        XCTAssertEqual(value(shifted, 2, 10, 27), 200)

        // Mirror only: column x shows source column 31 - x.
        let flipped = ImageTransform.transform(image, parameters: AugmentationParameters(offsetY: 4, offsetX: 4, flip: true),
                                               normalization: .unit, layout: .nchw)
        for x in 0..<32 { XCTAssertEqual(value(flipped, 1, 7, x), 32 - x); XCTAssertEqual(value(flipped, 0, 7, x), 8) }

        // Crop then flip: offsetX 0 shifts right by 4 (padding on the left), the flip moves the padding right.
        let both = ImageTransform.transform(image, parameters: AugmentationParameters(offsetY: 8, offsetX: 0, flip: true),
                                            normalization: .unit, layout: .nchw)
        for x in 28..<32 { XCTAssertEqual(value(both, 1, 0, x), 0) }
        XCTAssertEqual(value(both, 1, 0, 0), 28)       // crop column 31 = source column 27
        XCTAssertEqual(value(both, 0, 0, 0), 5)        // row 0 of the crop = source row 4
        for x in 0..<32 { XCTAssertEqual(value(both, 0, 31, x), 0, "bottom padding rows") }
    }

    func testFastTransformEqualsReferenceForEveryParameter() {
        let seed: UInt64 = 777
        let images = dataRandomImages(count: 3, classCount: 10, seed: seed)
        let normalization = Normalization(mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26])
        for index in 0..<3 {
            for offsetY in 0...8 {
                for offsetX in 0...8 {
                    for flip in [false, true] {
                        let p = AugmentationParameters(offsetY: offsetY, offsetX: offsetX, flip: flip)
                        for layout in [TensorLayout.nchw, .nhwc] {
                            let fast = ImageTransform.transform(images.image(index), parameters: p, normalization: normalization, layout: layout)
                            let slow = ImageTransform.transformReference(images.image(index), parameters: p, normalization: normalization, layout: layout)
                            if fast != slow { return XCTFail("mismatch at \(p) \(layout) image \(index), seed \(seed)") }
                        }
                    }
                }
            }
        }
    }

    /// Cutout: the fast transform equals the reference for squares inside, across and at the corners of the
    /// image; the square (clipped) is exactly the pixels set to 0, the others are the crop's; and runs without
    /// cutout sample the crops and flips they always did.
    func testCutoutEqualsReferenceAndZeroesItsSquare() {
        let images = dataRandomImages(count: 2, classCount: 10, seed: 31)
        let normalization = Normalization(mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26])
        for (size, y, x) in [(8, 16, 16), (8, 0, 0), (8, 31, 31), (1, 5, 7), (9, 3, 30), (16, 31, 0), (32, 16, 16), (31, 0, 31)] {
            for flip in [false, true] {
                let p = AugmentationParameters(offsetY: 2, offsetX: 7, flip: flip, cutoutSize: size, cutoutY: y, cutoutX: x)
                let plain = AugmentationParameters(offsetY: 2, offsetX: 7, flip: flip)
                for layout in [TensorLayout.nchw, .nhwc] {
                    let fast = ImageTransform.transform(images.image(1), parameters: p, normalization: normalization, layout: layout)
                    let slow = ImageTransform.transformReference(images.image(1), parameters: p, normalization: normalization, layout: layout)
                    XCTAssertEqual(fast, slow, "size \(size) at (\(y), \(x)), flip \(flip), \(layout)")
                    let uncut = ImageTransform.transform(images.image(1), parameters: plain, normalization: normalization, layout: layout)
                    var zeroed = 0
                    for channel in 0..<3 {
                        for row in 0..<32 {
                            for column in 0..<32 {
                                let i = layout == .nchw ? channel * 1024 + row * 32 + column : (row * 32 + column) * 3 + channel
                                let inside = (y - size / 2..<y - size / 2 + size).contains(row) && (x - size / 2..<x - size / 2 + size).contains(column)
                                if inside { zeroed += 1; XCTAssertEqual(fast[i], 0) } else { XCTAssertEqual(fast[i], uncut[i]) }
                            }
                        }
                    }
                    let rows = min(32, y - size / 2 + size) - max(0, y - size / 2), columns = min(32, x - size / 2 + size) - max(0, x - size / 2)
                    XCTAssertEqual(zeroed, 3 * rows * columns, "size \(size) at (\(y), \(x))")
                }
            }
        }
        for index in 0..<50 {
            let old = AugmentationParameters.sample(seed: 9, epoch: 3, index: index)
            let cut = AugmentationParameters.sample(seed: 9, epoch: 3, index: index, cutout: 8)
            XCTAssertEqual(old, AugmentationParameters.sample(seed: 9, epoch: 3, index: index, cutout: 0))
            XCTAssertEqual([cut.offsetY, cut.offsetX], [old.offsetY, old.offsetX])
            XCTAssertEqual(cut.flip, old.flip)
            XCTAssertEqual(cut.cutoutSize, 8)
        }
    }

    func testNormalizationAndLayouts() {
        let images = dataRandomImages(count: 10, classCount: 10, seed: 5)
        let normalization = Normalization(mean: [0.5, 0.25, 0.75], std: [0.5, 0.2, 0.1])
        let nchw = BatchLoader(images: images, batchSize: 4, shuffle: false, augment: false, normalization: normalization,
                               layout: .nchw, seed: 1, epoch: 0, dropLast: false)
        let nhwc = BatchLoader(images: images, batchSize: 4, shuffle: false, augment: false, normalization: normalization,
                               layout: .nhwc, seed: 1, epoch: 0, dropLast: false)
        XCTAssertEqual(nchw.batchCount, 3)
        var seen = 0
        while let a = nchw.next(), let b = nhwc.next() {
            XCTAssertEqual(a.labels, Array(images.labels[seen..<(seen + a.count)]))
            for i in 0..<a.count {
                for c in 0..<3 {
                    for y in 0..<32 {
                        for x in 0..<32 {
                            let byte = Float(images.pixels[(seen + i) * 3072 + c * 1024 + y * 32 + x])
                            let expected = (byte / 255 - normalization.mean[c]) / normalization.std[c]
                            XCTAssertEqual(a.images[i * 3072 + c * 1024 + y * 32 + x], expected, accuracy: 1e-5)
                            XCTAssertEqual(b.images[i * 3072 + (y * 32 + x) * 3 + c], a.images[i * 3072 + c * 1024 + y * 32 + x])
                        }
                    }
                }
            }
            seen += a.count
        }
        XCTAssertEqual(seen, 10, "last partial batch of 2 included")
        XCTAssertNil(nchw.next())
        let dropping = BatchLoader(images: images, batchSize: 4, shuffle: true, augment: true, normalization: normalization,
                                   layout: .nchw, seed: 1, epoch: 0, dropLast: true)
        XCTAssertEqual(dropping.batchCount, 2)
        XCTAssertEqual(dropping.next()?.count, 4)
        XCTAssertEqual(dropping.next()?.count, 4)
        XCTAssertNil(dropping.next())
    }

    private func allBatches(_ images: ImageSet, seed: UInt64, epoch: Int, layout: TensorLayout = .nchw) -> [Batch] {
        let loader = BatchLoader(images: images, batchSize: 16, shuffle: true, augment: true, normalization: .unit,
                                 layout: layout, seed: seed, epoch: epoch, dropLast: false)
        var batches: [Batch] = []
        while let batch = loader.next() { batches.append(batch) }
        return batches
    }

    func testDeterministicPerSeedAndEpoch() {
        let images = dataRandomImages(count: 100, classCount: 10, seed: 11)
        let a = allBatches(images, seed: 9, epoch: 3)
        // A fresh loader for the same (seed, epoch), e.g. after a resume, even with other epochs in between.
        _ = allBatches(images, seed: 9, epoch: 2)
        let b = allBatches(images, seed: 9, epoch: 3)
        XCTAssertEqual(a.count, 7)
        XCTAssertEqual(a.map(\.images), b.map(\.images))
        XCTAssertEqual(a.map(\.labels), b.map(\.labels))
        let otherEpoch = allBatches(images, seed: 9, epoch: 4)
        let otherSeed = allBatches(images, seed: 10, epoch: 3)
        XCTAssertNotEqual(a.map(\.labels), otherEpoch.map(\.labels))
        XCTAssertNotEqual(a.map(\.images), otherSeed.map(\.images))
        // Every record appears exactly once per epoch.
        XCTAssertEqual(BatchLoader.permutation(count: 100, seed: 9, epoch: 3).sorted(), Array(0..<100))
        // The same published order, with a fixed value so a change of algorithm cannot pass unnoticed.
        XCTAssertEqual(Array(BatchLoader.permutation(count: 10, seed: 0, epoch: 0)),
                       Array(BatchLoader.permutation(count: 10, seed: 0, epoch: 0)))
    }

    func testBackgroundBatchesEqualSynchronousOnesAndTheReference() {
        let images = dataRandomImages(count: 50, classCount: 10, seed: 21)
        let normalization = Normalization(mean: [0.4, 0.5, 0.6], std: [0.3, 0.2, 0.25])
        let loader = BatchLoader(images: images, batchSize: 8, shuffle: true, augment: true, normalization: normalization,
                                 layout: .nhwc, seed: 77, epoch: 5, dropLast: false)
        var index = 0
        while let batch = loader.next() {
            let direct = loader.batch(at: index)
            XCTAssertEqual(batch.images, direct.images)
            XCTAssertEqual(batch.labels, direct.labels)
            for slot in 0..<batch.count {
                let record = loader.order[index * 8 + slot]
                XCTAssertEqual(batch.labels[slot], images.labels[record])
                let parameters = loader.augmentation(forRecord: record)
                XCTAssertEqual(parameters, AugmentationParameters.sample(seed: 77, epoch: 5, index: record))
                let expected = ImageTransform.transformReference(images.image(record), parameters: parameters,
                                                                 normalization: normalization, layout: .nhwc)
                XCTAssertEqual(Array(batch.images[(slot * 3072)..<((slot + 1) * 3072)]), expected)
            }
            index += 1
        }
        XCTAssertEqual(index, 7)
    }

    func testAugmentationCoversAllOffsetsAndBothFlips() {
        var offsets = Set<Int>(), flips = 0
        for index in 0..<2000 {
            let p = AugmentationParameters.sample(seed: 3, epoch: 1, index: index)
            offsets.insert(p.offsetY * 9 + p.offsetX)
            if p.flip { flips += 1 }
        }
        XCTAssertEqual(offsets.count, 81)
        XCTAssertTrue((850...1150).contains(flips), "flips \(flips) of 2000")
    }

    func testAbandonedLoaderDoesNotHang() {
        let images = dataRandomImages(count: 64, classCount: 10, seed: 2)
        for _ in 0..<20 {
            let loader = BatchLoader(images: images, batchSize: 8, shuffle: true, augment: true, normalization: .unit,
                                     layout: .nchw, seed: 1, epoch: 0, dropLast: false)
            _ = loader.next()
        }
    }
}
