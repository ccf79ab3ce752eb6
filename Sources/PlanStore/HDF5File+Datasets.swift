// Numeric datasets of an HDF5File: write and read arrays of any HDF5Element with an explicit shape.
@preconcurrency import CHDF5
import Foundation

/// What a dataset holds, without reading its values.
public struct HDF5DatasetInfo: Sendable, Equatable {
    /// Dimensions; [] for a scalar.
    public var shape: [Int]
    /// Element kind, or nil for strings and other non-numeric types.
    public var kind: HDF5ElementKind?
    /// Whether the dataset holds a string.
    public var isString: Bool
}

extension HDF5File {
    /// Writes `values` as a dataset of the given shape at `name` ("a/b/c": groups made on demand),
    /// replacing a dataset already there. `shape` [] stores one scalar; zero-sized dimensions are allowed.
    public func write<T: HDF5Element>(_ values: [T], shape: [Int], to name: String) throws {
        try HDF5Library.locked {
            let parts = try components(of: name)
            let full = parts.joined(separator: "/")
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw PlanStoreError.invalidValue(path: path, name: full, reason: "negative dimension in shape \(shape)")
            }
            let expected = shape.reduce(1, *)
            guard expected == values.count else {
                throw PlanStoreError.invalidValue(path: path, name: full,
                                                  reason: "shape \(shape) holds \(expected) values but \(values.count) were given")
            }
            guard isWritable else { throw PlanStoreError.io(path: path, operation: "write '\(full)'", detail: "file opened read-only") }
            _ = try prepareParents(parts, name: full)
            try removeExistingDataset(parts, fullName: full)
            let space = try makeSpace(shape, name: full)
            defer { H5Sclose(space) }
            let type = T.hdf5Kind.nativeType
            let dataset = H5Dcreate2(try openID(), full, type, space, sibyl_h5p_default(), sibyl_h5p_default(), sibyl_h5p_default())
            guard dataset >= 0 else { throw hdf5Error("create dataset '\(full)'") }
            defer { H5Dclose(dataset) }
            if values.isEmpty { return }
            let status = values.withUnsafeBytes { raw in
                H5Dwrite(dataset, type, sibyl_h5s_all(), sibyl_h5s_all(), sibyl_h5p_default(), raw.baseAddress)
            }
            guard status >= 0 else { throw hdf5Error("write dataset '\(full)'") }
        }
    }

    /// Writes one scalar value at `name`.
    public func write<T: HDF5Element>(scalar value: T, to name: String) throws {
        try write([value], shape: [], to: name)
    }

    /// Reads the dataset at `name`, which must hold elements of exactly type `T`.
    public func read<T: HDF5Element>(_ type: T.Type, from name: String) throws -> (shape: [Int], values: [T]) {
        try withDataset(name) { dataset, full, fileType, space in
            let stored = HDF5ElementKind.of(type: fileType)
            guard stored == T.hdf5Kind else {
                let found = stored?.rawValue ?? (H5Tget_class(fileType) == H5T_STRING ? "a string" : "an unsupported type")
                throw PlanStoreError.wrongKind(path: path, name: full, expected: T.hdf5Kind.rawValue, found: found)
            }
            let shape = try self.shape(ofSpace: space, name: full)
            let count = shape.reduce(1, *)
            var values = [T](repeating: T.zero, count: count)
            if count == 0 { return (shape, values) }
            let status = values.withUnsafeMutableBytes { raw in
                H5Dread(dataset, T.hdf5Kind.nativeType, sibyl_h5s_all(), sibyl_h5s_all(), sibyl_h5p_default(), raw.baseAddress)
            }
            guard status >= 0 else { throw PlanStoreError.corruptFile(path: path, detail: "reading '\(full)': \(HDF5Library.takeErrorDetail())") }
            return (shape, values)
        }
    }

    /// Runs `body` on the dataset at `name` with its full name, file type and dataspace (closed after it),
    /// under the library's lock.
    func withDataset<R>(_ name: String, _ body: (_ dataset: hid_t, _ full: String, _ fileType: hid_t, _ space: hid_t) throws -> R) throws -> R {
        try HDF5Library.locked {
            let dataset = try openDataset(name)
            defer { H5Dclose(dataset) }
            let full = try components(of: name).joined(separator: "/")
            let fileType = H5Dget_type(dataset)
            guard fileType >= 0 else { throw hdf5Error("read the type of '\(full)'") }
            defer { H5Tclose(fileType) }
            let space = H5Dget_space(dataset)
            guard space >= 0 else { throw hdf5Error("read the dataspace of '\(full)'") }
            defer { H5Sclose(space) }
            return try body(dataset, full, fileType, space)
        }
    }

    /// Reads a scalar (or one-element) dataset of type `T`.
    public func readScalar<T: HDF5Element>(_ type: T.Type, from name: String) throws -> T {
        let (shape, values) = try read(type, from: name)
        guard values.count == 1 else {
            throw PlanStoreError.wrongKind(path: path, name: name, expected: "a scalar", found: "shape \(shape)")
        }
        return values[0]
    }

    /// Shape and element kind of the dataset at `name`.
    public func info(of name: String) throws -> HDF5DatasetInfo {
        try withDataset(name) { _, full, fileType, space in
            HDF5DatasetInfo(shape: try shape(ofSpace: space, name: full), kind: HDF5ElementKind.of(type: fileType),
                            isString: H5Tget_class(fileType) == H5T_STRING)
        }
    }

    /// Whether a dataset or group exists at `name`.
    public func contains(_ name: String) throws -> Bool {
        try HDF5Library.locked { try objectType(try components(of: name)) != nil }
    }
}
