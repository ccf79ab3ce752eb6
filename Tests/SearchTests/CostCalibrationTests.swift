// The cost model fitted from measured per-layer statistics predicts, for the plan it was measured on,
// exactly the latency `sibyl evaluate` reports on each network: compute + bytes / bandwidth +
// flights x RTT / 2. On WAN (40 ms RTT) the flight term dominates, so counting flights as round trips
// (the bug this test was written for) would predict about twice the measured latency.
import NetworkCost
import Foundation
import NetworkPlan
import Planner
import Search
import XCTest

final class CostCalibrationTests: XCTestCase {
    /// Three ReLU slots and one polynomial slot; the runtime's steps as `sibyl evaluate` reports them.
    let slots = [SlotDescriptor(name: "a", channels: 4, elements: 256), SlotDescriptor(name: "b", channels: 4, elements: 256),
                 SlotDescriptor(name: "c", channels: 8, elements: 128), SlotDescriptor(name: "d", channels: 8, elements: 128)]
    let placement = Placement(choices: [.relu, .polynomial(degree: 2), .relu, .relu])

    var statistics: PlanStatistics {
        PlanStatistics(network: "loopback", layers: [
            .init(kind: "linear", elements: 0, online_seconds: 0.004, online_bytes: 2048, rounds: 1),    // masked input
            .init(kind: "relu", elements: 256, online_seconds: 0.002, online_bytes: 256 * 520, rounds: 2),
            .init(kind: "linear", elements: 0, online_seconds: 0.001, online_bytes: 0, rounds: 0),
            .init(kind: "polynomial", elements: 256, online_seconds: 0.0003, online_bytes: 256 * 16, rounds: 2),  // square
            .init(kind: "polynomial", elements: 0, online_seconds: 0.0001, online_bytes: 0, rounds: 0),          // coefficients
            .init(kind: "relu", elements: 128, online_seconds: 0.001, online_bytes: 128 * 520, rounds: 2),
            .init(kind: "relu", elements: 128, online_seconds: 0.001, online_bytes: 128 * 520, rounds: 2),
            .init(kind: "linear", elements: 0, online_seconds: 0.0005, online_bytes: 80, rounds: 1),     // output share
        ])
    }

    /// What `sibyl evaluate` reports: measured seconds, plus the emulated link's transfer and flights.
    func measured(on network: NetworkProfile) -> Double {
        let layers = statistics.layers
        let seconds = layers.reduce(0) { $0 + $1.online_seconds }
        let bytes = layers.reduce(0) { $0 + $1.online_bytes }
        let flights = layers.reduce(0) { $0 + $1.rounds }
        return seconds + bytes * 8 / network.bitsPerSecond + flights * network.roundTripSeconds / 2
    }

    func testFittedModelReproducesTheMeasuredLatencyOnLANAndWAN() throws {
        let model = try statistics.costModel(fallback: ProvisionalCostModel.standard, source: "test")
        XCTAssertEqual(model.flightsPerActivationLayer, 2, accuracy: 1e-12, "a polynomial slot is one layer of two flights")
        for network in [NetworkProfile.lan, NetworkProfile.wan] {
            let predicted = model.predictOnlineSeconds(placement: placement, slots: slots, network: network)
            XCTAssertEqual(predicted, measured(on: network), accuracy: 1e-9, network.name)
        }
    }

    func testProvisionalModelCountsOneRoundTripPerActivationLayer() {
        let model = ProvisionalCostModel.standard
        XCTAssertEqual(model.flightsPerActivationLayer, 2)
        let noCompute = CostModel(relu: .init(seconds: 0, bytes: 0), polynomial: .init(seconds: 0, bytes: 0),
                                  flightsPerActivationLayer: model.flightsPerActivationLayer, linearSeconds: 0,
                                  linearBytes: 0, linearFlights: 0, source: "test")
        XCTAssertEqual(noCompute.predictOnlineSeconds(placement: placement, slots: slots, network: .wan),
                       4 * NetworkProfile.wan.roundTripSeconds, accuracy: 1e-12)
    }

    func testOldFormModelsKeepThePredictionsTheyWereUsedWith() throws {
        // Search logs hold models of the old form ("rounds", each costing a whole RTT): read back, they
        // predict what the planner predicted then, so old searches replay and resume unchanged.
        let old = #"{"relu":{"seconds":1e-6,"bytes":648},"polynomial":{"seconds":1e-8,"bytes":16},"roundsPerActivationLayer":1.5,"#
            + #""linearSeconds":0.05,"linearBytes":1000,"linearRounds":3,"source":"old"}"#
        let model = try JSONDecoder().decode(CostModel.self, from: Data(old.utf8))
        let relus = Double(placement.reluCount(slots: slots)), polys = Double(placement.polynomialCount(slots: slots))
        let bytes = 1000 + relus * 648 + polys * 16
        let oldPrediction = 0.05 + relus * 1e-6 + polys * 1e-8 + bytes * 8 / 400e6 + (3 + 4 * 1.5) * 40e-3
        XCTAssertEqual(model.predictOnlineSeconds(placement: placement, slots: slots, network: .wan), oldPrediction, accuracy: 1e-12)
        let reencoded = try JSONDecoder().decode(CostModel.self, from: JSONEncoder().encode(model))
        XCTAssertEqual(reencoded, model)
    }
}
