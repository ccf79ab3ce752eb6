// Caches a dataset file's SHA-256 verification in a small stamp file next to it
// (".<name>.sha256-stamp", JSON with the file size, modification time and hash), so the 150 MB of
// CIFAR-100 are hashed once rather than on every run. The file is hashed again whenever its size or
// modification time differs from the stamp, or the stamp records another hash than expected.
import Foundation
import PlanStore

/// What was verified about one file.
struct DatasetStamp: Codable, Equatable {
    var size: Int
    var modified: Double
    var sha256: String

    static func stampURL(for url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).sha256-stamp")
    }

    /// Size and modification time of the file itself, following symbolic links (a dataset folder may
    /// link to a shared copy; the link's own 40-odd bytes say nothing).
    static func attributes(_ url: URL) throws -> (size: Int, modified: Double) {
        var info = stat()
        guard stat(url.path, &info) == 0 else {
            throw DataError.ioFailed(path: url.path, detail: "cannot read the file's attributes (\(String(cString: strerror(errno))))")
        }
        return (Int(info.st_size), Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) * 1e-9)
    }

    static func fileSize(_ url: URL) throws -> Int { try attributes(url).size }

    /// Size and modification time of the file now.
    static func current(_ url: URL, sha256: String) throws -> DatasetStamp {
        let (size, modified) = try attributes(url)
        return DatasetStamp(size: size, modified: modified, sha256: sha256)
    }

    /// Whether a valid stamp says the file, as it is now, has hash `expected`.
    static func isVerified(_ url: URL, expectedSHA256 expected: String) -> Bool {
        guard let data = try? Data(contentsOf: stampURL(for: url)),
              let stamp = try? JSONDecoder().decode(DatasetStamp.self, from: data),
              let now = try? current(url, sha256: expected) else { return false }
        return stamp == now
    }

    /// Checks `data` (the contents of `url`) against `expected`, using and refreshing the stamp.
    static func verify(_ url: URL, data: Data, expectedSHA256 expected: String) throws {
        if isVerified(url, expectedSHA256: expected) { return }
        let actual = SHA256.hex(of: data)
        guard actual == expected else {
            try? FileManager.default.removeItem(at: stampURL(for: url))
            throw DataError.checksumMismatch(path: url.path, expected: expected, actual: actual)
        }
        // A read-only data folder simply goes without a stamp.
        if let encoded = try? JSONEncoder().encode(try current(url, sha256: actual)) {
            try? encoded.write(to: stampURL(for: url), options: .atomic)
        }
    }
}
