// The CIFAR binary record formats (Krizhevsky 2009, "Learning Multiple Layers of Features from Tiny
// Images"; layout as documented on https://www.cs.toronto.edu/~kriz/cifar.html):
//   CIFAR-10  record: 1 label byte, 3,072 pixel bytes                         (3,073 bytes)
//   CIFAR-100 record: 1 coarse-label byte, 1 fine-label byte, 3,072 pixels    (3,074 bytes)
// Pixels: 1,024 red, 1,024 green, 1,024 blue, each plane row-major, top-left first. For CIFAR-100 we
// use the fine label (100 classes).
import Foundation
import PlanStore

/// One of the two CIFAR binary record layouts.
public enum CIFARFormat: Sendable, CaseIterable {
    case cifar10, cifar100

    /// Bytes per record.
    public var recordSize: Int { labelBytes + ImageSet.imageBytes }
    /// Label bytes in front of the pixels.
    public var labelBytes: Int { self == .cifar10 ? 1 : 2 }
    /// Offset of the label we use within a record (the fine label for CIFAR-100).
    public var labelOffset: Int { self == .cifar10 ? 0 : 1 }
    /// Number of classes of the label we use.
    public var classCount: Int { self == .cifar10 ? 10 : 100 }

    /// Parses whole records; `source` names the file in errors.
    public func parse(_ data: Data, source: String, classCount: Int? = nil) throws -> ImageSet {
        let classes = classCount ?? self.classCount
        guard data.count % recordSize == 0 else {
            throw DataError.truncatedFile(path: source, size: data.count, recordSize: recordSize, expectedRecords: nil)
        }
        let count = data.count / recordSize
        var pixels = [UInt8](repeating: 0, count: count * ImageSet.imageBytes)
        var labels = [Int32](repeating: 0, count: count)
        var badRecord: (index: Int, label: Int)?
        data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            pixels.withUnsafeMutableBufferPointer { target in
                for record in 0..<count {
                    let start = base + record * recordSize
                    let label = Int(start[labelOffset])
                    if label >= classes, badRecord == nil { badRecord = (record, label) }
                    labels[record] = Int32(label)
                    (target.baseAddress! + record * ImageSet.imageBytes).update(from: start + labelBytes, count: ImageSet.imageBytes)
                }
            }
        }
        if let badRecord {
            throw DataError.labelOutOfRange(path: source, record: badRecord.index, label: badRecord.label, classCount: classes)
        }
        return ImageSet(count: count, pixels: pixels, labels: labels, classCount: classes)
    }

    /// Encodes images as records. For CIFAR-100 the coarse byte is `coarseLabels[i]` when given,
    /// otherwise `label / 5` (CIFAR-100's 20 superclasses hold 5 classes each, though not contiguously).
    public func encode(_ images: ImageSet, coarseLabels: [Int32]? = nil) -> Data {
        precondition(coarseLabels == nil || coarseLabels!.count == images.count)
        var data = Data(count: images.count * recordSize)
        data.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            images.pixels.withUnsafeBufferPointer { source in
                for record in 0..<images.count {
                    let start = base + record * recordSize
                    let label = images.labels[record]
                    if self == .cifar100 {
                        start[0] = UInt8(truncatingIfNeeded: coarseLabels?[record] ?? label / 5)
                        start[1] = UInt8(truncatingIfNeeded: label)
                    } else {
                        start[0] = UInt8(truncatingIfNeeded: label)
                    }
                    (start + labelBytes).update(from: source.baseAddress! + record * ImageSet.imageBytes, count: ImageSet.imageBytes)
                }
            }
        }
        return data
    }

    /// Reads a record file, checking its size (`expectedRecords` when given) and, when
    /// `expectedSHA256` is given, its checksum (cached in a stamp file next to it, see `DatasetStamp`).
    public func read(fileAt url: URL, expectedRecords: Int? = nil, expectedSHA256: String? = nil,
                     hint: String = DataError.fetchCIFAR100Hint) throws -> ImageSet {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw DataError.missingFile(path: path, hint: hint)
        }
        let size = try DatasetStamp.fileSize(url)
        if size % recordSize != 0 || (expectedRecords.map { size != $0 * recordSize } ?? false) {
            throw DataError.truncatedFile(path: path, size: size, recordSize: recordSize, expectedRecords: expectedRecords)
        }
        let data: Data
        do {
            data = try Data(contentsOf: url, options: [.alwaysMapped])
        } catch {
            throw DataError.ioFailed(path: path, detail: "cannot read the file (\(error.localizedDescription))")
        }
        if let expectedSHA256 {
            try DatasetStamp.verify(url, data: data, expectedSHA256: expectedSHA256.lowercased())
        }
        return try parse(data, source: path)
    }
}
