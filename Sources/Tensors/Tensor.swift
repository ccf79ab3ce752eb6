// Tensor: a shape over a Storage. Row-major; image tensors are NCHW (batch, channels, height, width).
/// A dense Float32 tensor. Shares storage on copy: operations in this module never write into a
/// tensor they did not just create, except a gradient whose storage nothing else holds
/// (`hasExclusiveStorage`, `Tape.exclusiveGradient`), so sharing is safe.
public struct Tensor: @unchecked Sendable {
    public let shape: [Int]
    public private(set) var storage: Storage

    public var count: Int { storage.count }

    /// Whether this value is the only holder of its storage (then writing into it cannot change another tensor).
    public mutating func hasExclusiveStorage() -> Bool { isKnownUniquelyReferenced(&storage) }
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }

    /// Uninitialised tensor (callers fill it).
    public init(uninitialized shape: [Int]) {
        self.shape = shape
        self.storage = Storage(count: shape.reduce(1, *))
    }

    public init(zeros shape: [Int]) {
        self.shape = shape
        self.storage = Storage(count: shape.reduce(1, *), zeroed: true)
    }

    public init(shape: [Int], repeating value: Float) {
        self.init(uninitialized: shape)
        pointer.update(repeating: value, count: count)
    }

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not match \(values.count) values")
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    public init(shape: [Int], storage: Storage) {
        precondition(shape.reduce(1, *) == storage.count, "shape \(shape) does not match storage of \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    /// Same storage, new shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor { Tensor(shape: newShape, storage: storage) }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    public subscript(flat i: Int) -> Float { pointer[i] }

    /// A deep copy.
    public func copy() -> Tensor {
        let t = Tensor(uninitialized: shape)
        t.pointer.update(from: pointer, count: count)
        return t
    }

    /// Overwrites this tensor's elements with `other`'s (same count). The one mutating helper: use on
    /// tensors you own (parameters, buffers).
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "assign: \(other.shape) into \(shape)")
        pointer.update(from: other.pointer, count: count)
    }

    public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }
}
