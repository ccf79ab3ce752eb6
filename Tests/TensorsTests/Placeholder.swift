import XCTest

final class TensorsPlaceholder: XCTestCase {
    func testModuleLinks() {}
}
