// Calibrating the cost model from a measured secure evaluation: per-layer online statistics of one image
// (what `sibyl evaluate` is to write), fitted into per-element costs.
import Foundation
import Planner

/// Online statistics of one secure evaluation, per layer, for one image.
///
/// JSON: {"network": "...", "layers": [{"kind": "relu" | "polynomial" | "linear", "elements": N,
/// "online_seconds": s, "online_bytes": b, "rounds": r}, ...]}, where `rounds` counts one-way flights (the
/// runtime's unit; `sibyl evaluate` writes it so). A polynomial slot is two steps (its square, with the
/// elements, and the linear step that applies its coefficients, with none): one activation layer.
public struct PlanStatistics: Codable, Hashable, Sendable {
    public struct Layer: Codable, Hashable, Sendable {
        public var kind: String
        public var elements: Int
        public var online_seconds: Double
        public var online_bytes: Double
        public var rounds: Double

        public init(kind: String, elements: Int, online_seconds: Double, online_bytes: Double, rounds: Double) {
            self.kind = kind; self.elements = elements; self.online_seconds = online_seconds
            self.online_bytes = online_bytes; self.rounds = rounds
        }
    }

    public var network: String?
    public var layers: [Layer]

    public init(network: String?, layers: [Layer]) { self.network = network; self.layers = layers }

    /// Per-element costs: totals of each kind divided by its element count; a kind that was not measured
    /// keeps the fallback's figure.
    public func costModel(fallback: CostModel, source: String) throws -> CostModel {
        func totals(_ kind: String) -> (elements: Double, seconds: Double, bytes: Double, layers: Int, rounds: Double) {
            let selected = layers.filter { $0.kind == kind }
            return (Double(selected.reduce(0) { $0 + $1.elements }), selected.reduce(0) { $0 + $1.online_seconds },
                    selected.reduce(0) { $0 + $1.online_bytes }, selected.count, selected.reduce(0) { $0 + $1.rounds })
        }
        let known = Set(["relu", "polynomial", "linear"])
        if let unknown = layers.first(where: { !known.contains($0.kind) }) {
            throw SearchError.unreadableInput(path: source, reason: "layer kind '\(unknown.kind)'; expected relu, polynomial or linear")
        }
        var model = fallback
        let relu = totals("relu"), poly = totals("polynomial"), linear = totals("linear")
        if relu.elements > 0 { model.relu = .init(seconds: relu.seconds / relu.elements, bytes: relu.bytes / relu.elements) }
        if poly.elements > 0 { model.polynomial = .init(seconds: poly.seconds / poly.elements, bytes: poly.bytes / poly.elements) }
        let polynomialSlots = layers.filter { $0.kind == "polynomial" && $0.elements > 0 }.count
        let activationLayers = relu.layers + polynomialSlots
        if activationLayers > 0 { model.flightsPerActivationLayer = (relu.rounds + poly.rounds) / Double(activationLayers) }
        if linear.layers > 0 {
            model.linearSeconds = linear.seconds
            model.linearBytes = linear.bytes
            model.linearFlights = linear.rounds
        }
        model.source = "measured online statistics from \(source) (\(layers.count) layers"
            + (network.map { ", \($0)" } ?? "") + "); kinds not measured keep: " + fallback.source
        return model
    }
}
