import XCTest

final class LatticePlaceholder: XCTestCase {
    func testModuleLinks() {}
}
