// No behaviour change unnoticed: the committed tiny plan (Experiments/reliability/fuzz-plan, all ReLU)
// on the first 4 synthetic test images gives the committed logits (Golden/fuzz-plan-logits.json), in
// fixed point and under the secure protocol with Sibyl's real schemes (BFV, IKNP, garbled circuits). The
// plan's average pool ends in a local share truncation (exact up to one unit in the last place, whose
// error the next layers carry), so its secure logits are held to the golden ones within 1e-3 and the same
// top-1 class; bit for bit only in fixed point.
import Foundation
import NetworkPlan
import Pipeline
import SecureInference
import Training
import XCTest

final class GoldenOutputTests: XCTestCase {
    struct Golden: Decodable {
        var plan: String
        var images: Int
        var logits: [[Int64]]
    }

    func testFuzzPlanGivesTheCommittedLogits() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().appendingPathComponent("Golden/fuzz-plan-logits.json")))
        let plan = try SecurePlan(directory: root.appendingPathComponent(golden.plan).path)
        let test = try Datasets.load(.synthetic, directory: root.appendingPathComponent("Datasets")).test
        let input = plan.contents.manifest.input
        let oracle = FixedPointOracle(program: plan.program)
        let inputs = (0..<golden.images).map { oracle.encodeInput(PlaintextInput.normalize(test.image($0), spec: input)) }

        let fixed = FastFixedPointEvaluator(program: plan.program).evaluate(inputs: inputs).logits
        XCTAssertEqual(fixed.map { $0.map { Int64(bitPattern: $0) } }, golden.logits, "fixed-point logits changed")
        XCTAssertEqual(inputs.map { oracle.evaluate(input: $0).map { Int64(bitPattern: $0) } }, golden.logits, "oracle changed")

        let secure = try LocalSecureEvaluation(program: plan.program, architecture: plan.architecture)
            .run(inputs: Array(inputs.prefix(2)), link: .inMemory)
        XCTAssertEqual(secure.count, 2)
        for (result, expected) in zip(secure, golden.logits) {
            let decoded = oracle.decode(expected.map { UInt64(bitPattern: $0) })
            XCTAssertEqual(result.top1, decoded.indices.max { decoded[$0] < decoded[$1] })
            for (a, b) in zip(result.logits, decoded) { XCTAssertEqual(a, b, accuracy: 1e-3, "secure logits changed") }
        }
    }
}
