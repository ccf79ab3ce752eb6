// A small, general wrapper over one HDF5 file (The HDF Group, HDF5 1.10 reference manual): create or
// open, groups made on demand from "/"-separated names, numeric and string datasets, string
// attributes, recursive listing. Every call is serialised through HDF5Library's lock; every failure is
// a PlanStoreError naming the file.
@preconcurrency import CHDF5
import Foundation

/// One open HDF5 file. Closed by `close()` or, silently, when the object is released.
public final class HDF5File: @unchecked Sendable {
    /// The file's location.
    public let url: URL
    /// `url.path`, used in every error.
    public var path: String { url.path }
    /// Whether the file was opened for writing.
    public let isWritable: Bool

    /// The HDF5 file id, or -1 once closed. Only touched under HDF5Library's lock.
    private var fileID: hid_t

    /// Creates a new file. With `overwrite` an existing file is replaced, otherwise it is an error.
    public init(creating url: URL, overwrite: Bool = true) throws {
        self.url = url
        self.isWritable = true
        let path = url.path
        fileID = try HDF5Library.locked {
            let flags = overwrite ? sibyl_h5f_acc_trunc() : sibyl_h5f_acc_excl()
            let id = H5Fcreate(path, flags, sibyl_h5p_default(), sibyl_h5p_default())
            guard id >= 0 else {
                let detail = HDF5Library.takeErrorDetail()
                let directory = url.deletingLastPathComponent().path
                if !FileManager.default.fileExists(atPath: directory) {
                    throw PlanStoreError.io(path: path, operation: "create", detail: "directory \(directory) does not exist")
                }
                throw PlanStoreError.io(path: path, operation: "create", detail: detail)
            }
            return id
        }
    }

