import ArgumentParser
import Pipeline
import Foundation
import Lattice
import SecureInference
import Training
import Transport

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Classify one image with a `sibyl serve` server: the client's side of the secure protocol.",
        discussion: "The server never sees the image; the client learns the logits and nothing about the weights.")

    @Option(help: "Server address.") var host = "127.0.0.1"
    @Option(help: "Server port.") var port: UInt16 = 7070
    @Option(help: "A PNG image (resized to the plan's input size).") var image: String?
    @Option(help: "Index of a test image of --dataset instead of --image.") var cifarIndex: Int?
    @Option(help: "Dataset for --cifar-index.") var dataset: DatasetKind = .cifar100
    @Option(help: "Folder holding the datasets (for --cifar-index).") var dataDir = "Datasets"
    @Option(help: "Classes to list.") var top = 5
    @Option(help: "Seconds to wait for the server at any point (it may queue this client first).",
            transform: FlagValue.positive) var timeout = 120.0
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard (image == nil) != (cifarIndex == nil) else {
            throw ValidationError("give exactly one of --image FILE.png and --cifar-index I")
        }
        if let cifarIndex, cifarIndex < 0 { throw ValidationError("--cifar-index must be non-negative") }
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
    }

    func run() throws {
        // Everything local is checked before connecting, and the plan against it before the server
        // sets up a session.
        var label: Int?
        var pixels: [UInt8] = []
        var test: ImageSet?
        let kind = dataset
        if let cifarIndex {
            let images = try Datasets.loadTest(kind, directory: URL(fileURLWithPath: dataDir))
            guard cifarIndex < images.count else {
                throw ValidationError("--cifar-index \(cifarIndex) is beyond the \(images.count) test images")
            }
            let bytes = ImageSet.imageBytes
            pixels = Array(images.pixels[(cifarIndex * bytes)..<((cifarIndex + 1) * bytes)])
            label = Int(images.labels[cifarIndex])
            test = images
        } else if let image, !FileManager.default.isReadableFile(atPath: image) {
            throw ValidationError("--image \(image) cannot be read")
        }
        let channel = try TCPChannel.connect(host: host, port: port, connectTimeout: 10, timeout: timeout)
        channel.messageTimeout = timeout
        let announced = try SecureClientSession.handshake(channel: channel) { architecture in
            if let test {
                try checkPlanMatchesDataset(planName: architecture.planName, classes: architecture.classNames.count,
                                            input: architecture.input.shape, dataset: kind, images: test)
            }
        }
        // The server announces its OT source (iknp or silent); this client runs the same.
        let session = try OTChoice.client(channel: channel, architecture: announced)
        defer { session.finish() }
        let architecture = session.architecture
        let shape = architecture.input.shape
        if let image {
            pixels = try ImageFile.planes(pngAt: image, width: shape.width, height: shape.height)
        }
        guard pixels.count == shape.elements else {
            throw ValidationError("the plan takes \(shape) inputs, which a \(image == nil ? "CIFAR" : "PNG") image (3 colour planes) cannot give")
        }
        let input = PlaintextInput.normalize(pixels[...], spec: architecture.input)
        // The server chose the normalisation: an input it makes unencodable is an error, not a crash.
        let encoded = try FixedPointCompiler.encodeChecked(input, scale: architecture.program.inputTensor.scale, name: "the normalised image")
        let (logits, costs) = try session.infer(input: encoded)
        let scale = Double(1 << architecture.program.tensors[architecture.program.output].scale)
        let values = logits.map { Double(Int64(bitPattern: $0)) / scale }
        let largest = values.max() ?? 0
        let exps = values.map { Foundation.exp($0 - largest) }
        let total = exps.reduce(0, +)
        let ranked = values.indices.sorted { values[$0] > values[$1] }.prefix(top)
        func name(_ index: Int) -> String {
            index < architecture.classNames.count ? architecture.classNames[index] : "class \(index)"
        }
        if json {
            let object: [String: Any] = [
                "plan": architecture.planName,
                "logits": values,
                "top": ranked.map { ["class": $0, "name": name($0), "probability": exps[$0] / total] as [String: Any] },
                "label": label as Any,
                "offline": ["seconds": costs.offline.seconds, "bytes": costs.offline.bytes],
                "online": ["seconds": costs.online.seconds, "bytes": costs.online.bytes, "rounds": costs.online.rounds],
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("plan \(architecture.planName): top \(top)")
            for (rank, index) in ranked.enumerated() {
                print(String(format: "  %d. %-20@ %5.1f%%  (logit %.3f)", rank + 1, name(index) as NSString,
                             100 * exps[index] / total, values[index]))
            }
            if let label { print("  true label: \(name(label))") }
            print(String(format: "offline %.2f s, %.1f MB; online %.3f s, %.2f MB", costs.offline.seconds,
                         Double(costs.offline.bytes) / 1e6, costs.online.seconds, Double(costs.online.bytes) / 1e6))
        }
    }
}
