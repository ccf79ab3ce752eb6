// The fast fixed-point evaluator must equal FixedPointOracle bit for bit: on random residual networks
// (GEMM path; on 16x16 inputs the 3x3 stride-1 convolutions take the direct float64 kernel on AVX-512 CPUs), on inputs so large the exactness bound fails (ring fallback), with polynomial slots,
// average pooling and a plain dense layer.
import Foundation
import NetworkPlan
import SecureInference
import XCTest
import TestSupport

/// Conv-BN-act, a strided residual block with a projection shortcut, an identity block with a
/// polynomial slot, average pooling, a flattening dense layer, then a pooled dense classifier.
func plaintextGraph(channels: Int, size: Int = 12) -> NetworkGraph {
    NetworkGraph(nodes: [
        GraphNode(.input(TensorShape(channels: 3, height: size, width: size)), inputs: []),                      // 0
        GraphNode(.conv(name: "stem", outChannels: channels, kernel: 3, stride: 1, padding: 1, bias: false), inputs: [0]),
        GraphNode(.batchNorm(name: "stem.bn", epsilon: 1e-5), inputs: [1]),
        GraphNode(.activation(slot: "s0"), inputs: [2]),                                                       // 3
        GraphNode(.conv(name: "b.conv1", outChannels: 2 * channels, kernel: 3, stride: 2, padding: 1, bias: false), inputs: [3]),
        GraphNode(.batchNorm(name: "b.bn1", epsilon: 1e-5), inputs: [4]),
        GraphNode(.activation(slot: "s1"), inputs: [5]),                                                       // 6
        GraphNode(.conv(name: "b.conv2", outChannels: 2 * channels, kernel: 3, stride: 1, padding: 1, bias: false), inputs: [6]),
        GraphNode(.conv(name: "b.short", outChannels: 2 * channels, kernel: 1, stride: 2, padding: 0, bias: true), inputs: [3]),
        GraphNode(.add, inputs: [7, 8]),
        GraphNode(.activation(slot: "s2"), inputs: [9]),                                                       // 10
        GraphNode(.conv(name: "c.conv", outChannels: 2 * channels, kernel: 3, stride: 1, padding: 1, bias: true), inputs: [10]),
        GraphNode(.activation(slot: "s3"), inputs: [11]),
        GraphNode(.add, inputs: [12, 10]),                                                                     // 13
        GraphNode(.averagePool(kernel: 2, stride: 2), inputs: [13]),
        GraphNode(.dense(name: "mid", outFeatures: 2 * channels * 9, bias: true), inputs: [14]),
        GraphNode(.activation(slot: "s4"), inputs: [15]),
        GraphNode(.globalAveragePool, inputs: [16]),
        GraphNode(.dense(name: "fc", outFeatures: 10, bias: true), inputs: [17]),
    ])
}

final class PlaintextEvaluatorTests: XCTestCase {
    func program(seed: UInt64, fractionalBits: Int, channels: Int = 4, size: Int = 12) throws -> FixedPointProgram {
        var random = SplitMix64(seed: seed)
        let graph = plaintextGraph(channels: channels, size: size)
        var weights: WeightTable = [:]
        for (name, shape) in try graph.expectedParameters().sorted(by: { $0.key < $1.key }) {
            let fanIn = shape.dropFirst().reduce(1, *)
            let bound = Float(1.7 / Double(max(1, fanIn)).squareRoot())
            weights[name] = (0..<shape.reduce(1, *)).map { _ in
                if name.hasSuffix("running_var") { return random.uniform(0.5, 1.5) }
                if name.hasSuffix("gamma") { return random.uniform(0.8, 1.2) }
                if shape.count == 1 { return random.uniform(-0.2, 0.2) }
                return random.uniform(-bound, bound)
            }
        }
        let polynomial = (0..<2 * channels).map { _ in [random.uniform(0, 0.3), random.uniform(0.3, 0.7), random.uniform(0.05, 0.2)] }
        return try FixedPointCompiler.compile(
            graph: graph, weights: weights,
            activations: ["s0": .relu, "s1": .relu, "s2": .polynomial(degree: 2), "s3": .relu, "s4": .relu],
            coefficients: ["s2": polynomial], fixedPoint: FixedPointConfig(fractionalBits: fractionalBits))
    }

    func inputs(_ program: FixedPointProgram, count: Int, magnitude: Float, seed: UInt64) -> [[UInt64]] {
        var random = SplitMix64(seed: seed)
        let oracle = FixedPointOracle(program: program)
        return (0..<count).map { _ in
            oracle.encodeInput((0..<program.tensors[0].shape.elements).map { _ in random.uniform(-magnitude, magnitude) })
        }
    }

