import XCTest

final class PlanStorePlaceholder: XCTestCase {
    func testModuleLinks() {}
}
