import Foundation
import NetworkPlan
import PlanStore
import SecureInference

/// A plan read from disk and lowered for the secure runtime: what `evaluate` and `serve` share.
public struct SecurePlan: Sendable {
    public let directory: URL
    public let contents: PlanContents
    public let program: FixedPointProgram
    public let architecture: PublicArchitecture

    public init(directory path: String) throws {
        directory = URL(fileURLWithPath: path)
        contents = try PlanFiles.read(from: directory)
        program = try PlanCompilation.program(of: contents)
        let manifest = contents.manifest
        architecture = try PublicArchitecture(program: program, input: manifest.input, classNames: manifest.classNames,
                                          planName: manifest.name)
    }
}

/// Peak resident memory of this process, in bytes (Linux reports ru_maxrss in KiB).
public func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}
