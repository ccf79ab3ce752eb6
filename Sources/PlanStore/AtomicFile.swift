// Atomic replacement of a file: write a temporary file in the destination's directory, fsync it,
// rename(2) it over the destination (atomic within one file system, POSIX.1-2017), fsync the directory.
import Foundation

/// Writes files so that readers see either the old or the new version, never a partial one.
public enum AtomicFile {
    /// Calls `produce` with a fresh temporary path next to `url` (nothing exists there yet), then makes
    /// the file it wrote durable and moves it to `url`. If `produce` or any step throws, the temporary
    /// file is removed and `url` is left as it was.
    public static func write(to url: URL, _ produce: (URL) throws -> Void) throws {
        let directory = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PlanStoreError.io(path: url.path, operation: "write", detail: "directory \(directory.path) does not exist")
        }
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(suffix).tmp")
        do {
            try produce(temporary)
            try sync(path: temporary.path, what: "fsync")
            guard rename(temporary.path, url.path) == 0 else {
                throw PlanStoreError.io(path: url.path, operation: "rename", detail: String(cString: strerror(errno)))
            }
        } catch {
            unlink(temporary.path)
            throw error
        }
        try? sync(path: directory.path, what: "fsync directory")
    }

    private static func sync(path: String, what: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw PlanStoreError.io(path: path, operation: what, detail: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw PlanStoreError.io(path: path, operation: what, detail: String(cString: strerror(errno))) }
    }
}
