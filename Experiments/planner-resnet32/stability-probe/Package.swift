// swift-tools-version:6.0
import PackageDescription
let optimize: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release))]
let package = Package(name: "probe", targets: [
    .systemLibrary(name: "CBLAS", pkgConfig: "openblas"),
    .systemLibrary(name: "CHDF5", pkgConfig: "hdf5"),
    .target(name: "NetworkPlan"),
    .target(name: "PlanStore", dependencies: ["NetworkPlan", "CHDF5"]),
    .target(name: "Tensors", dependencies: ["CBLAS"], swiftSettings: optimize),
    .target(name: "Training", dependencies: ["Tensors", "NetworkPlan", "PlanStore"], swiftSettings: optimize),
    .target(name: "Planner", dependencies: ["NetworkPlan"]),
    .target(name: "Search", dependencies: ["Planner", "Training", "Tensors", "NetworkPlan", "PlanStore"], swiftSettings: optimize),
    .executableTarget(name: "probe", dependencies: ["Search", "Planner", "Training", "Tensors", "NetworkPlan", "PlanStore"], swiftSettings: optimize + [.swiftLanguageMode(.v5)]),
])
