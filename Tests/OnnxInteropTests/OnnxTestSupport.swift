// Shared pieces of the ONNX interop tests: the project's Python with onnx and onnxruntime (a failure, not a
// skip, when it is missing: CI must run these), random networks of Sibyl's architectures with every slot
// kind, random inputs, and ONNX Runtime's verdict on Sibyl's logits (Tests/python/onnx_interop.py).
import Foundation
import NetworkPlan
import OnnxInterop
import Pipeline
import SeededRandom
import Tensors
import TestSupport
import Training
import XCTest

enum OnnxTestSupport {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let script = root.appendingPathComponent("Tests/python/onnx_interop.py")

    struct Missing: Error, CustomStringConvertible { var description: String }

    /// `.venv/bin/python` able to import onnx and onnxruntime.
    static func python() throws -> URL {
        let python = root.appendingPathComponent(".venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw Missing(description: "no .venv/bin/python: run `make venv` (make test does); it installs onnx and onnxruntime "
                          + "from Tests/python/requirements.txt")
        }
        let check = try runProcess(python, ["-c", "import onnx, onnxruntime"])
        guard check.status == 0 else {
            throw Missing(description: ".venv lacks onnx or onnxruntime (rerun `make venv`): \(check.output)")
        }
        return python
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runProcess(try python(), [script.path] + arguments)
    }

    /// A network of `kind` with random weights, batch-norm statistics away from the identity, and `choices`
    /// (slot index -> choice) with coefficients near a ReLU fit, so values stay in range through the network.
    static func network(_ kind: ModelKind, classes: Int, seed: UInt64, choices: [Int: SlotChoice] = [:]) -> Network {
        var rng = RandomGenerator(seed: seed)
        let network = makeNetwork(kind, classes: classes, rng: &rng)
        var random = SplitMix64(seed: seed ^ 0xB0)
        func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * Float(Double.random(in: 0..<1, using: &random)) }
        for b in network.namedBuffers {
            let values = (0..<b.tensor.count).map { _ in b.name.hasSuffix("running_var") ? uniform(0.5, 2) : uniform(-0.3, 0.3) }
            b.tensor.assign(Tensor(shape: b.tensor.shape, values: values))
        }
        for p in network.namedParameters where p.name.hasSuffix(".gamma") || p.name.hasSuffix(".beta") {
            let values = (0..<p.parameter.value.count).map { _ in p.name.hasSuffix(".gamma") ? uniform(0.5, 1.5) : uniform(-0.3, 0.3) }
            p.parameter.value.assign(Tensor(shape: p.parameter.value.shape, values: values))
        }
        let base: [Float] = [0.2, 0.5, 0.25, 0.01, -0.004, 0.0005, 0.00005]
        for (index, slot) in network.slots.enumerated() {
            guard let choice = choices[index] else { continue }
            let degree: Int
            switch choice {
            case .relu: continue
            case .polynomial(let d), .mixed(_, let d): degree = d
            }
            let values = (0..<slot.channels).flatMap { _ in (0...degree).map { base[$0] * uniform(0.8, 1.2) } }
            slot.restore(mode: .polynomial, coefficients: Tensor(shape: [slot.channels, degree + 1], values: values))
            if case .mixed(let channels, _) = choice {
                slot.setPolynomialChannels((0..<slot.channels).map { channels.contains($0) })
            }
        }
        return network
    }

    static func inputs(_ count: Int, elements: Int = 3 * 32 * 32, seed: UInt64) -> [[Float]] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in (0..<elements).map { _ in Float(Double.random(in: 0..<1, using: &random) * 4 - 2) } }
    }

    /// The engine's eval-mode logits.
    static func logits(_ network: Network, _ inputs: [[Float]]) -> [[Double]] {
        let tape = Tape(recording: false)
        let x = Tensor(shape: [inputs.count, 3, 32, 32], values: Array(inputs.joined()))
        let values = network.forward(tape.constant(x), tape: tape, training: false).value.array
        let classes = values.count / inputs.count
        return (0..<inputs.count).map { i in values[i * classes..<(i + 1) * classes].map(Double.init) }
    }

    /// ONNX Runtime's logits of `model` on `inputs` against `logits`, within `rtol` of each image's largest logit.
    static func assertOnnxRuntimeAgrees(model: URL, inputs: [[Float]], logits: [[Double]], in directory: URL, rtol: Double = 1e-4,
                                        file: StaticString = #filePath, line: UInt = #line) throws {
        let name = model.deletingPathExtension().lastPathComponent
        let inputFile = directory.appendingPathComponent(name + "-inputs.npy"), logitFile = directory.appendingPathComponent(name + "-logits.npy")
        try NumpyFile.write(inputs.map { $0.map(Double.init) }, to: inputFile)
        try NumpyFile.write(logits, to: logitFile)
        let result = try run(["compare", model.path, inputFile.path, logitFile.path, "--rtol", "\(rtol)"])
        XCTAssertEqual(result.status, 0, "ONNX Runtime disagrees with Sibyl: \(result.output)", file: file, line: line)
    }
}
