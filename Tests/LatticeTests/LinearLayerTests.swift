import XCTest
import ModularMath
import Lattice
import TestSupport

final class LinearLayerTests: XCTestCase {
    static let big = try! BFVContext(parameters: .default)
    /// A small ring (insecure, for tests only) that forces multi-block packings on small shapes.
    static let small: BFVContext = {
        let primes = try! Modulus.nttPrimes(bits: 45, count: 3, degree: 256)
        return try! BFVContext(parameters: try! HEParameters(degree: 256, primes: primes))
    }()

    /// Runs the protocol once and checks that the shares reconstruct to L r mod 2^64.
    func check(_ shape: LinearLayerShape, context: BFVContext, rng: inout SplitMix64, seed: UInt64,
               file: StaticString = #filePath, line: UInt = #line) throws {
        let client = LinearLayerClient(context: context)
        let setup = try client.setupMessage()
        XCTAssertEqual(setup.count, context.setupBytes, file: file, line: line)
        let server = try LinearLayerServer(context: context, setupMessage: setup)
        let bound = Int64(1) << Int64(shape.weightBits)
        let weights = (0..<shape.weightCount).map { _ in Int64(rng.next() % UInt64(2 * bound - 1)) - (bound - 1) }
        let layer = try LinearLayer(shape: shape, weights: weights)
        let r = (0..<shape.inputCount).map { _ in rng.next() }
        let (request, state) = try client.offlineRequest(r: r, layer: shape)
        let (response, serverShare) = try server.offlineResponse(request: request, layer: layer)
        XCTAssertEqual(request.count, try context.requestBytes(for: shape), "request, \(shape)", file: file, line: line)
        XCTAssertEqual(response.count, try context.responseBytes(for: shape), "response, \(shape)", file: file, line: line)
        let clientShare = try client.decodeResponse(response, state: state)
        let expected = try layer.applyReference(r).map { $0 & shape.plaintextMask }
        let got = try ShareRing.reconstruct(serverShare, clientShare).map { $0 & shape.plaintextMask }
        XCTAssertTrue(clientShare.allSatisfy { $0 & ~shape.plaintextMask == 0 }, file: file, line: line)
        XCTAssertEqual(got, expected, "seed \(seed): \(state.plan)", file: file, line: line)

        // The request that chooses its mask: compact, and an ordinary encryption of the mask it returns.
        let (chosen, chosenState, mask) = try client.offlineRequest(choosingMaskFor: shape)
        XCTAssertEqual(chosen.count, try context.requestBytes(for: shape, choosingMask: true), "chosen, \(shape)", file: file, line: line)
        let requestBits = try ResponseWidths(plan: chosenState.plan, context: context).requestBits
        if context.compactRequestBits(plaintextBits: shape.plaintextBits, requestBits: requestBits) == nil {
            XCTAssertEqual(chosen.count, request.count, file: file, line: line)   // tiny t: masks drawn, sent as given
        } else {
            XCTAssertLessThan(chosen.count, request.count, file: file, line: line)
        }
        let (chosenResponse, chosenServerShare) = try server.offlineResponse(request: chosen, layer: layer)
        let chosenClientShare = try client.decodeResponse(chosenResponse, state: chosenState)
        XCTAssertEqual(try ShareRing.reconstruct(chosenServerShare, chosenClientShare).map { $0 & shape.plaintextMask },
                       try layer.applyReference(mask).map { $0 & shape.plaintextMask },
                       "seed \(seed), chosen mask: \(chosenState.plan)", file: file, line: line)
        // Every input an upload carries is chosen exactly once, in the first upload that carries it.
        let plan = chosenState.plan, firsts = plan.firstOccurrences()
        var carried = Set<Int>()
        for j in 0..<plan.uploadCount {
            let ones = plan.inputPolynomial((0..<shape.inputCount).map { UInt64($0 + 1) }, upload: j)
            for v in ones where v != 0 { carried.insert(Int(v) - 1) }
        }
        let chosenInputs = firsts.flatMap { $0.map(\.input) }
        XCTAssertEqual(chosenInputs.count, Set(chosenInputs).count, file: file, line: line)
        XCTAssertEqual(Set(chosenInputs), carried, file: file, line: line)
    }

