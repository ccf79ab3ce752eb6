import Foundation
import Lattice
import NetworkPlan
import SecureInference
import XCTest
import TestSupport

/// The schemes a protocol test body runs over: Sibyl's (BFV, IKNP), the insecure stand-ins (plain linear
/// layers, a dealer's OTs), and each stand-in with the other real scheme.
enum Suite: CaseIterable {
    case real, standIns, bfvWithDealer, plainWithIKNP, silent

    func run(_ program: FixedPointProgram, _ architecture: PublicArchitecture, inputs: [[UInt64]],
             link: LocalLink = .inMemory) throws -> [SecureImageResult] {
        switch self {
        case .real:
            return try LocalEvaluation<BFVLinearScheme, IKNPScheme>(program: program, architecture: architecture).run(inputs: inputs, link: link)
        case .standIns:
            return try LocalEvaluation<InsecureLinearScheme, IdealOTScheme>(program: program, architecture: architecture).run(inputs: inputs, link: link)
        case .bfvWithDealer:
            return try LocalEvaluation<BFVLinearScheme, IdealOTScheme>(program: program, architecture: architecture).run(inputs: inputs, link: link)
        case .plainWithIKNP:
            return try LocalEvaluation<InsecureLinearScheme, IKNPScheme>(program: program, architecture: architecture).run(inputs: inputs, link: link)
        case .silent:
            return try LocalEvaluation<BFVLinearScheme, SilentOTScheme>(program: program, architecture: architecture).run(inputs: inputs, link: link)
        }
    }
}

final class SecureProtocolTests: XCTestCase {
    func architecture(for program: FixedPointProgram, graph: NetworkGraph) throws -> PublicArchitecture {
        let input = try graph.validate()[0]
        return try PublicArchitecture(program: program, input: InputSpec(shape: input, mean: [Float](repeating: 0, count: input.channels),
                                                                      std: [Float](repeating: 1, count: input.channels)),
                                  classNames: [], planName: "test")
    }

    func compile(_ graph: NetworkGraph, activations: [String: SlotChoice], random: inout SplitMix64,
                 fractionalBits: Int = 8, reluBits: Int = 28) throws -> FixedPointProgram {
        let weights = try randomWeights(graph, random: &random)
        var coefficients: [String: SlotCoefficients] = [:]
        let shapes = try graph.validate()
        for (index, node) in graph.nodes.enumerated() {
            if case .activation(let slot) = node.op, let degree = activations[slot]?.polynomialDegree {
                coefficients[slot] = (0..<shapes[index].channels).map { _ in
                    Array(([random.uniform(-0.2, 0.3), random.uniform(0.2, 0.8), random.uniform(0.05, 0.3)]
                        + (3..<max(3, degree + 1)).map { k in random.uniform(-1, 1) / Float(1 << (4 * (k - 1))) }).prefix(degree + 1))
                }
            }
        }
        let slots = try graph.slots().map(\.name)
        return try FixedPointCompiler.compile(
            graph: graph, weights: weights, activations: activations, coefficients: coefficients,
            fixedPoint: FixedPointConfig(fractionalBits: fractionalBits,
                                         reluValueBits: Dictionary(uniqueKeysWithValues: slots.map { ($0, reluBits) })))
    }

    func inputs(_ count: Int, program: FixedPointProgram, random: inout SplitMix64) -> [[UInt64]] {
        let oracle = FixedPointOracle(program: program)
        return (0..<count).map { _ in
            oracle.encodeInput((0..<program.tensors[0].shape.elements).map { _ in random.uniform(-2, 2) })
        }
    }

