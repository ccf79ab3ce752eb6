import XCTest

final class TwoPartyPlaceholder: XCTestCase {
    func testModuleLinks() {}
}
