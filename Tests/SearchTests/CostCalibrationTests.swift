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
            .init(kind: .linear, elements: 0, onlineSeconds: 0.004, onlineBytes: 2048, rounds: 1),    // masked input
            .init(kind: .relu, elements: 256, onlineSeconds: 0.002, onlineBytes: 256 * 520, rounds: 2),
            .init(kind: .linear, elements: 0, onlineSeconds: 0.001, onlineBytes: 0, rounds: 0),
            .init(kind: .polynomial, elements: 256, onlineSeconds: 0.0003, onlineBytes: 256 * 16, rounds: 2),  // square
            .init(kind: .polynomial, elements: 0, onlineSeconds: 0.0001, onlineBytes: 0, rounds: 0),          // coefficients
            .init(kind: .relu, elements: 128, onlineSeconds: 0.001, onlineBytes: 128 * 520, rounds: 2),
            .init(kind: .relu, elements: 128, onlineSeconds: 0.001, onlineBytes: 128 * 520, rounds: 2),
            .init(kind: .linear, elements: 0, onlineSeconds: 0.0005, onlineBytes: 80, rounds: 1),     // output share
        ])
    }

    /// What `sibyl evaluate` reports: measured seconds, plus the emulated link's transfer and flights.
    func measured(on network: NetworkProfile) -> Double {
        let layers = statistics.layers
        let seconds = layers.reduce(0) { $0 + $1.onlineSeconds }
        let bytes = layers.reduce(0) { $0 + $1.onlineBytes }
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

    // Three evaluations of one network, as `sibyl evaluate --json` reports them with the same --ot: the
    // all-ReLU plan with garbled ReLUs, the same with OT-based ReLUs (more flights, nothing offline), and
    // an all-polynomial degree-4 plan. Each one's fitted model predicts its measured total exactly.
    let allReLU = Placement(choices: [.relu, .relu, .relu, .relu])
    let allPolynomial = Placement(choices: [.polynomial(degree: 4), .polynomial(degree: 4), .polynomial(degree: 4), .polynomial(degree: 4)])

    func report(relu: ReLUProtocol?, activation: (Int) -> StepCost) -> PlanStatistics {
        var layers = [StepCost(kind: .linear, elements: 0, offlineSeconds: 0.5, offlineBytes: 4e6, offlineRounds: 6,
                               onlineSeconds: 0.004, onlineBytes: 2048, rounds: 1)]
        for slot in slots { layers.append(activation(slot.elements)) }
        layers.append(StepCost(kind: .linear, elements: 0, onlineSeconds: 0.0005, onlineBytes: 80, rounds: 1))
        return PlanStatistics(network: "loopback", relu: relu, ot: "silent", layers: layers)
    }
    var garbled: PlanStatistics {
        report(relu: .garbled) { n in StepCost(kind: .relu, elements: n, offlineSeconds: 7e-6 * Double(n), offlineBytes: 2600 * Double(n),
                                               offlineRounds: 2, onlineSeconds: 7e-7 * Double(n), onlineBytes: 560 * Double(n), rounds: 2) }
    }
    var otReLU: PlanStatistics {
        report(relu: .ot) { n in StepCost(kind: .relu, elements: n, offlineSeconds: 2e-7 * Double(n), onlineSeconds: 1.1e-5 * Double(n),
                                          onlineBytes: 130 * Double(n), rounds: 12) }
    }
    var polynomial: PlanStatistics {
        report(relu: nil) { n in StepCost(kind: .polynomial, elements: n, degree: 4, offlineSeconds: 2.8e-5 * Double(n),
                                          offlineBytes: 3950 * Double(n), offlineRounds: 9, onlineSeconds: 1.4e-7 * Double(n),
                                          onlineBytes: 72 * Double(n), rounds: 2) }
    }

    func measuredTotal(_ statistics: PlanStatistics, on network: NetworkProfile) -> Double {
        let l = statistics.layers
        func sum(_ key: KeyPath<StepCost, Double>) -> Double { l.reduce(0) { $0 + $1[keyPath: key] } }
        return sum(\.offlineSeconds) + network.latency(bytes: sum(\.offlineBytes), flights: sum(\.offlineRounds))
            + sum(\.onlineSeconds) + network.latency(bytes: sum(\.onlineBytes), flights: sum(\.rounds))
    }

    func testReportsOfBothReLUProtocolsAndPolynomialsFoldIntoOneModelOfTotals() throws {
        var model = ProvisionalCostModel.standard
        for (index, statistics) in [garbled, otReLU, polynomial].enumerated() {
            model = try statistics.costModel(fallback: model, source: "report \(index)")
        }
        XCTAssertEqual(model.otReLU?.flightsPerLayer, 12)
        XCTAssertEqual(model.offline?.oneRoundDegree, 4)
        XCTAssertEqual(model.offline?.ot, "silent")
        for network in [NetworkProfile.lan, NetworkProfile.wan] {
            for (statistics, placement, relu) in [(garbled, allReLU, ReLUProtocol.garbled), (otReLU, allReLU, .ot),
                                                  (polynomial, allPolynomial, .garbled), (polynomial, allPolynomial, .ot)] {
                let query = CostQuery(network: network, phase: .total, relu: relu)
                XCTAssertNil(model.missingFigures(for: query, degrees: [4]))
                XCTAssertEqual(model.predictSeconds(placement: placement, slots: slots, query: query),
                               measuredTotal(statistics, on: network), accuracy: 1e-9, "\(query)")
            }
        }
        // Degree 6 scales degree 4's offline figures by the OLE's slots per prime (6.63 / 4.63).
        let six = try XCTUnwrap(model.offline?.polynomial(degree: 6))
        XCTAssertEqual(six.perElement.bytes, 3950 * 6.63 / 4.63, accuracy: 1e-6)
        let encoded = try JSONEncoder().encode(model)
        XCTAssertEqual(try JSONDecoder().decode(CostModel.self, from: encoded), model)
    }

    func testAModelWithoutTheFiguresATargetNeedsSaysHowToGetThem() throws {
        let onlineOnly = try garbled.costModel(fallback: ProvisionalCostModel.standard, source: "garbled.json")
        let query = CostQuery(network: .wan, phase: .total, relu: .ot)
        let message = try XCTUnwrap(onlineOnly.missingFigures(for: query, degrees: [2, 4]))
        for part in ["online figures of the OT-based ReLU", "offline figures of ot ReLUs", "squares", "degree 3 or more", "sibyl calibrate"] {
            XCTAssertTrue(message.contains(part), message)
        }
        XCTAssertTrue(onlineOnly.predictSeconds(placement: allReLU, slots: slots, query: query).isNaN)
        XCTAssertNil(ProvisionalCostModel.standard.missingFigures(for: CostQuery(network: .lan), degrees: [2]))
        XCTAssertNotNil(ProvisionalCostModel.standard.missingFigures(for: CostQuery(network: .lan, phase: .total), degrees: [2]))
    }

    func testLatencyTargetsKeepTheirOldFormAndTheWANDefaultsAreTheTotalWithOTReLUs() throws {
        XCTAssertEqual(SearchTarget.latency(seconds: 1, query: CostQuery(network: .lan)), .latency(seconds: 1, network: .lan))
        let wan = CostQuery(network: .wan, phase: .total, relu: .ot)
        XCTAssertEqual(SearchTarget.latency(seconds: 9, query: wan), .cost(seconds: 9, query: wan))
        let target = SearchTarget.cost(seconds: 9, query: wan)
        XCTAssertEqual(try JSONDecoder().decode(SearchTarget.self, from: JSONEncoder().encode(target)), target)
        XCTAssertEqual(ReLUProtocol.defaultChoice(network: "wan"), .ot)
        XCTAssertEqual(CostPhase.defaultChoice(network: "wan"), .total)
        XCTAssertEqual(ReLUProtocol.defaultChoice(network: "lan"), .ot)
        XCTAssertEqual(CostPhase.defaultChoice(network: "lan"), .online)
    }

    /// A search started before the defaults changed (the provisional model, an online WAN target with garbled
    /// ReLUs) resumes with the same flags: it keeps the cost model and latency query it was started with.
    func testAResumedSearchKeepsTheCostsItStartedWith() throws {
        let slots4 = slots
        func request(_ target: PlanRequest.Target, _ model: CostModel) -> PlanRequest {
            PlanRequest(baseline: "b.h5", dataset: "synthetic", population: 2, budgetEpochs: 1, target: target, out: "o",
                        pinned: .none, costModel: model)
        }
        let stored = try PlanRun.settings(for: request(.latency(seconds: 9, network: "wan"), ProvisionalCostModel.standard),
                                          slots: slots4)
        var now = request(.cost(seconds: 9, network: "wan", phase: nil, relu: nil),
                          try garbled.costModel(fallback: ProvisionalCostModel.standard, source: "new.json"))
        var lines: [String] = []
        PlanRun.adoptCosts(of: stored, into: &now, log: { lines.append($0) })
        XCTAssertEqual(try PlanRun.settings(for: now, slots: slots4), stored)
        XCTAssertEqual(lines.count, 2, "\(lines)")
        // Another target is not adopted (the log's comparison then refuses it).
        var other = request(.cost(seconds: 5, network: "wan", phase: .online, relu: .garbled), ProvisionalCostModel.standard)
        PlanRun.adoptCosts(of: stored, into: &other, log: { _ in })
        XCTAssertNotEqual(try other.searchTarget(), stored.target)
    }
}
