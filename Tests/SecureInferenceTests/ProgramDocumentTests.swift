// The program plan.json holds (schema 3): converting a compiled program to the plain document and its
// integer arrays and back gives the identical program, for every step kind; a malformed document or
// array is an error naming the step or dataset, never a crash.
import Foundation
import NetworkPlan
import SecureInference
import XCTest
import TestSupport

extension SecureProtocolTests {
    /// A program with every step kind: conv, dense, diagonal, window sum, add, truncate, ReLU, square,
    /// one-round polynomial, degree 1, gather and scatter.
    func everyKindProgram(seed: UInt64) throws -> FixedPointProgram {
        var random = SplitMix64(seed: seed)
        let activations: [String: SlotChoice] = ["stem.act": .mixed(polynomialChannels: [1, 2], degree: 2),
                                                 "b.act1": .mixed(polynomialChannels: [0], degree: 4),
                                                 "b.act2": .relu, "c.act1": .mixed(polynomialChannels: [1], degree: 1)]
        return try compile(residualGraph(), activations: activations, random: &random, fractionalBits: 12)
    }

    func testProgramDocumentRoundTripsEveryStepKind() throws {
        let program = try everyKindProgram(seed: 611)
        let ops = Set(program.document().document.steps.map(\.op))
        XCTAssertEqual(ops, ["linear", "add", "truncate", "relu", "square", "polynomial", "gather", "scatter"])
        let maps = Set(program.document().document.steps.flatMap { $0.terms ?? [] }.map(\.map))
        XCTAssertEqual(maps, ["conv", "dense", "diagonal", "window_sum"])
        let (document, arrays) = program.document()
        XCTAssertEqual(try FixedPointProgram(document: document, arrays: arrays), program)
        // Through JSON as plan.json stores it.
        let data = try PlanManifest.encoder(pretty: true).encode(document)
        let decoded = try PlanManifest.decoder.decode(ProgramDocument.self, from: data)
        XCTAssertEqual(try FixedPointProgram(document: decoded, arrays: arrays), program)
        // 128-bit coefficients survive their (high, low) halves, negative ones included.
        let polynomial = try XCTUnwrap(document.steps.first { $0.op == "polynomial" })
        let halves = try XCTUnwrap(arrays[try XCTUnwrap(polynomial.coefficients)])
        XCTAssertEqual(halves.shape.last, 2)
        XCTAssertTrue(halves.values.contains(-1), "no negative coefficient to check the sign extension on")
    }

    func testMalformedProgramDocumentsAreErrors() throws {
        let (document, arrays) = try everyKindProgram(seed: 612).document()
        func assertRejected(_ fragment: String, document edit: (inout ProgramDocument) -> Void = { _ in },
                            arrays editArrays: (inout [String: IntegerArray]) -> Void = { _ in }, line: UInt = #line) {
            var d = document, a = arrays
            edit(&d)
            editArrays(&a)
            XCTAssertThrowsError(try FixedPointProgram(document: d, arrays: a), line: line) { error in
                XCTAssertTrue("\(error)".contains(fragment), "'\(error)' lacks '\(fragment)'", line: line)
            }
        }
        let conv = document.steps.firstIndex { $0.terms?.first?.map == "conv" }!
        let weights = document.steps[conv].terms![0].weights!
        assertRejected("lacks", arrays: { $0.removeValue(forKey: weights) })
        assertRejected("has shape", arrays: { $0[weights]!.shape[0] += 1 })
        assertRejected("unknown op", document: { $0.steps[conv].op = "max_pool" })
        assertRejected("unknown map", document: { $0.steps[conv].terms![0].map = "depthwise" })
        assertRejected("only 64", document: { $0.ringBits = 32 })
        assertRejected("round_half_away_from_zero", document: { $0.encoding = "round_half_even" })
        assertRejected("weight_bits", document: { $0.steps[conv].terms![0].weightBits = 1 })
        assertRejected("tensor", document: { $0.steps[conv].terms![0].input = 10_000 })
        let relu = document.steps.firstIndex { $0.op == "relu" }!
        assertRejected("value_bits", document: { $0.steps[relu].valueBits = nil })
        assertRejected("malformed", document: { $0.steps[relu].valueBits = 200 })
        assertRejected("malformed", document: { $0.steps[relu].output = 0 })
        let polynomial = document.steps.firstIndex { $0.op == "polynomial" }!
        assertRejected("degree", document: { $0.steps[polynomial].degree = 9 })
    }
}
