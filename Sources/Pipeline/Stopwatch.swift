// Wall and CPU time of the pipelines' phases.
import Foundation

/// Seconds between laps.
public final class Stopwatch {
    public let start = DispatchTime.now().uptimeNanoseconds
    var last = DispatchTime.now().uptimeNanoseconds

    public init() {}

    public func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) / 1e9
    }

    public var total: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// CPU seconds this process has used (all threads): on a shared machine, the figure to compare.
    public static var processCPU: Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}
