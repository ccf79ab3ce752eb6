import ArgumentParser
import Foundation
import Lattice
import SecureInference
import TwoParty

struct BenchCryptoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crypto",
        abstract: "Measure the cryptographic core: NTT, HE linear layer, OT extension, garbling, ReLU and square costs.",
        discussion: """
            One thread per party unless stated. Per-ReLU and per-square bytes come from running the real
            protocol on 16,384 elements (16x32x32) and counting the channel's bytes; --relu-bits sets k',
            the value bound of the ReLU circuit (ResNet-32 plans calibrate it per layer).
            """)

    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Write the JSON object to this file as well.") var out: String?
    @Option(help: "k': bits of the ReLU value bound.") var reluBits = 32

    func validate() throws {
        guard (9...64).contains(reluBits) else { throw ValidationError("--relu-bits must be in 9...64 (got \(reluBits))") }
    }

    func run() throws {
        var figures: [String: Double] = [:]
        func stage(_ name: String, _ body: () throws -> [String: Double]) throws {
            if !json { FileHandle.standardError.write(Data("measuring \(name)...\n".utf8)) }
            figures.merge(try body()) { _, new in new }
        }
        try stage("NTT and HE linear layer") { try LatticeBenchmark.run() }
        try stage("OT extension and multiplication") { TwoPartyOTBenchmark.run() }
        try stage("garbling") { GarblingBenchmark.run() }
        try stage("ReLU protocol") {
            let relu = try ProtocolBenchmark.measure(relu: true, valueBits: reluBits)
            return ["relu_offline_bytes": relu.offlineBytes, "relu_online_bytes": relu.onlineBytes,
                    "relu_offline_us": relu.offlineSeconds * 1e6, "relu_online_us": relu.onlineSeconds * 1e6,
                    "relu_protocol_value_bits": Double(reluBits)]
        }
        try stage("square protocol") {
            let square = try ProtocolBenchmark.measure(relu: false)
            return ["square_offline_bytes": square.offlineBytes, "square_online_bytes": square.onlineBytes,
                    "square_pairs_per_second_protocol": 1 / square.offlineSeconds,
                    "square_online_us": square.onlineSeconds * 1e6]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let data = try encoder.encode(figures.filter { $0.value.isFinite })
        if let out {
            try data.write(to: URL(fileURLWithPath: out), options: .atomic)
        }
        if json {
            print(String(decoding: data, as: UTF8.self))
        } else {
            let targets: [(String, String, String)] = [
                ("ntt_8192_forward_us", "<= 60", "us"), ("he_conv_ms", "<= 50", "ms"), ("he_conv_bytes", "<= 1.5e6", "B"),
                ("ot_extensions_per_second", ">= 1e7", "/s"), ("garble_and_gates_per_second", ">= 5e7", "/s"),
                ("evaluate_and_gates_per_second", ">= 1e8", "/s"), ("relu_and_gates", "<= 200", ""),
                ("relu_offline_bytes", "<= 8192", "B"), ("relu_online_bytes", "<= 700", "B"),
                ("square_pairs_per_second", "", "/s"),
            ]
            for (key, target, unit) in targets {
                let value = figures[key].map { String(format: "%.4g", $0) } ?? "n/a"
                print("\(key.padding(toLength: 32, withPad: " ", startingAt: 0)) \(value) \(unit)  (target \(target))")
            }
        }
    }
}
