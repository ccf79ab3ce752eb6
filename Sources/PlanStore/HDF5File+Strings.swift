// String datasets and string attributes of an HDF5File. Strings are stored as scalar variable-length
// UTF-8 strings (what h5py writes for `str`); fixed-length strings written by other tools read back too.
@preconcurrency import CHDF5
import Foundation

extension HDF5File {
    /// Writes `value` as a scalar string dataset at `name` (groups made on demand).
    public func write(string value: String, to name: String) throws {
        try HDF5Library.locked {
            let parts = try components(of: name)
            let full = parts.joined(separator: "/")
            guard !value.utf8.contains(0) else {
                throw PlanStoreError.invalidValue(path: path, name: full, reason: "the string contains a NUL byte")
            }
            guard isWritable else { throw PlanStoreError.io(path: path, operation: "write '\(full)'", detail: "file opened read-only") }
            _ = try prepareParents(parts, name: full)
            try removeExistingDataset(parts, fullName: full)
            let type = try variableStringType(name: full)
            defer { H5Tclose(type) }
            let space = try makeSpace([], name: full)
            defer { H5Sclose(space) }
            let dataset = H5Dcreate2(try openID(), full, type, space, sibyl_h5p_default(), sibyl_h5p_default(), sibyl_h5p_default())
            guard dataset >= 0 else { throw hdf5Error("create dataset '\(full)'") }
            defer { H5Dclose(dataset) }
            let status = value.withCString { cString -> herr_t in
                var pointer: UnsafePointer<CChar>? = cString
                return withUnsafeMutablePointer(to: &pointer) {
                    H5Dwrite(dataset, type, sibyl_h5s_all(), sibyl_h5s_all(), sibyl_h5p_default(), $0)
                }
            }
            guard status >= 0 else { throw hdf5Error("write dataset '\(full)'") }
        }
    }

    /// Reads the scalar string dataset at `name`.
    public func readString(from name: String) throws -> String {
        try withDataset(name) { dataset, full, fileType, space in
            guard H5Tget_class(fileType) == H5T_STRING, H5Sget_simple_extent_npoints(space) == 1 else {
                throw PlanStoreError.wrongKind(path: path, name: full, expected: "a scalar string",
                                               found: HDF5ElementKind.of(type: fileType)?.rawValue ?? "another type")
            }
            return try readStringValue(fileType: fileType, name: full) { memoryType, buffer in
                H5Dread(dataset, memoryType, sibyl_h5s_all(), sibyl_h5s_all(), sibyl_h5p_default(), buffer)
            }
        }
    }

    /// Sets a string attribute `attribute` on the object at `object` ("/" is the file's root group).
    public func setAttribute(_ attribute: String, to value: String, on object: String = "/") throws {
        try HDF5Library.locked {
            guard !value.utf8.contains(0), !attribute.isEmpty, !attribute.utf8.contains(0) else {
                throw PlanStoreError.invalidValue(path: path, name: attribute, reason: "empty name or a NUL byte in attribute or value")
            }
            guard isWritable else { throw PlanStoreError.io(path: path, operation: "write attribute '\(attribute)'", detail: "file opened read-only") }
            let target = try openObject(object)
            defer { H5Oclose(target) }
            let exists = H5Aexists(target, attribute)
            if exists > 0 { guard H5Adelete(target, attribute) >= 0 else { throw hdf5Error("replace attribute '\(attribute)'") } }
            let type = try variableStringType(name: attribute)
            defer { H5Tclose(type) }
            let space = try makeSpace([], name: attribute)
            defer { H5Sclose(space) }
            let handle = H5Acreate2(target, attribute, type, space, sibyl_h5p_default(), sibyl_h5p_default())
            guard handle >= 0 else { throw hdf5Error("create attribute '\(attribute)'") }
            defer { H5Aclose(handle) }
            let status = value.withCString { cString -> herr_t in
                var pointer: UnsafePointer<CChar>? = cString
                return withUnsafeMutablePointer(to: &pointer) { H5Awrite(handle, type, $0) }
            }
            guard status >= 0 else { throw hdf5Error("write attribute '\(attribute)'") }
        }
    }

    /// Writes (or replaces) the 64-bit integer attribute `attribute` of `object` (a scalar int64).
    public func setAttribute(_ attribute: String, integer value: Int64, on object: String = "/") throws {
        try HDF5Library.locked {
            guard !attribute.isEmpty, !attribute.utf8.contains(0) else {
                throw PlanStoreError.invalidValue(path: path, name: attribute, reason: "empty name or a NUL byte in the attribute name")
            }
            guard isWritable else { throw PlanStoreError.io(path: path, operation: "write attribute '\(attribute)'", detail: "file opened read-only") }
            let target = try openObject(object)
            defer { H5Oclose(target) }
            if H5Aexists(target, attribute) > 0 { guard H5Adelete(target, attribute) >= 0 else { throw hdf5Error("replace attribute '\(attribute)'") } }
            let space = try makeSpace([], name: attribute)
            defer { H5Sclose(space) }
            let handle = H5Acreate2(target, attribute, sibyl_h5t_native_int64(), space, sibyl_h5p_default(), sibyl_h5p_default())
            guard handle >= 0 else { throw hdf5Error("create attribute '\(attribute)'") }
            defer { H5Aclose(handle) }
            var stored = value
            guard H5Awrite(handle, sibyl_h5t_native_int64(), &stored) >= 0 else { throw hdf5Error("write attribute '\(attribute)'") }
        }
    }