    func testEqualsTheOracleBitForBit() throws {
        for seed: UInt64 in [11, 12, 13] {
            for bits in [8, 12] {
                let program = try program(seed: seed, fractionalBits: bits)
                let oracle = FixedPointOracle(program: program)
                let fast = FastFixedPointEvaluator(program: program)
                let images = inputs(program, count: 7, magnitude: 2, seed: seed &* 31)
                for threads in [1, 2] {
                    let result = fast.evaluate(inputs: images, threads: threads)
                    XCTAssertEqual(result.statistics.ringTerms, 0, "seed \(seed) bits \(bits): the GEMM path should apply")
                    XCTAssertGreaterThan(result.statistics.gemmTerms, 0)
                    for (i, image) in images.enumerated() {
                        XCTAssertEqual(result.logits[i], oracle.evaluate(input: image),
                                       "seed \(seed) bits \(bits) threads \(threads) image \(i)")
                    }
                }
            }
        }
    }

    /// Planes of 16x16 and 8x8 with 4 and 8 channels: the 3x3 stride-1 convolutions run on the direct float64
    /// kernel (where the CPU has AVX-512) and still equal the oracle bit for bit.
    func testDirectKernelEqualsTheOracleBitForBit() throws {
        for seed: UInt64 in [21, 22] {
            let program = try program(seed: seed, fractionalBits: 12, size: 16)
            let oracle = FixedPointOracle(program: program)
            let images = inputs(program, count: 5, magnitude: 2, seed: seed &* 7)
            let result = FastFixedPointEvaluator(program: program).evaluate(inputs: images, threads: 2)
            XCTAssertEqual(result.statistics.ringTerms, 0)
            if ProcessInfo.processInfo.environment["SIBYL_EXPECT_AVX512"] != nil || Self.hasAVX512 {
                // stem (16x16), c.conv and b.conv2 (8x8): three direct terms per image.
                XCTAssertEqual(result.statistics.directTerms, 3 * images.count, "seed \(seed)")
            }
            for (i, image) in images.enumerated() {
                XCTAssertEqual(result.logits[i], oracle.evaluate(input: image), "seed \(seed) image \(i)")
            }
        }
    }

    static var hasAVX512: Bool {
        (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.contains(" avx512f") ?? false
    }

    func testFallsBackToRingLoopsWhenTheBoundFails() throws {
        let program = try program(seed: 21, fractionalBits: 20)
        let oracle = FixedPointOracle(program: program)
        let fast = FastFixedPointEvaluator(program: program)
        let images = inputs(program, count: 3, magnitude: 3000, seed: 5)
        let result = fast.evaluate(inputs: images, threads: 2)
        XCTAssertGreaterThan(result.statistics.ringTerms, 0, "seed 21: inputs of 3000 at 20 bits must break the 2^52 bound")
        for (i, image) in images.enumerated() {
            XCTAssertEqual(result.logits[i], oracle.evaluate(input: image), "seed 21 image \(i)")
        }
    }

    func testMagnitudesMatchTheOracleTensors() throws {
        let program = try program(seed: 31, fractionalBits: 8)
        let oracle = FixedPointOracle(program: program)
        let images = inputs(program, count: 4, magnitude: 2, seed: 77)
        let result = FastFixedPointEvaluator(program: program).evaluate(inputs: images, threads: 2, recordMagnitudes: true)
        var expected = [UInt64](repeating: 0, count: program.tensors.count)
        for image in images {
            for (t, values) in oracle.evaluateAll(input: image).enumerated() {
                for v in values { expected[t] = max(expected[t], Int64(bitPattern: v).magnitude) }
            }
        }
        XCTAssertEqual(result.maxMagnitudes, expected, "seed 31")
    }

    func testClassifyUsesThePlanNormalisation() throws {
        let program = try program(seed: 41, fractionalBits: 8)
        let spec = InputSpec(shape: TensorShape(channels: 3, height: 12, width: 12), mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3])
        var random = SplitMix64(seed: 9)
        let count = 5
        let pixels = (0..<count * 432).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let fast = FastFixedPointEvaluator(program: program)
        let predictions = fast.classify(pixels: pixels, count: count, input: spec, threads: 2, batch: 2).predictions
        let oracle = FixedPointOracle(program: program)
        for i in 0..<count {
            let x = (0..<432).map { j in (Float(pixels[i * 432 + j]) / 255 - spec.mean[j / 144]) / spec.std[j / 144] }
            let logits = oracle.evaluate(input: oracle.encodeInput(x)).map { Int64(bitPattern: $0) }
            XCTAssertEqual(predictions[i], logits.firstIndex(of: logits.max()!)!, "image \(i)")
        }
    }
}
