// Calibrating the cost model from measured secure evaluations: the per-step costs of one image (what
// `sibyl evaluate --json` writes), fitted into per-element costs of each kind, online and offline.
import Foundation
import NetworkCost
import Planner

/// Costs of one secure evaluation, per protocol step, for one image: the part of `sibyl evaluate --json`'s
/// report that calibration reads ({"network", "relu", "ot", "layers": [StepCost]}).
///
/// A polynomial slot is several steps: the protocol step (a square or a one-round polynomial, with the
/// elements and `degree`) and local steps (coefficients, truncations: no elements), all of kind
/// "polynomial"; a local step's seconds count towards the degree most elements of the report have.
public struct PlanStatistics: Codable, Hashable, Sendable {
    public var network: String?
    /// The ReLU protocol the evaluation ran (absent: garbled, the only one before 2026-12).
    public var relu: ReLUProtocol?
    /// The correlated-OT source (absent: iknp).
    public var ot: String?
    public var layers: [StepCost]

    public init(network: String?, relu: ReLUProtocol? = nil, ot: String? = nil, layers: [StepCost]) {
        self.network = network; self.relu = relu; self.ot = ot; self.layers = layers
    }

    /// Per-element costs: totals of each kind divided by its element count; flights per activation layer:
    /// a kind's flights divided by its layers with elements. What this evaluation did not measure keeps the
    /// fallback's figure (so several reports fold into one model: a garbled, an OT-based and a polynomial one).
    public func costModel(fallback: CostModel, source: String) throws -> CostModel {
        struct Totals {
            var elements = 0.0, layers = 0.0
            var offline = CostModel.PerElement(seconds: 0, bytes: 0), offlineFlights = 0.0
            var online = CostModel.PerElement(seconds: 0, bytes: 0), onlineFlights = 0.0

            mutating func add(_ step: StepCost) {
                elements += Double(step.elements)
                if step.elements > 0 { layers += 1 }
                offline.seconds += step.offlineSeconds; offline.bytes += step.offlineBytes
                offlineFlights += step.offlineRounds
                online.seconds += step.onlineSeconds; online.bytes += step.onlineBytes
                onlineFlights += step.rounds
            }
            var measured: Bool { elements > 0 }
            func perElement(_ phase: CostModel.PerElement) -> CostModel.PerElement {
                .init(seconds: phase.seconds / elements, bytes: phase.bytes / elements)
            }
            var offlineCost: CostModel.ActivationCost {
                .init(perElement: perElement(offline), flightsPerLayer: offlineFlights / layers)
            }
            var onlineCost: CostModel.ActivationCost {
                .init(perElement: perElement(online), flightsPerLayer: onlineFlights / layers)
            }
        }
        // The degree of each polynomial protocol step; local steps go with the most common degree.
        var elementsByDegree: [Int: Int] = [:]
        // A step without a degree (hand-written statistics, reports written before 2026-12-04) is a square.
        func degree(of step: StepCost) -> Int { step.degree ?? 2 }
        for step in layers where step.kind == .polynomial && step.elements > 0 {
            elementsByDegree[degree(of: step), default: 0] += step.elements
        }
        let mainDegree = elementsByDegree.max { ($0.value, -$0.key) < ($1.value, -$1.key) }?.key ?? 2
        var relu = Totals(), linear = Totals(), polynomial: [Int: Totals] = [:]
        for step in layers {
            switch step.kind {
            case .relu: relu.add(step)
            case .linear: linear.add(step)
            case .polynomial: polynomial[step.elements > 0 ? degree(of: step) : mainDegree, default: Totals()].add(step)
            }
        }

        var model = fallback
        let reluProtocol = self.relu ?? .garbled
        let hasOffline = layers.contains { $0.offlineBytes > 0 || $0.offlineSeconds > 0 }
        var offline = model.offline ?? CostModel.Offline(
            relu: nil, otReLU: nil, square: nil, oneRound: nil, oneRoundDegree: mainDegree,
            linearSeconds: 0, linearBytes: 0, linearFlights: 0, ot: ot ?? "iknp")
        if relu.measured {
            switch reluProtocol {
            case .garbled:
                model.relu = relu.perElement(relu.online)
                model.flightsPerActivationLayer = relu.onlineCost.flightsPerLayer
                offline.relu = relu.offlineCost
            case .ot:
                model.otReLU = relu.onlineCost
                offline.otReLU = relu.offlineCost
            }
        }
        if let square = polynomial[2], square.measured {
            model.polynomial = square.perElement(square.online)
            if !relu.measured || reluProtocol == .ot { model.flightsPerActivationLayer = square.onlineCost.flightsPerLayer }
            offline.square = square.offlineCost
        }
        if let (degree, oneRound) = polynomial.filter({ $0.key >= 3 && $0.value.measured }).max(by: { $0.value.elements < $1.value.elements }) {
            if polynomial[2]?.measured != true {   // online, degree d >= 3 in squares (CostModel.polynomialCost)
                let online = oneRound.perElement(oneRound.online)
                let factor = CostModel.oneRoundOnlineFactor(degree: degree)
                model.polynomial = .init(seconds: online.seconds / factor, bytes: online.bytes / factor)
                if !relu.measured || reluProtocol == .ot { model.flightsPerActivationLayer = oneRound.onlineCost.flightsPerLayer }
            }
            offline.oneRound = oneRound.offlineCost
            offline.oneRoundDegree = degree
        }
        if layers.contains(where: { $0.kind == .linear }) {
            model.linearSeconds = linear.online.seconds
            model.linearBytes = linear.online.bytes
            model.linearFlights = linear.onlineFlights
            offline.linearSeconds = linear.offline.seconds
            offline.linearBytes = linear.offline.bytes
            offline.linearFlights = linear.offlineFlights
        }
        if hasOffline {
            offline.ot = ot ?? "iknp"
            if let previous = fallback.offline, previous.ot != offline.ot {
                throw SearchError.unreadableInput(path: source, reason: "measured with \(offline.ot) OT, the other reports "
                                                  + "with \(previous.ot); evaluate all of them with the same --ot")
            }
            model.offline = offline
        }
        // Newest first: "measured B (...); measured A (...); provisional model ..." (what each kind keeps).
        model.source = "measured \(source) (\(layers.count) steps, " + (relu.measured ? "\(reluProtocol.rawValue) ReLUs" : "no ReLUs")
            + (ot.map { ", \($0) OT" } ?? "") + (network.map { ", \($0)" } ?? "") + "); " + fallback.source
        return model
    }
}
