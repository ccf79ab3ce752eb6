// The data side of resuming from a checkpoint: what a run stores about its data (seed, completed epoch,
// normalisation, split seed) survives an HDF5 round trip, and a loader rebuilt from it yields exactly
// the batches the interrupted run would have seen next.
import Foundation
import PlanStore
import Training
import XCTest
import TestSupport

final class CheckpointDataResumeTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory("ckpt-data") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func epochBatches(_ images: ImageSet, normalization: Normalization, seed: UInt64, epoch: Int) -> [Batch] {
        let loader = BatchLoader(images: images, batchSize: 32, shuffle: true, augment: true, normalization: normalization,
                                 layout: .nchw, seed: seed, epoch: epoch, dropLast: true)
        var batches: [Batch] = []
        while let batch = loader.next() { batches.append(batch) }
        return batches
    }

    func testResumedRunSeesTheBatchesItWouldHaveSeen() throws {
        let splits = try Datasets.load(.synthetic, directory: directory)
        let seed: UInt64 = 0xC0FFEE
        // The uninterrupted run: epochs 1, 2, 3.
        let uninterrupted = (1...3).map { epochBatches(splits.train, normalization: splits.normalization, seed: seed, epoch: $0) }

        // The interrupted run finishes epoch 1, checkpoints, and is killed.
        _ = epochBatches(splits.train, normalization: splits.normalization, seed: seed, epoch: 1)
        let normalizationJSON = String(decoding: try JSONEncoder().encode(splits.normalization), as: UTF8.self)
        let url = directory.appendingPathComponent("checkpoint.h5")
        try CheckpointIO.write(CheckpointContents(integers: ["epoch": 1, "data/seed": Int64(bitPattern: seed)],
                                                  strings: ["data/normalization": normalizationJSON],
                                                  words: ["data/split_seed": [Datasets.splitSeed]]), to: url)

        // A new process reads it back and continues with epochs 2 and 3.
        let contents = try CheckpointIO.read(from: url)
        let resumedSeed = UInt64(bitPattern: try XCTUnwrap(contents.integers["data/seed"]))
        let completed = Int(try XCTUnwrap(contents.integers["epoch"]))
        let normalization = try JSONDecoder().decode(Normalization.self,
                                                     from: Data(try XCTUnwrap(contents.strings["data/normalization"]).utf8))
        XCTAssertEqual(normalization, splits.normalization)
        XCTAssertEqual(contents.words["data/split_seed"], [Datasets.splitSeed])
        let reloaded = try Datasets.load(.synthetic, directory: directory)
        for epoch in (completed + 1)...3 {
            let resumed = epochBatches(reloaded.train, normalization: normalization, seed: resumedSeed, epoch: epoch)
            XCTAssertEqual(resumed.map(\.labels), uninterrupted[epoch - 1].map(\.labels), "epoch \(epoch)")
            XCTAssertEqual(resumed.map(\.images), uninterrupted[epoch - 1].map(\.images), "epoch \(epoch)")
        }
    }

    func testCheckpointOfModelSizedArraysRoundTrips() throws {
        // About the size of ResNet-32's parameters plus momentum (2 x 0.47 M floats), in a few hundred arrays.
        var random = DataRandom(seed: 32)
        var contents = CheckpointContents(integers: ["epoch": 60], strings: ["config": #"{"model":"resnet32"}"#])
        for layer in 0..<100 {
            let shape = layer % 3 == 0 ? [16, 16, 3, 3] : (layer % 3 == 1 ? [32, 32, 3, 3] : [64])
            let values = (0..<shape.reduce(1, *)).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: random.next()) & 0x3FFF_FFFF) }
            contents.arrays["weights/layer\(layer).weight"] = StoredArray(shape: shape, values: values)
            contents.arrays["optimizer/velocity/layer\(layer).weight"] = StoredArray(shape: shape, values: values.map { -$0 })
        }
        contents.words["rng"] = (0..<4).map { _ in random.next() }
        let url = directory.appendingPathComponent("big.h5")
        try CheckpointIO.write(contents, to: url)
        let read = try CheckpointIO.read(from: url)
        XCTAssertEqual(read, contents, "bit-exact floats, seed 32")
    }

    /// A slot's polynomial degree (its coefficient shape), per-channel coefficients and input ranges survive
    /// a checkpoint for every degree 1...6.
    func testPolynomialDegreesRoundTripThroughCheckpoints() throws {
        for degree in 1...6 {
            var rng = RandomGenerator(seed: UInt64(degree))
            let network = makeNetwork(.tiny, classes: 10, rng: &rng)
            let slot = network.slots[0]
            slot.setPolynomial(coefficients: (0...degree).map { Float($0) * 0.1 + 0.05 }, perChannel: true)
            slot.setInputBounds((0..<slot.channels).map { Float($0) + 1.5 })
            var contents = CheckpointContents()
            TrainingCheckpoint.encode(network, into: &contents)
            let url = directory.appendingPathComponent("degree\(degree).h5")
            try CheckpointIO.write(contents, to: url)
            var other = RandomGenerator(seed: 99)
            let restored = makeNetwork(.tiny, classes: 10, rng: &other)
            try TrainingCheckpoint.restore(restored, from: try CheckpointIO.read(from: url), path: url.path)
            let copy = restored.slots[0]
            XCTAssertEqual(copy.mode, .polynomial, "degree \(degree)")
            XCTAssertEqual(copy.coefficients?.shape, [slot.channels, degree + 1], "degree \(degree)")
            XCTAssertEqual(copy.coefficients?.value.array, slot.coefficients?.value.array, "degree \(degree)")
            XCTAssertEqual(copy.inputBounds?.array, slot.inputBounds?.array, "degree \(degree)")
        }
        // A slot split by channel, its channels blending at their own pace.
        var rng = RandomGenerator(seed: 8)
        let network = makeNetwork(.tiny, classes: 10, rng: &rng)
        let slot = network.slots[0]
        slot.setPolynomial(coefficients: [0.1, 0.5, 0.2], perChannel: true)
        slot.setPolynomialChannels((0..<slot.channels).map { $0 % 3 == 0 })
        slot.setChannelAlphas((0..<slot.channels).map { Float($0) / Float(slot.channels) })
        var contents = CheckpointContents()
        TrainingCheckpoint.encode(network, into: &contents)
        var other = RandomGenerator(seed: 9)
        let restored = makeNetwork(.tiny, classes: 10, rng: &other)
        try TrainingCheckpoint.restore(restored, from: contents, path: "memory")
        XCTAssertEqual(restored.slots[0].polynomialChannels, slot.polynomialChannels)
        XCTAssertEqual(restored.slots[0].channelAlphas, slot.channelAlphas)
        XCTAssertEqual(restored.slots[0].polynomialChannelIndices, Array(stride(from: 0, to: slot.channels, by: 3)))
    }
}
