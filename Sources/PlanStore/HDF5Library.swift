// Process-wide access to the HDF5 C library (The HDF Group, HDF5 1.10 reference manual).
// Debian's libhdf5 is the serial, non-thread-safe build, so every call into it goes through one lock,
// and its automatic error-stack printing is switched off once; failures are turned into Swift errors
// carrying the library's own innermost message.
@preconcurrency import CHDF5
import Foundation

/// Serialises all calls into HDF5 and converts its error stack into `PlanStoreError`.
enum HDF5Library {
    /// One recursive lock for the whole process (nested helpers may lock again).
    private static let lock = NSRecursiveLock()

    /// Initialises the library and silences its error printing; evaluated once, under the lock.
    private static let initialised: Bool = {
        _ = H5open()
        _ = H5Eset_auto2(sibyl_h5e_default(), nil, nil)
        return true
    }()

    /// Runs `body` with exclusive access to HDF5.
    static func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        precondition(initialised)
        return try body()
    }

    /// The messages on HDF5's current error stack, outermost (API call) first; clears the stack.
    static func takeErrorMessages() -> [String] {
        final class Box { var messages: [String] = [] }
        let box = Box()
        let walker: H5E_walk2_t = { _, description, clientData in
            guard let description, let clientData else { return 0 }
            let box = Unmanaged<Box>.fromOpaque(clientData).takeUnretainedValue()
            let entry = description.pointee
            let text = entry.desc.map { String(cString: $0) } ?? ""
            let function = entry.func_name.map { String(cString: $0) } ?? ""
            box.messages.append(function.isEmpty ? text : "\(function): \(text)")
            return 0
        }
        _ = H5Ewalk2(sibyl_h5e_default(), H5E_WALK_DOWNWARD, walker, Unmanaged.passUnretained(box).toOpaque())
        _ = H5Eclear2(sibyl_h5e_default())
        return box.messages
    }

    /// A short human-readable summary of the current error stack (innermost message last).
    static func takeErrorDetail() -> String {
        let messages = takeErrorMessages()
        guard let last = messages.last else { return "unknown HDF5 error" }
        if messages.count == 1 { return last }
        return "\(messages[0]) (\(last))"
    }
}