    /// The naive reference itself, on hand-computed examples.
    func testReferenceOnHandComputedExamples() throws {
        let x: [UInt64] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        let ones = [Int64](repeating: 1, count: 9)
        let same = try LinearLayer(shape: try .convolution(inputChannels: 1, height: 3, width: 3, outputChannels: 1,
                                                           kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1), weights: ones)
        XCTAssertEqual(try same.applyReference(x), [12, 21, 16, 27, 45, 33, 24, 39, 28])
        let strided = try LinearLayer(shape: try .convolution(inputChannels: 1, height: 3, width: 3, outputChannels: 1,
                                                              kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1), weights: ones)
        XCTAssertEqual(try strided.applyReference(x), [12, 16, 24, 28])
        let dense = try LinearLayer(shape: try .dense(inputs: 2, outputs: 2), weights: [1, -1, 2, 3])
        XCTAssertEqual(try dense.applyReference([5, 7]), [UInt64(bitPattern: -2), 31])
    }

    func testRandomConvolutionsReconstructExactly() throws {
        let seed: UInt64 = 77
        var rng = SplitMix64(seed: seed)
        for _ in 0..<30 {
            let k = rng.next() % 2 == 0 ? 1 : 3
            let stride = Int(rng.next() % 2) + 1
            let padding = k == 3 ? Int(rng.next() % 2) : 0
            let kw = rng.next() % 5 == 0 ? 4 - k : k  // sometimes non-square kernels (1x3, 3x1)
            let shape = try LinearLayerShape.convolution(
                inputChannels: Int(rng.next() % 4) + 1, height: Int(rng.next() % 7) + 3, width: Int(rng.next() % 7) + 3,
                outputChannels: Int(rng.next() % 4) + 1, kernelHeight: k, kernelWidth: kw, stride: stride,
                padding: padding, weightBits: 10)
            try check(shape, context: Self.small, rng: &rng, seed: seed)
        }
    }

    func testMultiBlockConvolutionsReconstructExactly() throws {
        let seed: UInt64 = 78
        var rng = SplitMix64(seed: seed)
        let shapes = [
            try LinearLayerShape.convolution(inputChannels: 5, height: 12, width: 9, outputChannels: 6,
                                             kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1),
            try LinearLayerShape.convolution(inputChannels: 3, height: 15, width: 20, outputChannels: 4,
                                             kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1),
            try LinearLayerShape.convolution(inputChannels: 7, height: 10, width: 10, outputChannels: 9,
                                             kernelHeight: 1, kernelWidth: 1, stride: 2, padding: 0),
            try LinearLayerShape.convolution(inputChannels: 2, height: 6, width: 11, outputChannels: 3,
                                             kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 0),
        ]
        for shape in shapes {
            let plan = try LinearLayerPlan(shape: shape, parameters: Self.small.parameters)
            XCTAssertGreaterThan(plan.uploadCount, 1, "shape should need several blocks: \(plan)")
            try check(shape, context: Self.small, rng: &rng, seed: seed)
        }
    }

