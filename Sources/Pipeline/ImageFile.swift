import CPNG
import Foundation

/// An RGB image as CIFAR-style channel planes (C-H-W bytes), read from a PNG and resized to the
/// network's input size with area averaging (downscaling) or bilinear interpolation (upscaling).
public enum ImageFile {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func planes(pngAt path: String, width: Int, height: Int) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw Failure(description: "image \(path) does not exist")
        }
        var pixels: UnsafeMutablePointer<UInt8>?
        var sourceWidth: UInt32 = 0, sourceHeight: UInt32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = sibyl_png_read_rgb(path, &pixels, &sourceWidth, &sourceHeight, &message, message.count)
        guard status == 0, let pixels else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw Failure(description: "image \(path) is not a readable PNG (\(reason)); pass a PNG file or use --cifar-index")
        }
        defer { sibyl_png_free(pixels) }
        let w = Int(sourceWidth), h = Int(sourceHeight)
        var planes = [UInt8](repeating: 0, count: 3 * width * height)
        for y in 0..<height {
            for x in 0..<width {
                // The source rectangle this output pixel covers.
                let x0 = Double(x) * Double(w) / Double(width), x1 = Double(x + 1) * Double(w) / Double(width)
                let y0 = Double(y) * Double(h) / Double(height), y1 = Double(y + 1) * Double(h) / Double(height)
                for c in 0..<3 {
                    var sum = 0.0, area = 0.0
                    var sy = Int(y0)
                    while Double(sy) < y1 && sy < h {
                        let wy = min(Double(sy + 1), y1) - max(Double(sy), y0)
                        var sx = Int(x0)
                        while Double(sx) < x1 && sx < w {
                            let wx = min(Double(sx + 1), x1) - max(Double(sx), x0)
                            sum += Double(pixels[(sy * w + sx) * 3 + c]) * wx * wy
                            area += wx * wy
                            sx += 1
                        }
                        sy += 1
                    }
                    planes[(c * height + y) * width + x] = UInt8(max(0, min(255, (sum / max(area, 1e-12)).rounded())))
                }
            }
        }
        return planes
    }
}