    /// The integer attribute `attribute` of `object` (any integer type in the file), or nil when it has none
    /// of that name; a string attribute holding a decimal integer (files from before integer attributes)
    /// is read as that integer.
    public func integerAttribute(_ attribute: String, on object: String = "/") throws -> Int64? {
        try withAttribute(attribute, on: object) { handle, fileType in
            if H5Tget_class(fileType) == H5T_INTEGER {
                var value: Int64 = 0
                guard H5Aread(handle, sibyl_h5t_native_int64(), &value) >= 0 else { throw hdf5Error("read attribute '\(attribute)'") }
                return value
            }
            guard H5Tget_class(fileType) == H5T_STRING,
                  let value = Int64(try readStringValue(fileType: fileType, name: attribute) { H5Aread(handle, $0, $1) }) else {
                throw PlanStoreError.wrongKind(path: path, name: attribute, expected: "an integer attribute",
                                               found: HDF5ElementKind.of(type: fileType)?.rawValue ?? "another value")
            }
            return value
        }
    }

    /// The string attribute `attribute` of `object`, or nil when it has none of that name.
    public func attribute(_ attribute: String, on object: String = "/") throws -> String? {
        try withAttribute(attribute, on: object) { handle, fileType in
            guard H5Tget_class(fileType) == H5T_STRING else {
                throw PlanStoreError.wrongKind(path: path, name: attribute, expected: "a string attribute",
                                               found: HDF5ElementKind.of(type: fileType)?.rawValue ?? "another type")
            }
            return try readStringValue(fileType: fileType, name: attribute) { H5Aread(handle, $0, $1) }
        }
    }

    /// Runs `body` with the open attribute and its file type, under the library lock; nil when `object`
    /// has no attribute of that name.
    private func withAttribute<T>(_ attribute: String, on object: String, _ body: (hid_t, hid_t) throws -> T) throws -> T? {
        try HDF5Library.locked {
            let target = try openObject(object)
            defer { H5Oclose(target) }
            let exists = H5Aexists(target, attribute)
            guard exists >= 0 else { throw PlanStoreError.corruptFile(path: path, detail: HDF5Library.takeErrorDetail()) }
            if exists == 0 { return nil }
            let handle = H5Aopen(target, attribute, sibyl_h5p_default())
            guard handle >= 0 else { throw hdf5Error("open attribute '\(attribute)'") }
            defer { H5Aclose(handle) }
            let fileType = H5Aget_type(handle)
            guard fileType >= 0 else { throw hdf5Error("read the type of attribute '\(attribute)'") }
            defer { H5Tclose(fileType) }
            return try body(handle, fileType)
        }
    }

    // MARK: - Helpers (call only under the lock)

    private func openObject(_ object: String) throws -> hid_t {
        let name: String
        if object == "/" || object.isEmpty {
            name = "/"
        } else {
            let parts = try components(of: object)
            guard try linkExists(parts) else { throw PlanStoreError.missingObject(path: path, name: parts.joined(separator: "/")) }
            name = parts.joined(separator: "/")
        }
        let handle = H5Oopen(try openID(), name, sibyl_h5p_default())
        guard handle >= 0 else { throw hdf5Error("open '\(name)'") }
        return handle
    }

    private func variableStringType(name: String) throws -> hid_t {
        let type = H5Tcopy(sibyl_h5t_c_s1())
        guard type >= 0, H5Tset_size(type, sibyl_h5t_variable()) >= 0, H5Tset_cset(type, H5T_CSET_UTF8) >= 0 else {
            throw hdf5Error("make a string type for '\(name)'")
        }
        return type
    }

    /// Reads one string of stored type `fileType` through `read(memoryType, buffer)`.
    private func readStringValue(fileType: hid_t, name: String, read: (hid_t, UnsafeMutableRawPointer) -> herr_t) throws -> String {
        if H5Tis_variable_str(fileType) > 0 {
            let memoryType = try variableStringType(name: name)
            defer { H5Tclose(memoryType) }
            var pointer: UnsafeMutablePointer<CChar>? = nil
            let status = withUnsafeMutablePointer(to: &pointer) { read(memoryType, UnsafeMutableRawPointer($0)) }
            guard status >= 0 else { throw PlanStoreError.corruptFile(path: path, detail: "reading '\(name)': \(HDF5Library.takeErrorDetail())") }
            guard let pointer else { return "" }
            defer { H5free_memory(pointer) }
            return String(cString: pointer)
        }
        let size = H5Tget_size(fileType)
        guard size > 0 else { return "" }
        let memoryType = H5Tcopy(sibyl_h5t_c_s1())
        // Null-padded in memory so that a string filling the whole fixed width keeps its last character.
        guard memoryType >= 0, H5Tset_size(memoryType, size) >= 0, H5Tset_strpad(memoryType, H5T_STR_NULLPAD) >= 0 else {
            throw hdf5Error("make a string type for '\(name)'")
        }
        defer { H5Tclose(memoryType) }
        var bytes = [UInt8](repeating: 0, count: size)
        let status = bytes.withUnsafeMutableBytes { read(memoryType, $0.baseAddress!) }
        guard status >= 0 else { throw PlanStoreError.corruptFile(path: path, detail: "reading '\(name)': \(HDF5Library.takeErrorDetail())") }
        if let end = bytes.firstIndex(of: 0) { bytes.removeSubrange(end...) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
