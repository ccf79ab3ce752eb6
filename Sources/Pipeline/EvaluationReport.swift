// The report of a secure evaluation (`sibyl evaluate`): accuracy, agreement with the oracle and the float
// model, per-phase and per-layer costs, and latencies on emulated networks.
import Foundation
import NetworkCost
import SecureInference

/// What `sibyl evaluate --json` prints: per-image means, per-layer breakdown, emulated latencies.
public struct EvaluationReport: Encodable {
    struct Phase: Encodable {
        var seconds: Double
        var bytes: Double
        var bytesUp: Double
        var bytesDown: Double
        var rounds: Double
        var latencyLan: Double
        var latencyWan: Double
    }
    var plan: String
    var images: Int
    var accuracy: Double
    /// Share of images whose secure top-1 class equals the fixed-point oracle's.
    var agreementWithOracle: Double
    var agreementWithFloat: Double?
    /// Images whose secure logits equal the oracle's bit for bit (all of them for all-ReLU plans; local
    /// truncations in polynomial activations add up to one unit in the last place each).
    var exactOracleMatches: Int
    /// Largest logit difference from the oracle over all images, decoded.
    var maxOracleDeviation: Double
    /// Images with a logit off by more than 1.0 from the oracle's: failed (wrapped) truncations.
    var truncationFailures: Int
    /// Images whose values left a bound of the program (a ReLU's value bits, a square's or polynomial's
    /// range; `FixedPointOracle.exceedsBound`): secure equals oracle there, but may differ from the float model.
    var wrappedImages: Int
    var relus: Int
    var polynomialActivations: Int
    var offline: Phase
    var online: Phase
    /// Online latency per image on the network chosen by --network.
    var latency: Double
    var network: String
    /// The correlated-OT source: iknp or silent.
    var ot: String
    /// The ReLU protocol: garbled or ot.
    var relu: String
    /// Per protocol step, averaged over the images: the cost vocabulary's `StepCost`, which
    /// `sibyl calibrate --plan-stats` reads back to fit the planner's cost model.
    var layers: [StepCost]
    var wallSeconds: Double
    var peakResidentMegabytes: Double

    public init(plan: String, results: [SecureImageResult], floatAgreement: Double?, program: FixedPointProgram,
         wrappedImages: Int, wallSeconds: Double, peakResidentBytes: Int, network: String, ot: String = "iknp", relu: String = "garbled") {
        self.wrappedImages = wrappedImages
        self.ot = ot
        self.relu = relu
        let n = Double(results.count)
        self.plan = plan
        images = results.count
        accuracy = Double(results.filter { $0.top1 == $0.label }.count) / n
        agreementWithOracle = Double(results.filter { $0.top1 == $0.oracleTop1 }.count) / n
        agreementWithFloat = floatAgreement
        exactOracleMatches = results.filter(\.matchesOracle).count
        maxOracleDeviation = results.map(\.oracleDeviation).max() ?? 0
        truncationFailures = results.filter { $0.oracleDeviation > 1 }.count
        relus = program.reluCount
        polynomialActivations = program.squareCount + program.polynomialCount
        func phase(_ pick: (ImageCosts) -> PhaseStats) -> Phase {
            let stats = results.map { pick($0.costs) }
            let seconds = stats.map(\.seconds).reduce(0, +) / n
            let up = Double(stats.map(\.bytesUp).reduce(0, +)) / n
            let down = Double(stats.map(\.bytesDown).reduce(0, +)) / n
            let rounds = Double(stats.map(\.rounds).reduce(0, +)) / n
            func emulate(_ network: NetworkProfile) -> Double { seconds + network.latency(bytes: up + down, flights: rounds) }
            return Phase(seconds: seconds, bytes: up + down, bytesUp: up, bytesDown: down, rounds: rounds,
                         latencyLan: emulate(.lan), latencyWan: emulate(.wan))
        }
        offline = phase(\.offline)
        online = phase(\.online)
        self.network = network
        switch network {
        case "lan": latency = online.latencyLan
        case "wan": latency = online.latencyWan
        default: latency = online.seconds
        }
        var layers: [Int: StepCost] = [:]
        for result in results {
            for (isOnline, phaseStats) in [(false, result.costs.offline), (true, result.costs.online)] {
                for step in phaseStats.steps {
                    let (kind, elements) = program.costKind(ofStep: step.step)
                    var layer = layers[step.step] ?? StepCost(step: step.step, label: step.label, kind: kind, elements: elements,
                                                              degree: program.polynomialDegree(ofStep: step.step))
                    if isOnline {
                        layer.onlineSeconds += step.seconds / n
                        layer.onlineBytes += Double(step.bytes) / n
                        layer.rounds += Double(step.rounds) / n
                    } else {
                        layer.offlineSeconds += step.seconds / n
                        layer.offlineBytes += Double(step.bytes) / n
                        layer.offlineRounds += Double(step.rounds) / n
                    }
                    layers[step.step] = layer
                }
            }
        }
        self.layers = layers.values.sorted { ($0.step ?? 0) < ($1.step ?? 0) }
        self.wallSeconds = wallSeconds
        peakResidentMegabytes = Double(peakResidentBytes) / 1e6
    }

    public var summary: String {
        func mb(_ bytes: Double) -> String { String(format: "%.1f MB", bytes / 1e6) }
        var lines = [
            "plan \(plan): \(images) images, \(relus) ReLUs and \(polynomialActivations) polynomial activations per image (\(ot) OT, \(relu) ReLUs)",
            String(format: "secure accuracy %.3f; top-1 agreement with oracle %.3f%@; logits equal to the oracle's on %d of %d images (largest difference %.2g, %d truncation failures)",
                   accuracy, agreementWithOracle,
                   agreementWithFloat.map { String(format: ", with float model %.3f", $0) } ?? "",
                   exactOracleMatches, images, maxOracleDeviation, truncationFailures),
            "\(wrappedImages) of \(images) images left a bound of the program (ReLU value bits, square or polynomial range)",
            String(format: "offline per image: %.2f s, %@ (up %@, down %@)", offline.seconds, mb(offline.bytes),
                   mb(offline.bytesUp), mb(offline.bytesDown)),
            String(format: "online per image:  %.3f s, %@, %.0f flights; LAN %.3f s, WAN %.3f s", online.seconds,
                   mb(online.bytes), online.rounds, online.latencyLan, online.latencyWan),
            String(format: "peak resident memory (both parties) %.0f MB", peakResidentMegabytes),
        ]
        lines.append("per layer (offline s / MB, online s / MB):")
        for layer in layers where layer.offlineBytes + layer.onlineBytes > 0 {
            lines.append(String(format: "  %-40@ %7.3f %9.2f  %7.4f %8.3f", (layer.label ?? "") as NSString,
                                layer.offlineSeconds, layer.offlineBytes / 1e6, layer.onlineSeconds, layer.onlineBytes / 1e6))
        }
        return lines.joined(separator: "\n")
    }
}
