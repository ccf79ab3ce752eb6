// OpenBLAS's kernels fitted to the CPU (BLASInfo.fitCoreToCPU): on a CPU with AVX-512 and OPENBLAS_CORETYPE
// unset, the process ends up on AVX-512 kernels whatever the library chose at load (Debian's 0.3.21 picks its
// generic Prescott kernels on CPUs newer than it), and a GEMM on them agrees with a naive product.
import XCTest
import CBLAS
import CKernels
import Foundation
import Tensors

final class BLASCoreTests: XCTestCase {
    func testCoreClassesOfKnownNames() {
        XCTAssertEqual(ckernels_openblas_core_class("Prescott"), 0)
        XCTAssertEqual(ckernels_openblas_core_class("Sandybridge"), 1)
        XCTAssertEqual(ckernels_openblas_core_class("Haswell"), 2)
        XCTAssertEqual(ckernels_openblas_core_class("Zen"), 2)
        XCTAssertEqual(ckernels_openblas_core_class("SkylakeX"), 3)
        XCTAssertEqual(ckernels_openblas_core_class("cooperlake"), 3)
        XCTAssertEqual(ckernels_openblas_core_class(nil), 0)
    }

    func testAVX512CPUsRunAVX512Kernels() throws {
        let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? ""
        try XCTSkipUnless(forced.isEmpty, "OPENBLAS_CORETYPE=\(forced) chooses the kernels (make test unsets it)")
        try XCTSkipUnless(NativeKernels.available, "this CPU has no AVX-512")
        try XCTSkipUnless(ckernels_openblas_selectable() != 0, "this BLAS has no run-time kernel selector (not a DYNAMIC_ARCH OpenBLAS)")
        Parallel.configure(threads: 2)
        XCTAssertEqual(ckernels_openblas_core_class(BLASInfo.coreName), 3,
                       "OpenBLAS runs \(BLASInfo.coreName) (chose \(BLASInfo.coreAtLoad ?? "it itself") at load)")
        // A product on the selected kernels against the naive sum (Float64).
        let m = 37, n = 29, k = 53
        var rng = SeededGenerator(seed: 17)
        let a = rng.floats(m * k), b = rng.floats(k * n)
        var c = [Float](repeating: 0, count: m * n)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n),
                    0, &c, Int32(n))
        for i in 0..<m {
            for j in 0..<n {
                let exact = (0..<k).reduce(0.0) { $0 + Double(a[i * k + $1]) * Double(b[$1 * n + j]) }
                XCTAssertEqual(Double(c[i * n + j]), exact, accuracy: 1e-4 * max(1, abs(exact)), "(\(i), \(j))")
            }
        }
    }
}