    /// Layers whose readers need only the low k bits of the outputs (a ReLU reads k'): the HE protocol
    /// runs modulo t = 2^k, the shares agree with L r there, and the response shrinks by about 64 - k bits
    /// per coefficient (the benchmark layer at k = 37: 1,417,269 -> 999,477 bytes both ways, its request switched to fewer bits).
    func testSmallerPlaintextModuliReconstructTheLowBits() throws {
        let seed: UInt64 = 82
        var rng = SplitMix64(seed: seed)
        for k in [2, 13, 37, 41, 63] {
            for _ in 0..<3 {
                let shape = try LinearLayerShape.convolution(
                    inputChannels: Int(rng.next() % 4) + 1, height: Int(rng.next() % 7) + 4, width: Int(rng.next() % 7) + 4,
                    outputChannels: Int(rng.next() % 4) + 1, kernelHeight: 3, kernelWidth: 3, stride: Int(rng.next() % 2) + 1,
                    padding: 1, weightBits: 10).withPlaintextBits(k)
                try check(shape, context: Self.small, rng: &rng, seed: seed)
            }
            try check(try LinearLayerShape.dense(inputs: 50, outputs: 9).withPlaintextBits(k), context: Self.big, rng: &rng, seed: seed)
        }
        let ctx = Self.big
        let full = try LinearLayerShape.convolution(inputChannels: 16, height: 32, width: 32, outputChannels: 16,
                                                    kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1)
        let reduced = try full.withPlaintextBits(37)
        try check(reduced, context: ctx, rng: &rng, seed: seed)
        XCTAssertEqual(ctx.compactRequestBits(plaintextBits: 37), 96)
        XCTAssertEqual(try ctx.requestBytes(for: reduced, choosingMask: true) + ctx.responseBytes(for: reduced), 999_477)
        XCTAssertThrowsError(try full.withPlaintextBits(1))
        XCTAssertThrowsError(try full.withPlaintextBits(65))
    }

    /// The switched request's coefficients go back to residues from their low bits alone (`switchBack`):
    /// equal to the multiprecision round(Q v / 2^b) at every width the requests use, edges included.
    func testSwitchBackEqualsTheMultiprecisionReference() throws {
        var rng = SplitMix64(seed: 84)
        for ctx in [Self.big, Self.small] {
            for b in [5, 64, 65, 95, 103, 120] {
                let inverses = try ctx.powerOfTwoInverses(bits: b)
                let top = (UInt128(1) << UInt128(b)) - 1
                var fast = PolyRq<Coeff>.zero(ctx.ring), slow = fast
                for position in 0..<64 {
                    let v = [0, 1, top, top - 1, UInt128(1) << UInt128(b - 1)].indices.contains(position)
                        ? [0, 1, top, top - 1, UInt128(1) << UInt128(b - 1)][position]
                        : (UInt128(rng.next()) << 64 | UInt128(rng.next())) & top
                    ctx.switchBack(v, bits: b, inverses: inverses, into: &fast, position: position)
                    ctx.switchBackReference(v, bits: b, into: &slow, position: position)
                }
                XCTAssertEqual(fast.data, slow.data, "b = \(b)")
            }
        }
    }

    func testDenseLayersReconstructExactly() throws {
        let seed: UInt64 = 79
        var rng = SplitMix64(seed: seed)
        try check(try .dense(inputs: 300, outputs: 7), context: Self.small, rng: &rng, seed: seed)
        try check(try .dense(inputs: 5, outputs: 40), context: Self.small, rng: &rng, seed: seed)
        try check(try .dense(inputs: 100, outputs: 10), context: Self.big, rng: &rng, seed: seed)
    }

    func testRealisticConvolutionAtDefaultParameters() throws {
        let seed: UInt64 = 80
        var rng = SplitMix64(seed: seed)
        let shape = try LinearLayerShape.convolution(inputChannels: 16, height: 32, width: 32, outputChannels: 16,
                                                     kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1)
        try check(shape, context: Self.big, rng: &rng, seed: seed)
        let shape2 = try LinearLayerShape.convolution(inputChannels: 16, height: 32, width: 32, outputChannels: 32,
                                                      kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1)
        try check(shape2, context: Self.big, rng: &rng, seed: seed)
    }

