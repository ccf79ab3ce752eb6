// swift-tools-version:6.0
// Sibyl: private neural-network inference in Swift. One target per concern; see DESIGN.md in the
// shared folder and README.md. Arrows (dependencies) never form cycles; SecureInference never imports
// Tensors, Training, Planner or PlanStore (HDF5), and Tensors never imports crypto; Pipeline is where they meet.
import PackageDescription

let optimize: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Sibyl",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sibyl", targets: ["sibyl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // ONNX files are protobuf messages: parsed and written with swift-protobuf's runtime (the Swift code of
        // the messages was generated once from Sources/OnnxFormat/onnx-subset.proto and is committed).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // Thin C shims over Debian's libraries (make setup installs them).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .target(name: "CAES"),
        // The training engine's C kernels: direct 3x3 convolutions and polynomial activations (AVX-512, chosen at run time).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"], .when(configuration: .release))]),

        // The network vocabulary (bandwidth, RTT, latency of bytes and flights) the runtime and planner share.
        .target(name: "NetworkCost"),

        // Plans: weights-free architecture and its on-disk form.
        .target(name: "NetworkPlan"),
        .target(name: "SeededRandom"),
        .target(name: "PlanStore", dependencies: ["NetworkPlan", "ModularMath", "CHDF5"]),

        // Training side.
        .target(name: "Tensors", dependencies: ["CBLAS", "CKernels"], swiftSettings: optimize),
        .target(name: "Training", dependencies: ["Tensors", "NetworkPlan", "PlanStore", "SeededRandom"], swiftSettings: optimize),
        .target(name: "Planner", dependencies: ["NetworkPlan", "NetworkCost", "SeededRandom"]),
        // Search glue: a Planner.Trainable backed by the training engine.
        .target(name: "Search", dependencies: ["Planner", "Training", "Tensors", "NetworkPlan", "PlanStore", "NetworkCost"],
                swiftSettings: optimize),

        // Cryptographic side.
        .target(name: "ModularMath", dependencies: ["CAES"], swiftSettings: optimize),
        .target(name: "Lattice", dependencies: ["ModularMath", "CKernels"], swiftSettings: optimize),
        .target(name: "Transport", dependencies: ["NetworkCost"]),
        .target(name: "TwoParty", dependencies: ["Transport", "NetworkCost", "ModularMath", "Lattice", "CAES", "CSodium", "CKernels"], swiftSettings: optimize),
        .target(name: "SecureInference",
                dependencies: ["NetworkPlan", "NetworkCost", "Lattice", "TwoParty", "Transport", "ModularMath", "CBLAS", "CKernels"],
                exclude: ["README.md"], swiftSettings: optimize),

        // ONNX interchange: the generated messages, and import (ONNX -> checkpoint) / export (network -> ONNX).
        .target(name: "OnnxFormat", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["onnx-subset.proto"]),
        .target(name: "OnnxInterop", dependencies: ["OnnxFormat", "Training", "Tensors", "NetworkPlan", "PlanStore"],
                swiftSettings: optimize),

        // Where training and secure inference meet: plan loading, plan accuracy, evaluation reports, images.
        .target(name: "Pipeline", dependencies: ["Training", "Tensors", "NetworkPlan", "PlanStore", "SecureInference",
                                                 "NetworkCost", "CPNG"], swiftSettings: optimize),

        // The command-line tool: flags in, a request to the libraries, results out.
        .executableTarget(name: "sibyl", dependencies: [
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            "Training", "Tensors", "NetworkPlan", "PlanStore", "Planner", "Search",
            "ModularMath", "Lattice", "Transport", "TwoParty", "SecureInference", "NetworkCost", "Pipeline", "OnnxInterop", "CKernels",
        ], swiftSettings: optimize),

        // Helpers shared by the test targets (a library so that test targets can depend on it).
        .target(name: "TestSupport", dependencies: ["SeededRandom"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "SeededRandom"]),
        .testTarget(name: "TrainingTests", dependencies: ["TestSupport", "Training", "Tensors", "PlanStore", "NetworkPlan"]),
        .testTarget(name: "PlanStoreTests", dependencies: ["TestSupport", "PlanStore", "NetworkPlan", "SecureInference"]),
        .testTarget(name: "ModularMathTests", dependencies: ["TestSupport", "ModularMath"]),
        .testTarget(name: "LatticeTests", dependencies: ["TestSupport", "Lattice", "ModularMath"]),
        .testTarget(name: "TransportTests", dependencies: ["TestSupport", "Transport", "NetworkCost"]),
        .testTarget(name: "TwoPartyTests", dependencies: ["TestSupport", "TwoParty", "Transport", "ModularMath"]),
        .testTarget(name: "SecureInferenceTests", dependencies: ["TestSupport", "SecureInference", "NetworkPlan", "PlanStore", "Transport"]),
        .testTarget(name: "NetworkPlanTests", dependencies: ["TestSupport", "NetworkPlan"]),
        .testTarget(name: "PlannerTests", dependencies: ["Planner", "NetworkPlan", "NetworkCost"]),
        .testTarget(name: "SearchTests", dependencies: ["TestSupport", "Search", "Planner", "Training", "NetworkPlan", "PlanStore", "NetworkCost"]),
        .testTarget(name: "OnnxInteropTests", dependencies: ["TestSupport", "SeededRandom", "OnnxInterop", "OnnxFormat", "Training", "Tensors", "Pipeline",
                                                             "NetworkPlan", "PlanStore"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "sibyl", "Transport", "SecureInference", "Pipeline", "PlanStore", "NetworkPlan"],
                    exclude: ["Golden"]),
    ]
)