    /// Every layer kind in one residual network; secure logits must equal the oracle's exactly.
    func testResidualNetworkEqualsOracleOverTCP() throws {
        let seed: UInt64 = 2024
        var random = SplitMix64(seed: seed)
        let graph = residualGraph()
        let program = try compile(graph, activations: ["stem.act": .relu, "b.act1": .polynomial(degree: 2),
                                                       "b.act2": .relu, "c.act1": .polynomial(degree: 2)],
                                  random: &random)
        let images = inputs(3, program: program, random: &random)
        for suite in Suite.allCases {
        let results = try suite.run(program, try architecture(for: program, graph: graph), inputs: images,
                                    link: suite == .real ? .tcp : .inMemory)
        XCTAssertEqual(results.count, 3, "\(suite)")
        for result in results {
            // Polynomial layers truncate locally: up to one unit in the last place per truncation.
            XCTAssertLessThan(result.oracleDeviation, 0.1, "seed \(seed): image \(result.index) strays from the oracle")
            XCTAssertGreaterThan(result.costs.offline.bytes, 0)
            XCTAssertGreaterThan(result.costs.online.bytes, 0)
            // Online: the input, two messages per activation layer, the output share.
            XCTAssertGreaterThanOrEqual(result.costs.online.rounds, 2 * 4)
        }
        }
    }

    /// Polynomials of every degree 1...6 (degree 2: the square path; 3 and up: one round in Z_(2^128)) on
    /// random weights: secure logits follow the oracle up to the local truncations, for random inputs and
    /// inputs at the edges of the range the scales are designed for (0, one unit, +-16; higher terms scaled
    /// so that |p| stays of the order of 16 there, as for a ReLU approximation).
    func testEveryPolynomialDegreeEqualsOracle() throws {
        let input = TensorShape(channels: 2, height: 4, width: 4)
        for degree in PlanManifest.supportedPolynomialDegrees {
            let seed = UInt64(500 + degree)
            var random = SplitMix64(seed: seed)
            let graph = NetworkGraph(nodes: [GraphNode(.input(input), inputs: []),
                                             GraphNode(.activation(slot: "a"), inputs: [0]),
                                             GraphNode(.dense(name: "fc", outFeatures: 3, bias: true), inputs: [1])])
            let program = try compile(graph, activations: ["a": .polynomial(degree: degree)], random: &random, fractionalBits: 13)
            let kinds = program.steps.map { step -> String in
                switch step { case .polynomial: "polynomial"; case .square: "square"; default: "other" }
            }
            XCTAssertEqual(kinds.contains("polynomial"), degree >= 3, "degree \(degree): \(kinds)")
            XCTAssertEqual(kinds.contains("square"), degree == 2, "degree \(degree)")
            let oracle = FixedPointOracle(program: program)
            let edges: [Float] = [0, 1.0 / 8192, -1.0 / 8192, 16, -16, 15.9, -15.9]
            let images = (0..<3).map { image in
                oracle.encodeInput((0..<input.elements).map { k in
                    image == 0 && k < edges.count ? edges[k] : random.uniform(-16, 16)
                })
            }
            for suite in Suite.allCases {
            for result in try suite.run(program, try architecture(for: program, graph: graph), inputs: images) {
                XCTAssertEqual(result.top1, result.oracleTop1, "\(suite), degree \(degree), seed \(seed), image \(result.index)")
                // Degrees 5 and 6 truncate their input to 12 and 10 bits first: one unit there, times p'(x).
                XCTAssertLessThan(result.oracleDeviation, 0.1, "degree \(degree), seed \(seed), image \(result.index)")
                // One round trip for the activation layer: input, two flights, output.
                XCTAssertEqual(result.costs.online.rounds, degree == 1 ? 2 : 4, "degree \(degree)")
            }
            }
        }
    }

