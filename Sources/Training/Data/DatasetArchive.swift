// Finding and unpacking the shared CIFAR-100 archive (../shared/datasets/cifar-100-binary.tar.gz) when
// the data folder lacks the files: unpacked with /bin/tar into a temporary folder inside the data
// directory, then moved into place, so an interrupted unpack never leaves half a train.bin behind.
import Foundation

enum DatasetArchive {
    static let cifar100Name = "cifar-100-binary.tar.gz"

    /// Places where the shared archive may be, in order: `<directory>/../../shared/datasets/`,
    /// `<cwd>/../shared/datasets/`, `$SIBYL_SHARED/datasets/` and `$SIBYL_SHARED/`.
    static func candidates(for directory: URL, name: String) -> [URL] {
        var folders = [
            directory.appendingPathComponent("../../shared/datasets").standardizedFileURL,
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("../shared/datasets").standardizedFileURL,
        ]
        if let shared = ProcessInfo.processInfo.environment["SIBYL_SHARED"], !shared.isEmpty {
            folders.append(URL(fileURLWithPath: shared).appendingPathComponent("datasets"))
            folders.append(URL(fileURLWithPath: shared))
        }
        return folders.map { $0.appendingPathComponent(name) }
    }

    /// The first existing archive among the candidates.
    static func find(for directory: URL, name: String) -> URL? {
        candidates(for: directory, name: name).first { FileManager.default.fileExists(atPath: $0.path) }
    }

    /// Unpacks `archive` (which holds `folder/...`) so that `directory/folder/` gets its files.
    static func unpack(_ archive: URL, into directory: URL, folder: String) throws {
        let manager = FileManager.default
        let staging = directory.appendingPathComponent(".unpack-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try manager.createDirectory(at: staging, withIntermediateDirectories: true)
        } catch {
            throw DataError.unpackFailed(archive: archive.path, detail: "cannot create \(staging.path) (\(error.localizedDescription))")
        }
        defer { try? manager.removeItem(at: staging) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/tar")
        process.arguments = ["-xzf", archive.path, "-C", staging.path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw DataError.unpackFailed(archive: archive.path, detail: "cannot run /bin/tar (\(error.localizedDescription))")
        }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw DataError.unpackFailed(archive: archive.path,
                                         detail: "tar exited with \(process.terminationStatus): \(String(decoding: message, as: UTF8.self))")
        }
        let unpacked = staging.appendingPathComponent(folder)
        let target = directory.appendingPathComponent(folder)
        do {
            try manager.createDirectory(at: target, withIntermediateDirectories: true)
            for name in try manager.contentsOfDirectory(atPath: unpacked.path) {
                // rename(2) replaces an existing file atomically: a concurrent reader sees the old or the new file.
                let source = unpacked.appendingPathComponent(name).path, destination = target.appendingPathComponent(name).path
                guard rename(source, destination) == 0 else {
                    throw DataError.ioFailed(path: destination, detail: String(cString: strerror(errno)))
                }
            }
        } catch let error as DataError {
            throw DataError.unpackFailed(archive: archive.path, detail: "cannot move the unpacked files to \(target.path) (\(error))")
        } catch {
            throw DataError.unpackFailed(archive: archive.path, detail: "cannot move the unpacked files to \(target.path) (\(error.localizedDescription))")
        }
    }
}
