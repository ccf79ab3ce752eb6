// Augmentation and normalisation of one 32x32 RGB image, as in the standard CIFAR recipe (He et al.,
// "Deep Residual Learning for Image Recognition", CVPR 2016, section 4.2): pad 4 pixels of zeros on
// each side, take a random 32x32 crop, flip horizontally with probability 1/2, then normalise each
// channel. Padding is applied to the raw bytes (value 0), so padded pixels normalise to -mean/std.
// Optionally cutout (DeVries and Taylor, "Improved Regularization of Convolutional Neural Networks with
// Cutout", 2017): a size x size square around a random pixel of the crop (clipped at the borders) is set to 0
// after normalisation, the dataset's mean.
// `transformReference` is the slow obvious version; `transform` (used by BatchLoader) is the fast one
// with a per-channel lookup table; tests compare them.
import Foundation

/// Where the crop window sits in the padded 40x40 image and whether the crop is mirrored.
public struct AugmentationParameters: Sendable, Equatable {
    /// Top row of the crop in the padded image, 0...8 (4 means no vertical shift).
    public var offsetY: Int
    /// Left column of the crop in the padded image, 0...8 (4 means no horizontal shift).
    public var offsetX: Int
    /// Mirror left-right after cropping.
    public var flip: Bool
    /// Side of the cutout square (0: none), and the output pixel at its centre (row, column in 0..<32); the
    /// square covers rows cutoutY - size / 2 ..< cutoutY - size / 2 + size, columns likewise.
    public var cutoutSize: Int
    public var cutoutY: Int
    public var cutoutX: Int

    public init(offsetY: Int, offsetX: Int, flip: Bool, cutoutSize: Int = 0, cutoutY: Int = 0, cutoutX: Int = 0) {
        precondition((0...8).contains(offsetY) && (0...8).contains(offsetX), "crop offsets must be in 0...8")
        precondition(cutoutSize >= 0 && (0..<32).contains(cutoutY) && (0..<32).contains(cutoutX), "cutout outside the image")
        self.offsetY = offsetY
        self.offsetX = offsetX
        self.flip = flip
        self.cutoutSize = cutoutSize
        self.cutoutY = cutoutY
        self.cutoutX = cutoutX
    }

    /// The output rows (and, with cutoutX, columns) the cutout square covers, clipped to the image.
    func cutoutRange(centre: Int) -> Range<Int> {
        let first = centre - cutoutSize / 2
        return max(0, first)..<max(0, min(32, first + cutoutSize))
    }

    /// No shift, no flip.
    public static let identity = AugmentationParameters(offsetY: 4, offsetX: 4, flip: false)

    /// The parameters of image `index` in `epoch` of a run with `seed`: a pure function of the four. The
    /// cutout centre is drawn after the crop and flip, so runs without cutout see the draws they always did.
    public static func sample(seed: UInt64, epoch: Int, index: Int, cutout: Int = 0) -> AugmentationParameters {
        var random = DataRandom(keys: seed, 0xA0C_A7E, UInt64(truncatingIfNeeded: epoch), UInt64(truncatingIfNeeded: index))
        let offsetY = random.next(below: 9), offsetX = random.next(below: 9), flip = random.next() & 1 == 1
        guard cutout > 0 else { return AugmentationParameters(offsetY: offsetY, offsetX: offsetX, flip: flip) }
        return AugmentationParameters(offsetY: offsetY, offsetX: offsetX, flip: flip, cutoutSize: cutout,
                                      cutoutY: random.next(below: 32), cutoutX: random.next(below: 32))
    }
}

