import Foundation
import NetworkPlan
import SecureInference
import XCTest
import TestSupport

/// A residual network touching every layer kind: strided conv, batch norm, ReLU, polynomial, projection
/// and identity shortcuts, average pooling, global average pooling fused into dense.
func residualGraph() -> NetworkGraph {
    NetworkGraph(nodes: [
        GraphNode(.input(TensorShape(channels: 3, height: 8, width: 8)), inputs: []),                        // 0
        GraphNode(.conv(name: "stem", outChannels: 4, kernel: 3, stride: 1, padding: 1, bias: false), inputs: [0]),
        GraphNode(.batchNorm(name: "stem.bn", epsilon: 1e-5), inputs: [1]),
        GraphNode(.activation(slot: "stem.act"), inputs: [2]),                                                 // 3
        GraphNode(.conv(name: "b.conv1", outChannels: 6, kernel: 3, stride: 2, padding: 1, bias: false), inputs: [3]),
        GraphNode(.batchNorm(name: "b.bn1", epsilon: 1e-5), inputs: [4]),
        GraphNode(.activation(slot: "b.act1"), inputs: [5]),                                                  // 6
        GraphNode(.conv(name: "b.conv2", outChannels: 6, kernel: 3, stride: 1, padding: 1, bias: false), inputs: [6]),
        GraphNode(.batchNorm(name: "b.bn2", epsilon: 1e-5), inputs: [7]),
        GraphNode(.conv(name: "b.short", outChannels: 6, kernel: 1, stride: 2, padding: 0, bias: false), inputs: [3]),
        GraphNode(.batchNorm(name: "b.short.bn", epsilon: 1e-5), inputs: [9]),
        GraphNode(.add, inputs: [8, 10]),
        GraphNode(.activation(slot: "b.act2"), inputs: [11]),                                                  // 12
        GraphNode(.conv(name: "c.conv1", outChannels: 6, kernel: 3, stride: 1, padding: 1, bias: true), inputs: [12]),
        GraphNode(.activation(slot: "c.act1"), inputs: [13]),
        GraphNode(.add, inputs: [14, 12]),                                                                     // identity
        GraphNode(.averagePool(kernel: 2, stride: 2), inputs: [15]),
        GraphNode(.globalAveragePool, inputs: [16]),
        GraphNode(.dense(name: "fc", outFeatures: 7, bias: true), inputs: [17]),
    ])
}

func randomWeights(_ graph: NetworkGraph, random: inout SplitMix64) throws -> WeightTable {
    var weights: WeightTable = [:]
    for (name, shape) in try graph.expectedParameters().sorted(by: { $0.key < $1.key }) {
        let count = shape.reduce(1, *)
        let fanIn = shape.count == 4 ? shape[1] * shape[2] * shape[3] : (shape.count == 2 ? shape[1] : 1)
        let bound = Float(1.5 / Double(fanIn).squareRoot())
        weights[name] = (0..<count).map { _ in
            if name.hasSuffix("running_var") { return random.uniform(0.5, 1.5) }
            if name.hasSuffix("gamma") { return random.uniform(0.8, 1.2) }
            if name.hasSuffix("beta") || name.hasSuffix("running_mean") || name.hasSuffix("bias") {
                return random.uniform(-0.2, 0.2)
            }
            return random.uniform(-bound, bound)
        }
    }
    return weights
}

final class FixedPointOracleTests: XCTestCase {
    func testOracleTracksTheFloatModel() throws {
        let graph = residualGraph()
        for seed: UInt64 in [1, 2, 3] {
            var random = SplitMix64(seed: seed)
            let weights = try randomWeights(graph, random: &random)
            let activations: [String: SlotChoice] = ["stem.act": .relu, "b.act1": .polynomial(degree: 2),
                                                     "b.act2": .relu, "c.act1": .polynomial(degree: 2)]
            let coefficients: [String: SlotCoefficients] = [
                "b.act1": (0..<6).map { _ in [random.uniform(0, 0.3), random.uniform(0.3, 0.7), random.uniform(0.1, 0.3)] },
                "c.act1": (0..<6).map { _ in [0.2, 0.5, 0.2] },
            ]
            let program = try FixedPointCompiler.compile(graph: graph, weights: weights, activations: activations,
                                                         coefficients: coefficients,
                                                         fixedPoint: FixedPointConfig(fractionalBits: 12))
            XCTAssertEqual(program.reluCount, 4 * 64 + 6 * 16)
            XCTAssertEqual(program.squareCount, 6 * 16 * 2)
            let oracle = FixedPointOracle(program: program)
            for _ in 0..<5 {
                let input = (0..<192).map { _ in random.uniform(-2, 2) }
                let float = try ReferenceEvaluator.evaluate(graph: graph, weights: weights, activations: activations,
                                                            coefficients: coefficients, input: input)
                let fixed = oracle.decode(oracle.evaluate(input: oracle.encodeInput(input)))
                XCTAssertEqual(fixed.count, 7)
                for (a, b) in zip(float, fixed) {
                    XCTAssertEqual(a, b, accuracy: 0.02 * max(1, abs(a)), "seed \(seed): float \(float) fixed \(fixed)")
                }
            }
        }
    }

