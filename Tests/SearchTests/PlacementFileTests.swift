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

    /// The one reader takes both forms (a {slot: choice} map, a Placement in slot order) and refuses slots
    /// the network lacks, a choice list of the wrong length and anything else, saying which.
    func testBothFormsReadTheSameAndBadFilesAreRefusedWithTheReason() throws {
        let names = ["a", "b", "c"]
        let map = try PlacementFile.choices(in: Data(#"{"b": {"polynomial": {"degree": 2}}}"#.utf8), slotNames: names)
        XCTAssertEqual(map, ["b": .polynomial(degree: 2)])
        let list = try PlacementFile.choices(in: Data(#"{"choices": [{"relu": {}}, {"polynomial": {"degree": 2}}, {"relu": {}}]}"#.utf8),
                                             slotNames: names)
        XCTAssertEqual(list, ["a": .relu, "b": .polynomial(degree: 2), "c": .relu])
        for (text, reason) in [(#"{"z": {"relu": {}}}"#, "names slot 'z'"), (#"{"choices": [{"relu": {}}]}"#, "1 choices for the network's 3 slots"),
                               ("[1, 2]", "neither a")] {
            XCTAssertThrowsError(try PlacementFile.choices(in: Data(text.utf8), slotNames: names)) { error in
                XCTAssertTrue("\(error)".contains(reason), "\(error)")
            }
        }
    }
}