    /// Slots split by channel (SAFENet): some channels ReLU (garbled circuits), the others polynomials of
    /// degree 1, 2 or 4, gathered and scattered back; secure logits follow the oracle, and the ReLU count is
    /// the ReLU channels' elements only.
    func testMixedChannelSlotsEqualOracle() throws {
        let seed: UInt64 = 610
        var random = SplitMix64(seed: seed)
        let graph = residualGraph()
        let activations: [String: SlotChoice] = ["stem.act": .mixed(polynomialChannels: [1, 2], degree: 2),
                                                 "b.act1": .mixed(polynomialChannels: [0], degree: 4),
                                                 "b.act2": .relu, "c.act1": .mixed(polynomialChannels: [1], degree: 1)]
        let program = try compile(graph, activations: activations, random: &random, fractionalBits: 12)
        XCTAssertTrue(program.steps.contains { if case .scatter = $0 { true } else { false } })
        XCTAssertTrue(program.steps.contains { if case .polynomial = $0 { true } else { false } })
        // Every step of an activation is attributed to it by kind, not by name.
        let kinds = program.steps.indices.map { program.costKind(ofStep: $0).kind }
        for (index, step) in program.steps.enumerated() {
            switch step {
            case .gather, .scatter: XCTAssertNotEqual(kinds[index], .linear, "step \(index)")
            case .relu: XCTAssertEqual(kinds[index], .relu)
            case .square, .polynomial: XCTAssertEqual(kinds[index], .polynomial)
            case .linear(_, _, _, let name): XCTAssertEqual(kinds[index], name.hasSuffix(".polynomial") ? .polynomial : .linear, name)
            default: break
            }
        }
        // ReLU channels x plane: stem 2 of 4 at 8x8, b.act1 5 of 6 at 4x4, b.act2 6 at 4x4, c.act1 5 at 4x4.
        XCTAssertEqual(program.reluCount, 2 * 64 + 5 * 16 + 6 * 16 + 5 * 16)
        let images = inputs(3, program: program, random: &random)
        // A split slot's ReLU and polynomial parts share one round trip: 4 activation layers (c.act1's
        // polynomial part is degree 1, local) are 8 flights, plus the input and the output.
        XCTAssertEqual(program.onlineBarriers.filter { $0 }.count, 4)
        for suite in Suite.allCases {
            for result in try suite.run(program, try architecture(for: program, graph: graph), inputs: images) {
                XCTAssertEqual(result.top1, result.oracleTop1, "\(suite), seed \(seed), image \(result.index)")
                XCTAssertLessThan(result.oracleDeviation, 0.1, "\(suite), seed \(seed), image \(result.index)")
                XCTAssertEqual(result.costs.online.rounds, 2 * 4 + 2, "\(suite): online flights")
            }
        }
    }

    /// Without local truncations (all-ReLU networks without average pooling, such as the CIFAR ResNets)
    /// the secure logits equal the oracle's bit for bit.
    func testAllReLUResidualNetworkIsExact() throws {
        var random = SplitMix64(seed: 31)
        var nodes = residualGraph().nodes
        nodes.remove(at: 16)                                  // the 2x2 average pool
        nodes[16] = GraphNode(.globalAveragePool, inputs: [15])
        nodes[17] = GraphNode(.dense(name: "fc", outFeatures: 7, bias: true), inputs: [16])
        let graph = NetworkGraph(nodes: nodes)
        let program = try compile(graph, activations: [:], random: &random)
        XCTAssertFalse(program.steps.contains { if case .truncate = $0 { true } else { false } })
        let images = inputs(2, program: program, random: &random)
        for suite in [Suite.real, .silent] {
            let results = try suite.run(program, try architecture(for: program, graph: graph), inputs: images)
            XCTAssertTrue(results.allSatisfy(\.matchesOracle), "\(suite)")
        }
    }