    func testRingConvolutionMatchesNaiveIntegerConvolution() {
        var random = SplitMix64(seed: 99)
        for trial in 0..<60 {
            // Widths up to 70: rows of 1 to 9 vectors in the AVX-512 kernel (more than 8 take the loops).
            let wide = trial % 4 == 3
            let inShape = TensorShape(channels: 1 + random.below(4), height: 3 + random.below(6),
                                      width: wide ? 3 + random.below(68) : 3 + random.below(6))
            let k = [1, 2, 3][random.below(3)], stride = 1 + random.below(2), padding = random.below(2)
            let outH = (inShape.height + 2 * padding - k) / stride + 1, outW = (inShape.width + 2 * padding - k) / stride + 1
            guard outH > 0 && outW > 0 else { continue }
            let outC = 1 + random.below(3)
            let outShape = TensorShape(channels: outC, height: outH, width: outW)
            let x = (0..<inShape.elements).map { _ in random.next() }
            let w = (0..<outC * inShape.channels * k * k).map { _ in random.below(5) == 0 ? 0 : random.next() }
            let initial = (0..<outShape.elements).map { _ in random.next() }
            var fast = initial
            RingKernels.accumulate(.conv(weights: w, inChannels: inShape.channels, outChannels: outC, kernel: k,
                                         stride: stride, padding: padding),
                                   x: x, inShape: inShape, outShape: outShape, into: &fast)
            var naive = [UInt64](repeating: 0, count: outShape.elements)
            for o in 0..<outC { for oy in 0..<outH { for ox in 0..<outW {
                var acc = initial[(o * outH + oy) * outW + ox]
                for c in 0..<inShape.channels { for ky in 0..<k { for kx in 0..<k {
                    let iy = oy * stride + ky - padding, ix = ox * stride + kx - padding
                    if iy < 0 || ix < 0 || iy >= inShape.height || ix >= inShape.width { continue }
                    acc &+= w[((o * inShape.channels + c) * k + ky) * k + kx] &* x[(c * inShape.height + iy) * inShape.width + ix]
                } } }
                naive[(o * outH + oy) * outW + ox] = acc
            } } }
            XCTAssertEqual(fast, naive, "trial \(trial): \(inShape) k\(k) s\(stride) p\(padding)")
        }
    }

    /// The AVX-512 ring convolution against the plain loops on ResNet-32's shapes (16, 32, 64 channels at 32,
    /// 16, 8 pixels; 3x3 padding 1 and 1x1), accumulating onto a nonzero output, and a batch-1 dense-like 1x1.
    func testRingConvolutionKernelEqualsTheLoops() throws {
        try XCTSkipUnless(RingKernels.nativeConvolution, "this CPU has no AVX-512 DQ: the loops run everywhere")
        var random = SplitMix64(seed: 7)
        for (c, side, o, k, padding) in [(16, 32, 16, 3, 1), (32, 16, 32, 3, 1), (64, 8, 64, 3, 1), (16, 32, 32, 1, 0),
                                         (3, 32, 16, 3, 1), (64, 1, 10, 1, 0), (5, 13, 3, 3, 0)] {
            let inShape = TensorShape(channels: c, height: side, width: side)
            let outShape = TensorShape(channels: o, height: side + 2 * padding - k + 1, width: side + 2 * padding - k + 1)
            let x = (0..<inShape.elements).map { _ in random.next() }
            let w = (0..<o * c * k * k).map { _ in UInt64(bitPattern: Int64(random.below(8191)) - 4095) }
            let initial = (0..<outShape.elements).map { _ in random.next() }
            var kernel = initial, loops = initial
            RingKernels.convolve(weights: w, x: x, inShape: inShape, outShape: outShape, kernel: k, stride: 1,
                                 padding: padding, into: &kernel)
            RingKernels.convolveLoops(weights: w, x: x, inShape: inShape, outShape: outShape, kernel: k, stride: 1,
                                      padding: padding, into: &loops)
            XCTAssertEqual(kernel, loops, "\(inShape) -> \(outShape), k \(k), padding \(padding)")
        }
    }

    func testReLUUsesTheLowBitsAndShifts() {
        XCTAssertEqual(RingKernels.relu(UInt64(bitPattern: -5), valueBits: 40, shift: 0), 0)
        XCTAssertEqual(RingKernels.relu(1000, valueBits: 40, shift: 3), 125)
        XCTAssertEqual(RingKernels.relu(1007, valueBits: 40, shift: 3), 125) // floor
        // Bit 39 set: negative within a 40-bit bound, whatever the high bits say.
        XCTAssertEqual(RingKernels.relu(1 << 39, valueBits: 40, shift: 0), 0)
        // High garbage above the bound is ignored: only the low 40 bits count.
        XCTAssertEqual(RingKernels.relu((1 << 50) | 77, valueBits: 40, shift: 0), 77)
        XCTAssertEqual(RingKernels.shiftRight(UInt64(bitPattern: -17), 2), UInt64(bitPattern: -5))
    }

    func testUnsupportedAndInvalidPlansAreErrors() throws {
        var random = SplitMix64(seed: 5)
        let graph = residualGraph()
        let weights = try randomWeights(graph, random: &random)
        XCTAssertThrowsError(try FixedPointCompiler.compile(graph: graph, weights: weights,
                                                            activations: ["b.act1": .polynomial(degree: 2)],
                                                            coefficients: [:], fixedPoint: FixedPointConfig())) {
            XCTAssertTrue("\($0)".contains("b.act1"), "\($0)")
        }
        var missing = weights
        missing.removeValue(forKey: "fc.weight")
        XCTAssertThrowsError(try FixedPointCompiler.compile(graph: graph, weights: missing, activations: [:],
                                                            coefficients: [:], fixedPoint: FixedPointConfig())) {
            XCTAssertTrue("\($0)".contains("fc.weight"), "\($0)")
        }
    }
}
