// Float32 storage for tensors, recycled through a size-keyed pool so that a training step that
// repeats the same shapes allocates (and page-faults) nothing after its first step.
import Foundation

/// A heap buffer of `Float`s. Its memory returns to `BufferPool.shared` when the storage dies.
/// Contents are uninitialised unless created with `zeroed: true`.
public final class Storage: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int, zeroed: Bool = false) {
        precondition(count >= 0, "negative storage size")
        self.count = count
        self.pointer = BufferPool.shared.take(count)
        if zeroed { pointer.update(repeating: 0, count: count) }
    }

    deinit { BufferPool.shared.give(pointer, count: count) }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
}

/// Free lists of buffers by element count. Thread-safe. Holds at most `limitBytes` of idle memory;
/// past that, returned buffers are freed.
public final class BufferPool: @unchecked Sendable {
    public static let shared = BufferPool()
    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var idleBytes = 0
    private let lock = NSLock()
    public var limitBytes = 1 << 31

    func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        let n = max(count, 1)
        lock.lock()
        if var list = free[n], let p = list.popLast() {
            free[n] = list
            idleBytes -= n * 4
            lock.unlock()
            return p
        }
        lock.unlock()
        let raw = UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: n)
    }

    func give(_ p: UnsafeMutablePointer<Float>, count: Int) {
        let n = max(count, 1)
        lock.lock()
        if idleBytes + n * 4 <= limitBytes {
            free[n, default: []].append(p)
            idleBytes += n * 4
            lock.unlock()
        } else {
            lock.unlock()
            UnsafeMutableRawPointer(p).deallocate()
        }
    }

    /// Frees every idle buffer.
    public func drain() {
        lock.lock()
        let lists = free
        free = [:]
        idleBytes = 0
        lock.unlock()
        for (_, list) in lists { for p in list { UnsafeMutableRawPointer(p).deallocate() } }
    }
}
