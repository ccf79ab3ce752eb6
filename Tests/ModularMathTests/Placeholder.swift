import XCTest

final class ModularMathPlaceholder: XCTestCase {
    func testModuleLinks() {}
}
