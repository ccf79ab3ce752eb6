// Which OpenBLAS kernels this process runs, and a note when the environment chose them.
//
// OpenBLAS picks its kernels for the CPU when the library loads, unless OPENBLAS_CORETYPE names a core.
// This project's machines set OPENBLAS_CORETYPE=Haswell, which selects 256-bit AVX2 kernels on a CPU with
// AVX-512: ResNet-32 training then needs 22-24% more CPU per step than with the Cooperlake kernels OpenBLAS
// picks itself (Experiments/bench/README.md). The library reads the variable before `main`, so the tool
// can only report it; the Makefile's commands unset it.
import CBLAS
import Foundation

public enum BLASInfo {
    /// The core whose kernels OpenBLAS runs (e.g. "Cooperlake", "Haswell").
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Writes `environmentNote()` to standard error when there is one (train, plan and bench call it first).
    public static func reportEnvironment() {
        if let note = environmentNote() { FileHandle.standardError.write(Data((note + "\n").utf8)) }
    }

    /// A one-line note when OPENBLAS_CORETYPE overrides OpenBLAS's own choice, else nil.
    public static func environmentNote() -> String? {
        guard let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], !forced.isEmpty else { return nil }
        return "note: OPENBLAS_CORETYPE=\(forced) makes OpenBLAS run its \(coreName) kernels; unset it to let OpenBLAS "
            + "pick the fastest for this CPU (on an AVX-512 CPU that saves about a fifth of the training time)"
    }
}
