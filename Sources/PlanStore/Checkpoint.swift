// What a training checkpoint holds: named float arrays (weights, batch-norm statistics, optimizer
// state), integers (epoch, step), strings (a JSON training config) and 64-bit words (RNG state).

/// A float32 array with its shape ([] for a scalar holding one value).
public struct StoredArray: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }
}

/// Everything a checkpoint stores. Names may contain "/" to form groups ("weights/fc.weight");
/// a name must not be both a group and a value within one kind (e.g. "a" and "a/b").
public struct CheckpointContents: Sendable, Equatable {
    public var arrays: [String: StoredArray]
    public var integers: [String: Int64]
    public var strings: [String: String]
    public var words: [String: [UInt64]]

    public init(arrays: [String: StoredArray] = [:], integers: [String: Int64] = [:],
                strings: [String: String] = [:], words: [String: [UInt64]] = [:]) {
        self.arrays = arrays
        self.integers = integers
        self.strings = strings
        self.words = words
    }
}
