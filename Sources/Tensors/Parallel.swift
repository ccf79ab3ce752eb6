// One level of parallelism, owned here: OpenBLAS runs on one thread and kernels split their work
// (usually the batch) over `Parallel.threads` workers with DispatchQueue.concurrentPerform.
import CBLAS
import Dispatch

public enum Parallel {
    nonisolated(unsafe) private static var workers = 2

    /// Number of workers the kernels use.
    public static var threads: Int { workers }

    /// Sets the worker count and pins OpenBLAS to one thread (one level of parallelism); first fits OpenBLAS's
    /// kernels to the CPU (`BLASInfo.fitCoreToCPU`, once).
    public static func configure(threads: Int) {
        BLASInfo.fitCoreToCPU()
        workers = max(1, threads)
        openblas_set_num_threads(1)
    }

    /// Runs `body(chunk range)` over `0..<count` split into at most `threads` contiguous chunks,
    /// in parallel. Runs inline when `count` is small (`count < minimumPerChunk * 2`).
    public static func forEachChunk(_ count: Int, minimumPerChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = min(workers, max(1, count / max(1, minimumPerChunk)))
        if parts <= 1 || count <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            let box = UncheckedBox(escaping)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let lo = count * part / parts, hi = count * (part + 1) / parts
                if lo < hi { box.value(lo..<hi) }
            }
        }
    }

    /// Runs `body(worker index, range)`; the worker index lets callers keep per-worker scratch.
    public static func forEachWorker(_ count: Int, _ body: (Int, Range<Int>) -> Void) -> Int {
        let parts = min(workers, max(1, count))
        if parts <= 1 {
            if count > 0 { body(0, 0..<count) }
            return 1
        }
        withoutActuallyEscaping(body) { escaping in
            let box = UncheckedBox(escaping)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let lo = count * part / parts, hi = count * (part + 1) / parts
                if lo < hi { box.value(part, lo..<hi) }
            }
        }
        return parts
    }
}

/// Carries a closure into concurrentPerform's @Sendable body. The kernels guarantee that the
/// workers touch disjoint output ranges.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