    /// The OT-based ReLU (`--relu ot`) in a session: an all-ReLU residual network gives the oracle's logits
    /// bit for bit, as garbled circuits do, over every suite (stand-ins and real schemes, IKNP and silent OT);
    /// with ReLU and polynomial channels mixed in slots and polynomial layers, the result follows the oracle
    /// up to the polynomials' local truncations. Offline, the client uploads its linear requests and, after
    /// them, the ReLUs' choice bits (the server sends back its reverse ones and the triples' 1-of-4 tables: far
    /// less offline traffic than garbled tables).
    func testOTReLUSessionsEqualOracle() throws {
        var random = SplitMix64(seed: 77)
        var nodes = residualGraph().nodes
        nodes.remove(at: 16)
        nodes[16] = GraphNode(.globalAveragePool, inputs: [15])
        nodes[17] = GraphNode(.dense(name: "fc", outFeatures: 7, bias: true), inputs: [16])
        let exactGraph = NetworkGraph(nodes: nodes)
        let exact = try compile(exactGraph, activations: [:], random: &random)
        var exactArchitecture = try architecture(for: exact, graph: exactGraph)
        exactArchitecture.relu = .ot
        let images = inputs(2, program: exact, random: &random)
        // The offline phase is pipelined (a run of requests sent together wherever the client's shares come
        // from activations or the input), never for the first term, with either ReLU protocol (the server
        // reads the requests sent ahead before a garbled ReLU's own exchange).
        let early = exact.earlyRequests(reluProtocol: .ot)
        XCTAssertTrue(early.contains(true))
        XCTAssertFalse(early[0])
        let free = exact.responseFreeShares(reluProtocol: .ot)
        for (i, (step, term)) in exact.linearTermOrder.enumerated() {
            guard case .linear(_, let terms, _, _) = exact.steps[step] else { continue }
            XCTAssertEqual(early[i], i > 0 && free[terms[term].input], "term \(i)")
        }
        XCTAssertEqual(exact.earlyRequests(reluProtocol: .garbled), early)
        // Offline, the client uploads only its requests: compact (the request chooses the mask) for the first
        // term reading a drawn share (the input's mask, a ReLU's output), with given masks for the others.
        let context = try exactArchitecture.heParameters.context
        let shapes = try exact.linearShapes()
        var chosenOnce = Set<Int>(), compact = 0, given = 0
        for (step, term) in exact.linearTermOrder {
            guard case .linear(_, let terms, _, _) = exact.steps[step], let shape = shapes[step]?[term] else { continue }
            let input = terms[term].input
            let drawn = input == FixedPointProgram.input || exact.steps.contains { if case .relu = $0 { $0.output == input } else { false } }
            compact += try context.requestBytes(for: shape, choosingMask: drawn && chosenOnce.insert(input).inserted)
            given += try context.requestBytes(for: shape)
        }
        XCTAssertLessThan(compact + 64 * exact.linearTermOrder.count, given)
        for suite in Suite.allCases {
            let results = try suite.run(exact, exactArchitecture, inputs: images, link: suite == .real ? .tcp : .inMemory)
            XCTAssertTrue(results.allSatisfy(\.matchesOracle), "\(suite): OT ReLU logits differ from the oracle")
            if suite == .real {
                for result in results {
                    // The linear steps' upload: the requests alone (the ReLUs' choices come in their own steps).
                    let linearUp = result.costs.offline.steps.filter { stats in
                        guard exact.steps.indices.contains(stats.step), case .linear = exact.steps[stats.step] else { return false }
                        return true
                    }.reduce(0) { $0 + Int($1.bytesUp) }
                    XCTAssertGreaterThanOrEqual(linearUp, compact, "\(suite)")
                    XCTAssertLessThanOrEqual(linearUp, compact + 64 * exact.linearTermOrder.count, "\(suite)")
                }
            }
        }
        let graph = residualGraph()
        let mixed = try compile(graph, activations: ["stem.act": .mixed(polynomialChannels: [1, 2], degree: 2),
                                                     "b.act1": .polynomial(degree: 4), "b.act2": .relu,
                                                     "c.act1": .mixed(polynomialChannels: [1], degree: 3)],
                                random: &random, fractionalBits: 12)
        var mixedArchitecture = try architecture(for: mixed, graph: graph)
        mixedArchitecture.relu = .ot
        // Pipelined too: the polynomials' and squares' OLEs run after the requests sent ahead of them.
        XCTAssertTrue(mixed.earlyRequests(reluProtocol: .ot).contains(true))
        let garbled = try Suite.real.run(mixed, try architecture(for: mixed, graph: graph), inputs: images.map { _ in
            inputs(1, program: mixed, random: &random)[0] })
        let mixedImages = inputs(2, program: mixed, random: &random)
        for suite in [Suite.real, .standIns, .silent] {
            for result in try suite.run(mixed, mixedArchitecture, inputs: mixedImages) {
                XCTAssertEqual(result.top1, result.oracleTop1, "\(suite), image \(result.index)")
                XCTAssertLessThan(result.oracleDeviation, 0.1, "\(suite), image \(result.index)")
                // No garbled tables: offline is the linear layers, the polynomials' OLEs and the ReLUs' correlations.
                XCTAssertLessThan(result.costs.offline.bytes, garbled[0].costs.offline.bytes, "\(suite)")
            }
        }
    }