    /// Opens an existing file, read-only unless `writable`.
    public init(opening url: URL, writable: Bool = false) throws {
        self.url = url
        self.isWritable = writable
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw PlanStoreError.fileNotFound(path: path)
        }
        fileID = try HDF5Library.locked {
            let id = H5Fopen(path, writable ? sibyl_h5f_acc_rdwr() : sibyl_h5f_acc_rdonly(), sibyl_h5p_default())
            guard id >= 0 else {
                throw PlanStoreError.corruptFile(path: path, detail: HDF5Library.takeErrorDetail())
            }
            return id
        }
    }

    deinit {
        if fileID >= 0 {
            let id = fileID
            HDF5Library.locked { _ = H5Fclose(id); _ = HDF5Library.takeErrorMessages() }
        }
    }

    /// Flushes everything to the operating system.
    public func flush() throws {
        try HDF5Library.locked {
            let id = try openID()
            guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 else { throw hdf5Error("flush") }
        }
    }

    /// Closes the file; further calls on this object throw. Closing twice is harmless.
    public func close() throws {
        try HDF5Library.locked {
            guard fileID >= 0 else { return }
            let id = fileID
            fileID = -1
            guard H5Fclose(id) >= 0 else { throw hdf5Error("close") }
        }
    }

    // MARK: - Helpers used by the extensions (call only under the lock)

    func openID() throws -> hid_t {
        guard fileID >= 0 else {
            throw PlanStoreError.hdf5(path: path, operation: "access", detail: "the file was already closed")
        }
        return fileID
    }

    func hdf5Error(_ operation: String) -> PlanStoreError {
        .hdf5(path: path, operation: operation, detail: HDF5Library.takeErrorDetail())
    }

    /// Splits "a/b/c" (an optional leading "/" allowed) into its parts, rejecting empty, "." and "..".
    func components(of name: String) throws -> [String] {
        var trimmed = Substring(name)
        if trimmed.hasPrefix("/") { trimmed = trimmed.dropFirst() }
        guard !trimmed.isEmpty else { throw PlanStoreError.invalidName(path: path, name: name, reason: "empty name") }
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for part in parts {
            if part.isEmpty { throw PlanStoreError.invalidName(path: path, name: name, reason: "empty part (\"//\" or a trailing \"/\")") }
            if part == "." || part == ".." { throw PlanStoreError.invalidName(path: path, name: name, reason: "\"\(part)\" is not allowed") }
            if part.utf8.contains(0) { throw PlanStoreError.invalidName(path: path, name: name, reason: "contains a NUL byte") }
        }
        return parts
    }

    /// Whether a link with this exact path exists (its parents must be groups).
    func linkExists(_ parts: [String]) throws -> Bool {
        let id = try openID()
        var prefix = ""
        for part in parts {
            prefix = prefix.isEmpty ? part : prefix + "/" + part
            let status = H5Lexists(id, prefix, sibyl_h5p_default())
            if status < 0 { _ = HDF5Library.takeErrorMessages(); return false }
            if status == 0 { return false }
        }
        return true
    }

    /// The HDF5 object type at `name` (group, dataset, ...), or nil when absent.
    func objectType(_ parts: [String]) throws -> H5I_type_t? {
        guard try linkExists(parts) else { return nil }
        let object = H5Oopen(try openID(), parts.joined(separator: "/"), sibyl_h5p_default())
        guard object >= 0 else { throw hdf5Error("open '\(parts.joined(separator: "/"))'") }
        defer { H5Oclose(object) }
        return H5Iget_type(object)
    }

    /// Creates the groups above the last component as needed and returns the full path.
    func prepareParents(_ parts: [String], name: String) throws -> String {
        let id = try openID()
        var prefix = ""
        for part in parts.dropLast() {
            prefix = prefix.isEmpty ? part : prefix + "/" + part
            let status = H5Lexists(id, prefix, sibyl_h5p_default())
            if status < 0 { throw hdf5Error("look up '\(prefix)'") }
            if status > 0 {
                let object = H5Oopen(id, prefix, sibyl_h5p_default())
                guard object >= 0 else { throw hdf5Error("open '\(prefix)'") }
                let type = H5Iget_type(object)
                H5Oclose(object)
                if type != H5I_GROUP { throw PlanStoreError.nameConflict(path: path, name: prefix) }
            } else {
                let group = H5Gcreate2(id, prefix, sibyl_h5p_default(), sibyl_h5p_default(), sibyl_h5p_default())
                guard group >= 0 else { throw hdf5Error("create group '\(prefix)'") }
                H5Gclose(group)
            }
        }
        return parts.joined(separator: "/")
    }

    /// Makes room for a new dataset at `fullName`: an existing dataset there is unlinked, a group is a conflict.
    func removeExistingDataset(_ parts: [String], fullName: String) throws {
        guard let type = try objectType(parts) else { return }
        guard type == H5I_DATASET else { throw PlanStoreError.nameConflict(path: path, name: fullName) }
        guard H5Ldelete(try openID(), fullName, sibyl_h5p_default()) >= 0 else { throw hdf5Error("replace '\(fullName)'") }
    }

    /// Opens the dataset at `name` (the caller closes it).
    func openDataset(_ name: String) throws -> hid_t {
        let parts = try components(of: name)
        let full = parts.joined(separator: "/")
        guard let type = try objectType(parts) else { throw PlanStoreError.missingObject(path: path, name: full) }
        guard type == H5I_DATASET else { throw PlanStoreError.wrongKind(path: path, name: full, expected: "a dataset", found: "a group") }
        let dataset = H5Dopen2(try openID(), full, sibyl_h5p_default())
        guard dataset >= 0 else { throw hdf5Error("open dataset '\(full)'") }
        return dataset
    }

    /// Shape of a dataspace: [] for a scalar, the dimensions otherwise.
    func shape(ofSpace space: hid_t, name: String) throws -> [Int] {
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0 else { throw hdf5Error("read the shape of '\(name)'") }
        if rank == 0 { return [] }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0 else { throw hdf5Error("read the shape of '\(name)'") }
        return dims.map { Int($0) }
    }

    /// A dataspace for `shape` ([] is a scalar; zero-sized dimensions are allowed). The caller closes it.
    func makeSpace(_ shape: [Int], name: String) throws -> hid_t {
        if shape.isEmpty {
            let space = H5Screate(H5S_SCALAR)
            guard space >= 0 else { throw hdf5Error("create a scalar dataspace for '\(name)'") }
            return space
        }
        let dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), dims, nil)
        guard space >= 0 else { throw hdf5Error("create the dataspace \(shape) for '\(name)'") }
        return space
    }
}