    func testMalformedMessagesRaiseErrors() throws {
        let seed: UInt64 = 81
        var rng = SplitMix64(seed: seed)
        let ctx = Self.small
        let shape = try LinearLayerShape.convolution(inputChannels: 2, height: 5, width: 5, outputChannels: 2,
                                                     kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1)
        let layer = try LinearLayer(shape: shape, weights: (0..<shape.weightCount).map { _ in Int64(rng.next() % 100) - 50 })
        let client = LinearLayerClient(context: ctx)
        let setup = try client.setupMessage()
        let server = try LinearLayerServer(context: ctx, setupMessage: setup)
        let r = (0..<shape.inputCount).map { _ in rng.next() }
        let (request, state) = try client.offlineRequest(r: r, layer: shape)

        // Setup: truncated, wrong version, wrong type, trailing bytes.
        XCTAssertThrowsError(try LinearLayerServer(context: ctx, setupMessage: Array(setup.prefix(setup.count - 1))))
        XCTAssertThrowsError(try LinearLayerServer(context: ctx, setupMessage: [])) { e in
            XCTAssertEqual(e as? LatticeError, .truncatedMessage(expected: 1, actual: 0))
        }
        var badVersion = setup; badVersion[0] = 9
        XCTAssertThrowsError(try LinearLayerServer(context: ctx, setupMessage: badVersion)) { e in
            XCTAssertEqual(e as? LatticeError, .unsupportedVersion(found: 9, supported: LinearLayerMessage.version))
        }
        XCTAssertThrowsError(try LinearLayerServer(context: ctx, setupMessage: setup + [0]))

        // Request: truncated at several points, wrong type, garbage, another layer, residue >= prime.
        for cut in [0, 1, 2, 5, 40, request.count / 2, request.count - 1] {
            XCTAssertThrowsError(try server.offlineResponse(request: Array(request.prefix(cut)), layer: layer), "cut \(cut)")
        }
        XCTAssertThrowsError(try server.offlineResponse(request: setup, layer: layer)) { e in
            XCTAssertEqual(e as? LatticeError, .unexpectedMessageType(found: 1, expected: 2))
        }
        let garbage = (0..<request.count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        XCTAssertThrowsError(try server.offlineResponse(request: garbage, layer: layer))
        let other = try LinearLayer(shape: try .convolution(inputChannels: 2, height: 5, width: 5, outputChannels: 3,
                                                            kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1),
                                    weights: [Int64](repeating: 1, count: 54))
        XCTAssertThrowsError(try server.offlineResponse(request: request, layer: other))
        var overflow = request
        for i in (2 + 4 + 32 + 4 + 1)..<(2 + 4 + 32 + 4 + 1 + 8) { overflow[i] = 0xff }  // first residue = 2^45 - 1 >= q
        XCTAssertThrowsError(try server.offlineResponse(request: overflow, layer: layer)) { e in
            guard case .malformedInput = e as? LatticeError else { return XCTFail("\(e)") }
        }

        var badMode = request; badMode[2 + 4 + 32 + 4] = 2
        XCTAssertThrowsError(try server.offlineResponse(request: badMode, layer: layer)) { e in
            guard case .malformedInput = e as? LatticeError else { return XCTFail("\(e)") }
        }
        let (chosen, _, _) = try client.offlineRequest(choosingMaskFor: shape)
        for cut in [43, chosen.count / 2, chosen.count - 1] {
            XCTAssertThrowsError(try server.offlineResponse(request: Array(chosen.prefix(cut)), layer: layer), "chosen, cut \(cut)")
        }
        XCTAssertThrowsError(try server.offlineResponse(request: chosen + [0], layer: layer))
        var asGiven = chosen; asGiven[2 + 4 + 32 + 4] = 0   // read as mode 0: the sizes disagree
        XCTAssertThrowsError(try server.offlineResponse(request: asGiven, layer: layer))

        // Response: truncated, trailing, wrong type.
        let (response, _) = try server.offlineResponse(request: request, layer: layer)
        for cut in [0, 3, 10, response.count - 1] {
            XCTAssertThrowsError(try client.decodeResponse(Array(response.prefix(cut)), state: state), "cut \(cut)")
        }
        XCTAssertThrowsError(try client.decodeResponse(response + [1, 2], state: state))
        XCTAssertThrowsError(try client.decodeResponse(request, state: state))
        // Shapes: wrong mask length, weights beyond the public bound.
        XCTAssertThrowsError(try client.offlineRequest(r: [1, 2, 3], layer: shape))
        XCTAssertThrowsError(try LinearLayer(shape: shape, weights: [Int64](repeating: 1 << 20, count: shape.weightCount)))
    }

    /// The masks a request chooses are the high parts of pseudorandom values: their bits are balanced,
    /// two requests choose different masks, and the benchmark layer's request shrinks by the expected
    /// 63 bits per first occurrence (the 16x32x32 -> 16 3x3 layer: 1,546,293 -> 1,417,269 bytes both ways).
    func testChosenMasksLookUniformAndShrinkTheRequest() throws {
        let ctx = Self.big
        let shape = try LinearLayerShape.convolution(inputChannels: 16, height: 32, width: 32, outputChannels: 16,
                                                     kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1)
        let client = LinearLayerClient(context: ctx)
        let (_, _, first) = try client.offlineRequest(choosingMaskFor: shape)
        let (_, _, second) = try client.offlineRequest(choosingMaskFor: shape)
        XCTAssertEqual(zip(first, second).filter { $0 == $1 }.count, 0)
        // Each of the 64 bit positions is set in 16,384 / 2 values, within 5 standard deviations (64).
        for bit in 0..<64 {
            let ones = first.filter { ($0 >> UInt64(bit)) & 1 == 1 }.count
            XCTAssertLessThan(abs(ones - 8_192), 320, "bit \(bit)")
        }
        XCTAssertEqual(ctx.compactRequestBits(), 69)
        let plan = try LinearLayerPlan(shape: shape, parameters: ctx.parameters)
        let firsts = plan.firstOccurrences().map(\.count).reduce(0, +)
        XCTAssertEqual(firsts, shape.inputCount)
        let saved = try ctx.requestBytes(for: shape) - ctx.requestBytes(for: shape, choosingMask: true)
        XCTAssertEqual(saved, plan.uploadCount * ctx.packedPolynomialBytes - plan.firstOccurrences().reduce(0) {
            $0 + ($1.count * 69 + (ctx.parameters.degree - $1.count) * 132 + 7) / 8
        })
        XCTAssertEqual(try ctx.requestBytes(for: shape, choosingMask: true) + ctx.responseBytes(for: shape), 1_417_269)
        XCTAssertEqual(try ctx.requestBytes(for: shape) + ctx.responseBytes(for: shape), 1_546_293)
    }

    func testNoiseBudgetIsCheckedForOversizedWeights() throws {
        let ctx = Self.small
        let shape = try LinearLayerShape.dense(inputs: 200, outputs: 2, weightBits: 40)
        let client = LinearLayerClient(context: ctx)
        let server = try LinearLayerServer(context: ctx, setupMessage: try client.setupMessage())
        // Both sides derive the widths (the request's too) before anything else, and both refuse.
        XCTAssertThrowsError(try client.offlineRequest(r: [UInt64](repeating: 7, count: 200), layer: shape)) { e in
            guard case .noiseBudgetExceeded = e as? LatticeError else { return XCTFail("\(e)") }
        }
        let layer = try LinearLayer(shape: shape, weights: [Int64](repeating: 3, count: 400))
        XCTAssertThrowsError(try server.offlineResponse(request: [2, 2, 0, 0, 0, 0], layer: layer)) { e in
            guard case .noiseBudgetExceeded = e as? LatticeError else { return XCTFail("\(e)") }
        }
    }

    /// 64 input channels, 3x3, weights up to 2^15 (12 fractional bits, |w| < 8): beyond the default's
    /// noise budget, within HEParameters.wide's.
    func testWideParametersHoldLargeWeights() throws {
        let seed: UInt64 = 82
        var rng = SplitMix64(seed: seed)
        let shape = try LinearLayerShape.convolution(inputChannels: 64, height: 6, width: 6, outputChannels: 3,
                                                     kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1, weightBits: 15)
        let plan = try LinearLayerPlan(shape: shape, parameters: Self.big.parameters)
        XCTAssertThrowsError(try ResponseWidths(plan: plan, context: Self.big)) { e in
            guard case .noiseBudgetExceeded = e as? LatticeError else { return XCTFail("\(e)") }
        }
        try check(shape, context: try BFVContext(parameters: .wide), rng: &rng, seed: seed)
    }

    /// The insecure stand-in has the same interface and results, and rejects bad messages too.
    func testInsecureStandInMatchesReference() throws {
        let seed: UInt64 = 83
        var rng = SplitMix64(seed: seed)
        let shape = try LinearLayerShape.convolution(inputChannels: 3, height: 7, width: 5, outputChannels: 4,
                                                     kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1)
        let layer = try LinearLayer(shape: shape, weights: (0..<shape.weightCount).map { _ in Int64(rng.next() % 200) - 100 })
        let r = (0..<shape.inputCount).map { _ in rng.next() }
        let pairs: [(any LinearLayerOfflineClient, any LinearLayerOfflineServer)] = [
            (InsecureLinearLayerClient(), InsecureLinearLayerServer()),
            { let c = LinearLayerClient(context: Self.small)
              return (c, try! LinearLayerServer(context: Self.small, setupMessage: try! c.setupMessage())) }(),
        ]
        for (client, server) in pairs {
            let (request, state) = try client.offlineRequest(r: r, layer: shape)
            let (response, share) = try server.offlineResponse(request: request, unprepared: layer)
            XCTAssertEqual(try ShareRing.reconstruct(share, try client.decodeResponse(response, state: state)),
                           try layer.applyReference(r), "seed \(seed)")
            XCTAssertThrowsError(try client.decodeResponse(Array(response.dropLast()), state: state))
            XCTAssertThrowsError(try server.offlineResponse(request: Array(request.dropLast()), unprepared: layer))
        }
    }

    /// The fast exact evaluation equals the naive reference on random shapes (edges, strides, padding).
    func testFastApplyMatchesReference() throws {
        let seed: UInt64 = 84
        var rng = SplitMix64(seed: seed)
        for _ in 0..<40 {
            let k = [1, 2, 3, 5][Int(rng.next() % 4)]
            let stride = Int(rng.next() % 3) + 1
            let padding = Int(rng.next() % UInt64(k))
            let shape = try LinearLayerShape.convolution(
                inputChannels: Int(rng.next() % 4) + 1, height: Int(rng.next() % 9) + k, width: Int(rng.next() % 9) + k,
                outputChannels: Int(rng.next() % 4) + 1, kernelHeight: k, kernelWidth: Int(rng.next() % UInt64(k)) + 1,
                stride: stride, padding: padding)
            let layer = try LinearLayer(shape: shape, weights: (0..<shape.weightCount).map { _ in Int64(rng.next() % 4001) - 2000 })
            let x = (0..<shape.inputCount).map { _ in rng.next() }
            XCTAssertEqual(try layer.apply(x), try layer.applyReference(x), "seed \(seed): \(shape)")
        }
        // Kernel wider than the unpadded input, stride 2: columns entirely in the padding.
        for (w, kw, st, pad) in [(1, 3, 2, 1), (2, 5, 2, 2), (1, 3, 3, 1), (3, 5, 2, 2)] {
            let shape = try LinearLayerShape.convolution(inputChannels: 2, height: 4, width: w, outputChannels: 2,
                                                         kernelHeight: 3, kernelWidth: kw, stride: st, padding: pad)
            let layer = try LinearLayer(shape: shape, weights: (0..<shape.weightCount).map { _ in Int64(rng.next() % 21) - 10 })
            let x = (0..<shape.inputCount).map { _ in rng.next() }
            XCTAssertEqual(try layer.apply(x), try layer.applyReference(x), "seed \(seed): \(shape)")
            try check(shape, context: Self.small, rng: &rng, seed: seed)
        }
        let dense = try LinearLayer(shape: try .dense(inputs: 37, outputs: 5), weights: (0..<185).map { _ in Int64(rng.next() % 201) - 100 })
        let x = (0..<37).map { _ in rng.next() }
        XCTAssertEqual(try dense.apply(x), try dense.applyReference(x), "seed \(seed)")
        XCTAssertThrowsError(try dense.apply([1]))
    }
}