    /// Per-layer programs: each layer kind alone between an input and a dense output.
    func testSingleLayerKindsEqualOracle() throws {
        let input = TensorShape(channels: 2, height: 6, width: 6)
        let layers: [(String, [GraphNode], [String: SlotChoice])] = [
            ("conv stride 2 padding 1", [GraphNode(.conv(name: "c", outChannels: 3, kernel: 3, stride: 2, padding: 1, bias: true), inputs: [0])], [:]),
            ("conv 1x1", [GraphNode(.conv(name: "c", outChannels: 3, kernel: 1, stride: 1, padding: 0, bias: false), inputs: [0])], [:]),
            ("relu", [GraphNode(.activation(slot: "a"), inputs: [0])], ["a": .relu]),
            ("polynomial", [GraphNode(.activation(slot: "a"), inputs: [0])], ["a": .polynomial(degree: 2)]),
            ("average pool", [GraphNode(.averagePool(kernel: 2, stride: 2), inputs: [0])], [:]),
            ("residual add", [GraphNode(.conv(name: "c", outChannels: 2, kernel: 3, stride: 1, padding: 1, bias: true), inputs: [0]),
                              GraphNode(.add, inputs: [1, 0])], [:]),
        ]
        var random = SplitMix64(seed: 77)
        for (name, body, activations) in layers {
            var nodes = [GraphNode(.input(input), inputs: [])] + body
            nodes.append(GraphNode(.dense(name: "fc", outFeatures: 4, bias: true), inputs: [nodes.count - 1]))
            let graph = NetworkGraph(nodes: nodes)
            let program = try compile(graph, activations: activations, random: &random)
            let images = inputs(2, program: program, random: &random)
            for suite in [Suite.real, .standIns] {
                let results = try suite.run(program, try architecture(for: program, graph: graph), inputs: images)
                let truncates = program.steps.contains { if case .truncate = $0 { true } else { false } }
                if truncates {
                    XCTAssertTrue(results.allSatisfy { $0.oracleDeviation < 0.05 }, "\(suite), \(name): secure logits stray from the oracle")
                } else {
                    XCTAssertTrue(results.allSatisfy(\.matchesOracle), "\(suite), \(name): secure logits differ from the oracle")
                }
            }
        }
    }

