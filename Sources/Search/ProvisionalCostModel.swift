// The provisional online cost model, derived from the cryptographic core's figures until the secure
// runtime can measure whole networks (then `sibyl calibrate --plan-stats` replaces it).
//
// Per ReLU (garbled circuits, half-gates: Zahur, Rosulek, Evans, Eurocrypt 2015): online the server sends
// the labels of its share (k' = 32 wires x 16 bytes) and the client returns its masked result (8 bytes):
// 16 k' + 8 bytes; the client evaluates about 110 AND gates at 2 fixed-key AES calls each.
// Per polynomial element (Beaver square pairs): 16 bytes, about 10 ns.
// Linear layers (ResNet-32, server-local online work over the client's masked input): about 0.05 s, 0 bytes.
// One round trip (two one-way flights) per activation layer.
import Foundation
import Planner

public enum ProvisionalCostModel {
    /// The figures the model is built from, with where each came from.
    public struct Inputs: Codable, Hashable, Sendable {
        public var andGatesPerReLU: Double = 110
        /// Half-gates evaluation: 2 AES calls per AND gate.
        public var aesPerAndGate: Double = 2
        /// Fixed-key AES blocks per second on one core (shared/PLATFORM.md: AES-NI, 8 in flight, 613-649 M/s).
        public var aesBlocksPerSecond: Double = 613e6
        /// Measured AND gates evaluated per second end to end, when a benchmark gives it (wins over AES).
        public var evaluatedAndGatesPerSecond: Double?
        public var valueBits: Double = 32
        public var polynomialSeconds: Double = 10e-9
        public var polynomialBytes: Double = 16
        public var linearSeconds: Double = 0.05
        public var notes: [String] = []

        public init() {}
    }

    /// Per-ReLU online bytes: 16 k' + 8.
    public static func reluBytes(valueBits: Double) -> Double { 16 * valueBits + 8 }

    public static func model(from inputs: Inputs) -> CostModel {
        let andRate = inputs.evaluatedAndGatesPerSecond ?? inputs.aesBlocksPerSecond / inputs.aesPerAndGate
        let reluSeconds = inputs.andGatesPerReLU / andRate
        let rate = inputs.evaluatedAndGatesPerSecond.map { String(format: "%.3g AND gates/s evaluated (measured)", $0) }
            ?? String(format: "%.3g AES blocks/s / %.0f AES per AND", inputs.aesBlocksPerSecond, inputs.aesPerAndGate)
        var source = "provisional model from cryptographic-core figures (not a secure-runtime measurement): "
            + String(format: "ReLU %.0f AND gates at %@; ReLU bytes 16*k'+8 with k'=%.0f; ", inputs.andGatesPerReLU,
                     rate, inputs.valueBits)
            + String(format: "polynomial %.0f B and %.0f ns per element; ResNet-32 linear layers %.2f s online, 0 B; ",
                     inputs.polynomialBytes, inputs.polynomialSeconds * 1e9, inputs.linearSeconds)
            + "two flights (one round trip) per activation layer"
        if !inputs.notes.isEmpty { source += " (" + inputs.notes.joined(separator: "; ") + ")" }
        return CostModel(relu: .init(seconds: reluSeconds, bytes: reluBytes(valueBits: inputs.valueBits)),
                         polynomial: .init(seconds: inputs.polynomialSeconds, bytes: inputs.polynomialBytes),
                         flightsPerActivationLayer: 2, linearSeconds: inputs.linearSeconds, linearBytes: 0,
                         linearFlights: 0, source: source)
    }

    /// The default model (the PLATFORM.md AES rate), used by `sibyl plan` without `--cost-model`.
    public static var standard: CostModel { model(from: Inputs()) }

    /// Inputs read from a garbling benchmark JSON (`GarblingBenchmark.run()` keys, at top level or under
    /// "figures"): evaluate_and_gates_per_second, aes_blocks_per_second, relu_and_gates, relu_value_bits.
    public static func inputs(fromBenchmark url: URL) throws -> Inputs {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        } catch {
            throw SearchError.unreadableInput(path: url.path, reason: "not a JSON file (\(error.localizedDescription))")
        }
        guard let top = object as? [String: Any] else {
            throw SearchError.unreadableInput(path: url.path, reason: "expected a JSON object of benchmark figures")
        }
        let figures = (top["figures"] as? [String: Any]) ?? top
        func number(_ key: String) -> Double? { (figures[key] as? NSNumber)?.doubleValue }
        var inputs = Inputs()
        var used: [String] = []
        if let v = number("evaluate_and_gates_per_second"), v > 0 {
            inputs.evaluatedAndGatesPerSecond = v; used.append("evaluate_and_gates_per_second")
        }
        if let v = number("aes_blocks_per_second"), v > 0 { inputs.aesBlocksPerSecond = v; used.append("aes_blocks_per_second") }
        if let v = number("relu_and_gates"), v > 0 { inputs.andGatesPerReLU = v; used.append("relu_and_gates") }
        if let v = number("relu_value_bits"), v > 0 { inputs.valueBits = v; used.append("relu_value_bits") }
        guard !used.isEmpty else {
            throw SearchError.unreadableInput(path: url.path, reason: "no known figure; expected one of "
                + "evaluate_and_gates_per_second, aes_blocks_per_second, relu_and_gates, relu_value_bits")
        }
        inputs.notes.append("from \(url.lastPathComponent): " + used.joined(separator: ", "))
        return inputs
    }
}
