// Recursive listing of an HDF5File's datasets (H5Literate over every group).
@preconcurrency import CHDF5
import Foundation

extension HDF5File {
    /// Every dataset in the file as a "/"-separated path without a leading "/", sorted.
    public func datasetNames() throws -> [String] {
        try HDF5Library.locked {
            final class Walk {
                var datasets: [String] = []
                var groups: [(id: hid_t, prefix: String)] = []
                var failed = false
            }
            let walk = Walk()
            let visitor: H5L_iterate_t = { group, name, _, context in
                guard let name, let context else { return -1 }
                let walk = Unmanaged<Walk>.fromOpaque(context).takeUnretainedValue()
                let object = H5Oopen(group, name, sibyl_h5p_default())
                guard object >= 0 else { walk.failed = true; return -1 }
                let child = String(cString: name)
                switch H5Iget_type(object) {
                case H5I_DATASET:
                    walk.datasets.append(child)
                    H5Oclose(object)
                case H5I_GROUP:
                    walk.groups.append((object, child))   // closed after it is listed
                default:
                    H5Oclose(object)
                }
                return 0
            }
            var result: [String] = []
            var pending: [(id: hid_t, prefix: String, owned: Bool)] = [(try openID(), "", false)]
            while let (group, prefix, owned) = pending.popLast() {
                walk.datasets = []
                walk.groups = []
                var index: hsize_t = 0
                let status = H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, visitor, Unmanaged.passUnretained(walk).toOpaque())
                if owned { H5Oclose(group) }
                if status < 0 || walk.failed {
                    for entry in pending where entry.owned { H5Oclose(entry.id) }
                    for entry in walk.groups { H5Oclose(entry.id) }
                    throw PlanStoreError.corruptFile(path: path, detail: "listing '\(prefix.isEmpty ? "/" : prefix)': \(HDF5Library.takeErrorDetail())")
                }
                result += walk.datasets.map { prefix.isEmpty ? $0 : prefix + "/" + $0 }
                for entry in walk.groups {
                    pending.append((entry.id, prefix.isEmpty ? entry.prefix : prefix + "/" + entry.prefix, true))
                }
            }
            return result.sorted()
        }
    }
}
