// Numeric element types that HDF5File stores as datasets, and how they map onto HDF5 native types.
@preconcurrency import CHDF5

/// The element types an `HDF5File` dataset can hold.
public enum HDF5ElementKind: String, Sendable, CaseIterable {
    case float32, float64, int8, uint8, int32, int64, uint64

    /// HDF5's native memory type for this kind.
    var nativeType: hid_t {
        switch self {
        case .float32: return sibyl_h5t_native_float()
        case .float64: return sibyl_h5t_native_double()
        case .int8: return sibyl_h5t_native_int8()
        case .uint8: return sibyl_h5t_native_uint8()
        case .int32: return sibyl_h5t_native_int32()
        case .int64: return sibyl_h5t_native_int64()
        case .uint64: return sibyl_h5t_native_uint64()
        }
    }

    /// Reads back the kind of a stored datatype, or nil for anything else (strings, compounds, ...).
    static func of(type: hid_t) -> HDF5ElementKind? {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            return size == 4 ? .float32 : (size == 8 ? .float64 : nil)
        case H5T_INTEGER:
            let signed = H5Tget_sign(type) == H5T_SGN_2
            switch (size, signed) {
            case (1, true): return .int8
            case (1, false): return .uint8
            case (4, true): return .int32
            case (8, true): return .int64
            case (8, false): return .uint64
            default: return nil
            }
        default:
            return nil
        }
    }
}

/// A Swift scalar type that maps onto one `HDF5ElementKind`.
public protocol HDF5Element: Sendable {
    static var hdf5Kind: HDF5ElementKind { get }
    static var zero: Self { get }
}

// One line per element type: which kind it is stored as.
extension Float: HDF5Element { public static var hdf5Kind: HDF5ElementKind { .float32 } }
extension Double: HDF5Element { public static var hdf5Kind: HDF5ElementKind { .float64 } }
extension Int8: HDF5Element { public static var hdf5Kind: HDF5ElementKind { .int8 } }
extension UInt8: HDF5Element { public static var hdf5Kind: HDF5ElementKind { .uint8 } }
extension Int32: HDF5Element { public static var hdf5Kind: HDF5ElementKind { .int32 } }
extension Int64: HDF5Element { public static var hdf5Kind: HDF5ElementKind { .int64 } }
extension UInt64: HDF5Element { public static var hdf5Kind: HDF5ElementKind { .uint64 } }
