// Throughput of the fast fixed-point evaluator against the naive oracle on a ResNet-32-shaped plan
// (CIFAR: 3x32x32 input, 16/32/64 channels, projection shortcuts, 100 classes) with random weights.
// Runs only with SIBYL_BENCH=1 (prints figures; no timing assertions). It also checks the two agree.
import Foundation
import NetworkPlan
import SecureInference
import XCTest
import TestSupport

/// ResNet-(6n+2) for CIFAR as a graph, named like Training's ResNet.
func resNetGraph(depth: Int, classes: Int) -> NetworkGraph {
    var nodes = [GraphNode(.input(TensorShape(channels: 3, height: 32, width: 32)), inputs: [])]
    func add(_ op: LayerOp, _ inputs: [Int]) -> Int { nodes.append(GraphNode(op, inputs: inputs)); return nodes.count - 1 }
    func convBN(_ name: String, _ bn: String, _ out: Int, _ k: Int, _ stride: Int, _ input: Int) -> Int {
        let c = add(.conv(name: name, outChannels: out, kernel: k, stride: stride, padding: k / 2, bias: false), [input])
        return add(.batchNorm(name: bn, epsilon: 1e-5), [c])
    }
    var x = add(.activation(slot: "stem.act"), [convBN("stem.conv", "stem.bn", 16, 3, 1, 0)])
    var channels = 16
    let n = (depth - 2) / 6
    for (stage, out) in [16, 32, 64].enumerated() {
        for block in 0..<n {
            let name = "stage\(stage + 1).block\(block)"
            let stride = block == 0 && stage > 0 ? 2 : 1
            let y = add(.activation(slot: name + ".act1"), [convBN(name + ".conv1", name + ".bn1", out, 3, stride, x)])
            let z = convBN(name + ".conv2", name + ".bn2", out, 3, 1, y)
            let shortcut = stride != 1 || channels != out
                ? convBN(name + ".shortcut.conv", name + ".shortcut.bn", out, 1, stride, x) : x
            x = add(.activation(slot: name + ".act2"), [add(.add, [z, shortcut])])
            channels = out
        }
    }
    _ = add(.dense(name: "fc", outFeatures: classes, bias: true), [add(.globalAveragePool, [x])])
    return NetworkGraph(nodes: nodes)
}

final class PlaintextBenchmarkTests: XCTestCase {
    func testResNet32Throughput() throws {
        guard ProcessInfo.processInfo.environment["SIBYL_BENCH"] == "1" else {
            throw XCTSkip("set SIBYL_BENCH=1 to measure fixed-point evaluation throughput")
        }
        var random = SplitMix64(seed: 2026)
        let graph = resNetGraph(depth: 32, classes: 100)
        var weights: WeightTable = [:]
        for (name, shape) in try graph.expectedParameters().sorted(by: { $0.key < $1.key }) {
            let fanIn = shape.dropFirst().reduce(1, *)
            let std = Float((2 / Double(max(1, fanIn))).squareRoot())
            weights[name] = (0..<shape.reduce(1, *)).map { _ in
                if name.hasSuffix("running_var") { return random.uniform(0.5, 1.5) }
                if name.hasSuffix("gamma") { return random.uniform(0.3, 0.6) }
                if shape.count == 1 { return random.uniform(-0.1, 0.1) }
                return random.uniform(-std, std) * 1.7
            }
        }
        let slots = try graph.slots()
        let program = try FixedPointCompiler.compile(
            graph: graph, weights: weights, activations: Dictionary(uniqueKeysWithValues: slots.map { ($0.name, SlotChoice.relu) }),
            coefficients: [:], fixedPoint: FixedPointConfig(fractionalBits: 8))
        let oracle = FixedPointOracle(program: program)
        let fast = FastFixedPointEvaluator(program: program)
        let images = (0..<64).map { _ in oracle.encodeInput((0..<3072).map { _ in random.uniform(-2, 2) }) }

        /// Wall seconds (and process CPU seconds in `cpu`) of `body`.
        var cpu = 0.0
        func seconds(_ body: () -> Void) -> Double {
            func now(_ clock: clockid_t) -> Double {
                var t = timespec()
                clock_gettime(clock, &t)
                return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
            }
            let start = now(CLOCK_MONOTONIC), startCPU = now(CLOCK_PROCESS_CPUTIME_ID)
            body()
            cpu = now(CLOCK_PROCESS_CPUTIME_ID) - startCPU
            return now(CLOCK_MONOTONIC) - start
        }
        var reference: [[UInt64]] = []
        let naive = seconds { reference = images.prefix(4).map { oracle.evaluate(input: $0) } }
        print(String(format: "ResNet-32 fixed point, naive oracle: %.3f s/image wall, %.3f s CPU (%.1f images/s, 1 thread)",
                     naive / 4, cpu / 4, 4 / naive))
        for threads in [1, 2] {
            var best = Double.infinity
            var result: FastFixedPointEvaluator.Result?
            var bestCPU = Double.infinity
            for _ in 0..<3 {
                best = min(best, seconds { result = fast.evaluate(inputs: images, threads: threads) })
                bestCPU = min(bestCPU, cpu)
            }
            XCTAssertEqual(Array(result!.logits.prefix(4)), reference, "fast evaluator disagrees with the oracle")
            print(String(format: "ResNet-32 fixed point, fast evaluator, %d thread(s): %.2f ms/image wall, %.2f ms CPU (%.0f images/s, best of 3 x 64 images; %d GEMM / %d ring terms)",
                         threads, best / 64 * 1000, bestCPU / 64 * 1000, 64 / best, result!.statistics.gemmTerms,
                         result!.statistics.ringTerms))
        }
    }
}
