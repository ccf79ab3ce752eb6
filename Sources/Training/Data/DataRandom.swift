// The data pipeline's generator: SplitMix64 (SeededRandom), so shuffles and splits are identical on every
// machine.
@_exported import SeededRandom

public typealias DataRandom = SplitMix64
