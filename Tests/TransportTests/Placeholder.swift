import XCTest

final class TransportPlaceholder: XCTestCase {
    func testModuleLinks() {}
}
