import XCTest

final class SearchPlaceholder: XCTestCase {
    func testModuleLinks() {}
}
