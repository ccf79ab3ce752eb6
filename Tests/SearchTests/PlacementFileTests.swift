import Foundation
import NetworkPlan
import Search
import XCTest
import TestSupport

final class PlacementFileTests: XCTestCase {
    /// placement.json keeps each slot's choice and degree; slots it does not name are ReLU.
    func testDegreesRoundTrip() throws {
        let directory = try makeTemporaryDirectory("placement")
        defer { try? FileManager.default.removeItem(at: directory) }
        let slots = (0..<8).map { SlotDescriptor(name: "s\($0)", channels: 4, elements: 64) }
        let placement = Placement(choices: [.relu] + (1...6).map { SlotChoice.polynomial(degree: $0) }
                                  + [.mixed(polynomialChannels: [0, 2], degree: 4)])
        let url = directory.appendingPathComponent("placement.json")
        try PlacementFile.write(placement, slots: slots, to: url)
        XCTAssertEqual(try PlacementFile.read(from: url, slots: slots), placement)
        XCTAssertEqual(placement.signature, "R123456m")
        XCTAssertEqual(placement.reluCount(slots: slots), 64 + 32)
        try Data(#"{"s2": {"polynomial": {"degree": 5}}}"#.utf8).write(to: url)
        XCTAssertEqual(try PlacementFile.read(from: url, slots: slots).choices[2], .polynomial(degree: 5))
    }
}