    /// Twelve fractional bits on a 64-channel 3x3 convolution whose outputs are read in full (by the dense
    /// layer): the standard parameters cannot hold the flooded noise at t = 2^64, so the plan announces the
    /// wide set, and the protocol still equals the oracle. With a ReLU reading 48 bits between them the
    /// convolution runs modulo 2^48, where the standard set has room.
    func testWideParametersAreChosenWhenNeeded() throws {
        var random = SplitMix64(seed: 12)
        let nodes = [
            GraphNode(.input(TensorShape(channels: 64, height: 4, width: 4)), inputs: []),
            GraphNode(.conv(name: "c", outChannels: 64, kernel: 3, stride: 1, padding: 1, bias: true), inputs: [0]),
            GraphNode(.activation(slot: "a"), inputs: [1]),
            GraphNode(.dense(name: "fc", outFeatures: 3, bias: true), inputs: [2]),
        ]
        let withReLU = NetworkGraph(nodes: nodes)
        let graph = NetworkGraph(nodes: [nodes[0], nodes[1], GraphNode(.dense(name: "fc", outFeatures: 3, bias: true), inputs: [1])])
        var weights = try randomWeights(withReLU, random: &random)
        weights["c.weight"] = weights["c.weight"]!.map { _ in random.uniform(-6, 6) }  // |w| 2^12 up to 2^14.6
        func compiled(_ f: Int, _ g: NetworkGraph) throws -> FixedPointProgram {
            try FixedPointCompiler.compile(graph: g, weights: weights, activations: g == withReLU ? ["a": .relu] : [:], coefficients: [:],
                                           fixedPoint: FixedPointConfig(fractionalBits: f, reluValueBits: ["a": 48]))
        }
        let program = try compiled(12, graph)
        XCTAssertEqual(try HEParameterSet.select(for: try compiled(4, graph)), .standard)
        XCTAssertEqual(try HEParameterSet.select(for: try compiled(12, withReLU)), .standard)
        XCTAssertEqual(try compiled(12, withReLU).linearShapes().values.flatMap { $0 }.map(\.plaintextBits).sorted(), [48, 64])
        let selected = try HEParameterSet.select(for: program)
        XCTAssertEqual(selected, .wide)
        let architecture = try architecture(for: program, graph: graph)
        XCTAssertEqual(architecture.heParameters, selected)
        let results = try LocalSecureEvaluation(program: program, architecture: architecture)
            .run(inputs: inputs(1, program: program, random: &random), link: .inMemory)
        // The convolution's outputs are truncated locally before the dense layer: one unit in the last place.
        XCTAssertTrue(results.allSatisfy { $0.oracleDeviation < 0.01 && $0.top1 == $0.oracleTop1 },
                      "parameters \(selected): secure logits stray from the oracle")
    }

    func testMalformedProgramsAreRejected() throws {
        var random = SplitMix64(seed: 8)
        let program = try compile(residualGraph(), activations: [:], random: &random)
        XCTAssertNoThrow(try program.validate())
        XCTAssertNoThrow(try program.publicView().validate())
        var broken = program
        broken.output = program.tensors.count + 5
        XCTAssertThrowsError(try broken.validate())
        broken = program
        broken.tensors[1].shape.channels = 1 << 30
        XCTAssertThrowsError(try broken.validate())
        broken = program
        broken.steps.swapAt(0, 1)   // a tensor used before it is defined
        XCTAssertThrowsError(try broken.validate())
        broken = program
        if let index = broken.steps.firstIndex(where: { if case .relu = $0 { true } else { false } }),
           case .relu(let o, let i, _, _, let slot) = broken.steps[index] {
            broken.steps[index] = .relu(output: o, input: i, valueBits: 80, shift: 3, slot: slot)
            XCTAssertThrowsError(try broken.validate())
        }
    }

    func testPublicViewHidesWeights() throws {
        var random = SplitMix64(seed: 3)
        let program = try compile(residualGraph(), activations: [:], random: &random)
        let text = String(decoding: try JSONEncoder().encode(program.publicView()), as: UTF8.self)
        for step in program.publicView().steps {
            if case .linear(_, let terms, let bias, _) = step {
                XCTAssertTrue(bias.isEmpty)
                for term in terms {
                    switch term.map {
                    case .conv(let w, _, _, _, _, _), .dense(let w, _, _), .diagonal(let w): XCTAssertTrue(w.isEmpty)
                    case .windowSum: break
                    }
                }
            }
        }
        XCTAssertLessThan(text.count, 20_000)
    }
}
