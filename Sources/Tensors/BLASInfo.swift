// Which OpenBLAS kernels this process runs, and how they were chosen.
//
// OpenBLAS picks its kernels for the CPU when the library loads, unless OPENBLAS_CORETYPE names a core.
// Two things can leave it on weaker kernels than the CPU has:
// - The environment: this project's machines set OPENBLAS_CORETYPE=Haswell, which selects 256-bit AVX2
//   kernels on a CPU with AVX-512 (22-24% more CPU per ResNet-32 training step than Cooperlake's,
//   Experiments/bench/README.md). A variable the user set is respected and reported; the Makefile's commands
//   unset it.
// - A CPU model newer than the library: Debian's OpenBLAS 0.3.21 does not know the 5th-generation Xeons
//   (model 207) and falls back to its generic "Prescott" (SSE3) kernels. `fitCoreToCPU` then selects the
//   kernels of the CPU's vector class through OpenBLAS's own selector (CKernels' blas_core.c): +10% training
//   throughput on such a machine (session 17's measurements).
import CBLAS
import CKernels
import Foundation

public enum BLASInfo {
    /// The core whose kernels OpenBLAS runs (e.g. "Cooperlake", "Haswell").
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// The core OpenBLAS chose when it loaded, where `fitCoreToCPU` replaced it; nil when it kept its choice.
    public static var coreAtLoad: String? { fitted?.from }

    private static let fitted: (from: String, to: String)? = {
        let before = coreName
        guard let after = ckernels_fit_openblas_core() else { return nil }
        return (before, String(cString: after))
    }()

    /// Selects the kernels of the CPU's vector class when OpenBLAS chose a weaker class and OPENBLAS_CORETYPE is
    /// unset. Runs once; call it before the first BLAS call (`Parallel.configure` and `sibyl`'s entry do).
    public static func fitCoreToCPU() { _ = fitted }

    /// Writes `environmentNote()` to standard error when there is one (train, plan and bench call it first).
    public static func reportEnvironment() {
        if let note = environmentNote() { FileHandle.standardError.write(Data((note + "\n").utf8)) }
    }

    /// A one-line note when OPENBLAS_CORETYPE overrides OpenBLAS's own choice, else nil.
    public static func environmentNote() -> String? {
        guard let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], !forced.isEmpty else { return nil }
        return "note: OPENBLAS_CORETYPE=\(forced) makes OpenBLAS run its \(coreName) kernels; unset it to let Sibyl "
            + "pick the fastest for this CPU (on an AVX-512 CPU that saves about a fifth of the training time)"
    }
}