/// Turns image bytes into normalised floats.
public enum ImageTransform {
    /// Slow, obvious version: one output value at a time, straight from the definition.
    public static func transformReference(_ image: ArraySlice<UInt8>, parameters: AugmentationParameters,
                                          normalization: Normalization, layout: TensorLayout) -> [Float] {
        precondition(image.count == ImageSet.imageBytes)
        let side = ImageSet.side, pad = 4
        let pixels = Array(image)
        var output = [Float](repeating: 0, count: ImageSet.imageBytes)
        for channel in 0..<3 {
            for y in 0..<side {
                for x in 0..<side {
                    let croppedX = parameters.flip ? side - 1 - x : x
                    let paddedY = y + parameters.offsetY, paddedX = croppedX + parameters.offsetX
                    let sourceY = paddedY - pad, sourceX = paddedX - pad
                    var raw: Float = 0
                    if sourceY >= 0 && sourceY < side && sourceX >= 0 && sourceX < side {
                        raw = Float(pixels[channel * side * side + sourceY * side + sourceX])
                    }
                    var value = (raw / 255 - normalization.mean[channel]) / normalization.std[channel]
                    if parameters.cutoutRange(centre: parameters.cutoutY).contains(y)
                        && parameters.cutoutRange(centre: parameters.cutoutX).contains(x) {
                        value = 0
                    }
                    switch layout {
                    case .nchw: output[channel * side * side + y * side + x] = value
                    case .nhwc: output[(y * side + x) * 3 + channel] = value
                    }
                }
            }
        }
        return output
    }

    /// Fast version of `transformReference` (identical results).
    public static func transform(_ image: ArraySlice<UInt8>, parameters: AugmentationParameters,
                                 normalization: Normalization, layout: TensorLayout) -> [Float] {
        precondition(image.count == ImageSet.imageBytes)
        let table = LookupTable(normalization)
        var output = [Float](repeating: 0, count: ImageSet.imageBytes)
        image.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                table.apply(source.baseAddress!, parameters: parameters, layout: layout, into: target.baseAddress!)
            }
        }
        return output
    }

    /// Per-channel table of the 256 normalised byte values, computed with the reference's expression.
    struct LookupTable: Sendable {
        let values: [Float]   // 3 x 256

        init(_ normalization: Normalization) {
            var values = [Float](repeating: 0, count: 3 * 256)
            for channel in 0..<3 {
                for byte in 0..<256 {
                    values[channel * 256 + byte] = (Float(byte) / 255 - normalization.mean[channel]) / normalization.std[channel]
                }
            }
            self.values = values
        }

        /// Writes one transformed image (3,072 floats) at `output`.
        func apply(_ image: UnsafePointer<UInt8>, parameters: AugmentationParameters, layout: TensorLayout,
                   into output: UnsafeMutablePointer<Float>) {
            let side = 32, plane = 1024
            // Source column for each output column (-1 where the crop shows padding).
            withUnsafeTemporaryAllocation(of: Int.self, capacity: side) { sourceColumn in
                for x in 0..<side {
                    let croppedX = parameters.flip ? side - 1 - x : x
                    let sx = croppedX + parameters.offsetX - 4
                    sourceColumn[x] = (sx >= 0 && sx < side) ? sx : -1
                }
                values.withUnsafeBufferPointer { lookup in
                    for channel in 0..<3 {
                        let table = lookup.baseAddress! + channel * 256
                        let padValue = table[0]
                        let sourcePlane = image + channel * plane
                        for y in 0..<side {
                            let sy = y + parameters.offsetY - 4
                            switch layout {
                            case .nchw:
                                let row = output + channel * plane + y * side
                                if sy < 0 || sy >= side {
                                    row.update(repeating: padValue, count: side)
                                } else {
                                    let sourceRow = sourcePlane + sy * side
                                    for x in 0..<side {
                                        let sx = sourceColumn[x]
                                        row[x] = sx >= 0 ? table[Int(sourceRow[sx])] : padValue
                                    }
                                }
                            case .nhwc:
                                let row = output + y * side * 3 + channel
                                if sy < 0 || sy >= side {
                                    for x in 0..<side { row[x * 3] = padValue }
                                } else {
                                    let sourceRow = sourcePlane + sy * side
                                    for x in 0..<side {
                                        let sx = sourceColumn[x]
                                        row[x * 3] = sx >= 0 ? table[Int(sourceRow[sx])] : padValue
                                    }
                                }
                            }
                        }
                    }
                }
            }
            guard parameters.cutoutSize > 0 else { return }
            let rows = parameters.cutoutRange(centre: parameters.cutoutY), columns = parameters.cutoutRange(centre: parameters.cutoutX)
            for channel in 0..<3 {
                for y in rows {
                    for x in columns {
                        switch layout {
                        case .nchw: output[channel * plane + y * side + x] = 0
                        case .nhwc: output[(y * side + x) * 3 + channel] = 0
                        }
                    }
                }
            }
        }
    }
}
