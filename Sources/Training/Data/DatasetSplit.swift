// The fixed train/validation split. Stratified: every class gives the same number of validation
// images (50 per class for CIFAR-100's 5,000; 500 for CIFAR-10), chosen per class by a Fisher-Yates
// shuffle of that class's record indices with DataRandom keyed by (splitSeed, class). Integer-only, so
// identical on every machine. Both parts keep the official record order.
import Foundation

extension Datasets {
    /// The seed of the fixed split; changing it changes every validation set.
    public static let splitSeed: UInt64 = 0x5EB1_45_05_0000_0001

    /// Indices of the training and validation records of a fixed stratified split of `labels`.
    /// `validationCount / classCount` images per class go to validation; the remainder is spread over
    /// the lowest class numbers, one each.
    public static func splitIndices(labels: [Int32], classCount: Int, validationCount: Int,
                                    seed: UInt64 = Datasets.splitSeed) throws -> (train: [Int], validation: [Int]) {
        guard validationCount >= 0, validationCount <= labels.count else {
            throw DataError.invalidSplit(detail: "validation count \(validationCount) must be between 0 and the \(labels.count) training records")
        }
        var byClass = [[Int]](repeating: [], count: classCount)
        for (index, label) in labels.enumerated() { byClass[Int(label)].append(index) }
        let base = validationCount / classCount, extra = validationCount % classCount
        var isValidation = [Bool](repeating: false, count: labels.count)
        for label in 0..<classCount {
            let quota = base + (label < extra ? 1 : 0)
            let members = byClass[label]
            guard quota <= members.count else {
                throw DataError.invalidSplit(detail: "class \(label) has \(members.count) training records, fewer than its \(quota) validation images; lower the validation count")
            }
            var random = DataRandom(keys: seed, UInt64(label))
            let order = random.permutation(members.count)
            for position in 0..<quota { isValidation[members[order[position]]] = true }
        }
        var train: [Int] = [], validation: [Int] = []
        train.reserveCapacity(labels.count - validationCount)
        validation.reserveCapacity(validationCount)
        for index in 0..<labels.count {
            if isValidation[index] { validation.append(index) } else { train.append(index) }
        }
        return (train, validation)
    }
}
