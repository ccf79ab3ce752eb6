// Helpers every test target may use: the seeded generator's test-data helpers, a thread for the other party of a two-party
// test, fresh temporary directories and running installed tools. A library target (not a test target), so
// test targets can depend on it.
import Foundation

@_exported import SeededRandom

/// Test-data helpers on the project's seeded generator (SplitMix64, module SeededRandom): every random
/// test is reproducible from its seed.
extension SplitMix64 {
    /// Uniform in [low, high) from the top 24 bits.
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * Float(next() >> 40) / Float(1 << 24)
    }

    /// In 0..<n (modulo: the bias is irrelevant for test data).
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// `count` bytes, one per draw.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}

public struct BackgroundTimeout: Error, CustomStringConvertible {
    public let seconds: Double
    public var description: String { "the background party did not finish within \(seconds) s" }
}

/// Runs one party of a test on its own thread; `value` waits a bounded time for its result.
public final class Background<T: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<T, any Error>?

    public init(_ body: @escaping @Sendable () throws -> T) {
        Thread.detachNewThread { [self] in
            let outcome = Result { try body() }
            self.result = outcome
            self.done.signal()
        }
    }

    public func value(timeout: Double = 60) throws -> T {
        guard done.wait(timeout: .now() + timeout) == .success else { throw BackgroundTimeout(seconds: timeout) }
        return try result!.get()
    }
}

/// A fresh empty directory under the system temporary directory.
public func makeTemporaryDirectory(_ tag: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("sibyl-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs an installed tool, given by path or by name (looked up in /usr/bin, /usr/local/bin, /bin); nil when
/// it is not installed. Returns its status and its output (stdout and stderr together).
public func runTool(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String)? {
    let candidates = tool.contains("/") ? [tool] : ["/usr/bin/\(tool)", "/usr/local/bin/\(tool)", "/bin/\(tool)"]
    guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
    return try runProcess(URL(fileURLWithPath: executable), arguments)
}

/// Runs `executable` (in `directory` when given) to its end; returns its status and its output (stdout and
/// stderr together).
public func runProcess(_ executable: URL, _ arguments: [String],
                       in directory: URL? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
