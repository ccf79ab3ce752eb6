import Foundation
import NetworkPlan
import PlanStore
import SecureInference

/// A plan read from disk and lowered for the secure runtime: what `evaluate` and `serve` share.
struct SecurePlan {
    let directory: URL
    let contents: PlanContents
    let program: FixedPointProgram
    let architecture: PublicArchitecture

    init(directory path: String) throws {
        directory = URL(fileURLWithPath: path)
        contents = try PlanFiles.read(from: directory)
        program = try PlanCompilation.program(of: contents)
        let manifest = contents.manifest
        architecture = try PublicArchitecture(program: program, input: manifest.input, classNames: manifest.classNames,
                                          planName: manifest.name)
    }
}

/// Peak resident memory of this process, in bytes (Linux reports ru_maxrss in KiB).
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}
