// Tests of the blocked SIMD GEMM (CKernels `ss_gemm_f32`) against its scalar twin
// `ss_gemm_naive_f32`, and of the thread pool it runs on.
// Not tested here: speed (see `spikescope bench gemm`), Tensor.matmul shape checks (TensorTests).
//
// Tolerance (per element): |fast − naive| ≤ (K + 2)·ε·S + 1e-30, with ε = 2⁻²⁴ (Float unit
// roundoff) and S = |α|·(|op(A)|·|op(B)|) + |β|·|C₀| computed by the naive kernel on absolute
// values. This is the classic worst-case bound for a K-term float dot product (Higham, Accuracy
// and Stability of Numerical Algorithms, §3.1: |fl(xᵀy) − xᵀy| ≤ γ_K·|x|ᵀ|y|, γ_K ≈ K·ε), plus
// one rounding for α and one for β·C. The naive kernel accumulates in Double, so its own error
// (≈ ε·S) is inside the +2. A real bug (a dropped, doubled or misplaced term) moves an element
// by about S/K or more, which is ≥ 1/(K·(K+2)·ε) ≈ 16× the bound even at K = 1023.

import Foundation
import Testing
import CKernels
@testable import Engine

/// One GEMM problem. `pad` extra columns are added to every leading dimension and filled with
/// NaN (A, B) or a sentinel (C): reading or writing past the logical width shows up.
struct GemmCase: CustomTestStringConvertible, Sendable {
    var M: Int, N: Int, K: Int
    var transA = false, transB = false
    var alpha: Float = 1, beta: Float = 0
    var pad = 0
    var testDescription: String {
        "\(M)x\(N)x\(K) \(transA ? "T" : "N")\(transB ? "T" : "N") α=\(alpha) β=\(beta)" + (pad > 0 ? " ld+\(pad)" : "")
    }
}

/// Result of running one case through both kernels.
struct GemmCheck {
    var worstRatio: Double   // max over elements of |fast − naive| / bound (must be ≤ 1)
    var cPaddingIntact: Bool // the padding columns of C were not written
    var anyNaN: Bool         // NaN in the logical part of C (padding NaN leaked in)
}

let cSentinel: Float = -12345.0

typealias GemmFn = (Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
                    UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void

/// ss_gemm_f32's contract through the packed-B entry points (transA must be 0).
func gemmWithPackedB(_ ta: Int32, _ tb: Int32, _ M: Int32, _ N: Int32, _ K: Int32, _ alpha: Float, _ A: UnsafePointer<Float>?,
                     _ lda: Int32, _ B: UnsafePointer<Float>?, _ ldb: Int32, _ beta: Float, _ C: UnsafeMutablePointer<Float>?,
                     _ ldc: Int32) {
    precondition(ta == 0, "the packed-B GEMM takes A as stored")
    let count = max(ss_gemm_packed_b_count(K, N), 1)
    let p = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64).bindMemory(to: Float.self, capacity: count)
    defer { p.deallocate() }
    if K > 0 && N > 0 { ss_gemm_pack_b_f32(tb, K, N, B, ldb, p) }
    ss_gemm_packed_b_f32(M, N, K, alpha, A, lda, p, beta, C, ldc)
}

func runGemm(_ c: GemmCase, seed: UInt64, kernel: GemmFn = ss_gemm_f32) -> GemmCheck {
    var rng = SeededRNG(seed: seed)
    // Stored shapes: A is [M, K] or [K, M] (transA); B is [K, N] or [N, K] (transB).
    let aRows = c.transA ? c.K : c.M, aCols = c.transA ? c.M : c.K
    let bRows = c.transB ? c.N : c.K, bCols = c.transB ? c.K : c.N
    let lda = aCols + c.pad, ldb = bCols + c.pad, ldc = c.N + c.pad
    func fill(_ rows: Int, _ cols: Int, _ ld: Int, pad: Float) -> [Float] {
        var m = [Float](repeating: pad, count: max(rows * ld, 1))
        for r in 0..<rows { for j in 0..<cols { m[r * ld + j] = rng.nextUniform() * 2 - 1 } }
        return m
    }
    let a = fill(aRows, aCols, lda, pad: .nan)
    let b = fill(bRows, bCols, ldb, pad: .nan)
    // β = 0 must ignore C completely (even NaN), as in BLAS.
    let c0 = c.beta == 0 ? [Float](repeating: .nan, count: max(c.M * ldc, 1)) : fill(c.M, c.N, ldc, pad: cSentinel)
    var fast = c0, naive = c0
    for r in 0..<c.M { for j in c.N..<ldc { fast[r * ldc + j] = cSentinel; naive[r * ldc + j] = cSentinel } }
    let ta: Int32 = c.transA ? 1 : 0, tb: Int32 = c.transB ? 1 : 0
    kernel(ta, tb, Int32(c.M), Int32(c.N), Int32(c.K), c.alpha, a, Int32(lda), b, Int32(ldb), c.beta, &fast, Int32(ldc))
    ss_gemm_naive_f32(ta, tb, Int32(c.M), Int32(c.N), Int32(c.K), c.alpha, a, Int32(lda), b, Int32(ldb), c.beta, &naive, Int32(ldc))
    // S = |α|·|A|·|B| + |β|·|C₀|  (padding replaced by 0 so NaN does not enter the bound)
    let absA = a.map { $0.isNaN ? 0 : abs($0) }, absB = b.map { $0.isNaN ? 0 : abs($0) }
    var s = c0.map { ($0.isNaN || $0 == cSentinel) ? 0 : abs($0) }
    ss_gemm_naive_f32(ta, tb, Int32(c.M), Int32(c.N), Int32(c.K), abs(c.alpha), absA, Int32(lda), absB, Int32(ldb),
                      abs(c.beta), &s, Int32(ldc))
    let eps = Double(Float.ulpOfOne) / 2
    var worst = 0.0, padOK = true, nan = false
    for r in 0..<c.M {
        for j in 0..<ldc {
            let i = r * ldc + j
            if j >= c.N { padOK = padOK && fast[i] == cSentinel; continue }
            if fast[i].isNaN { nan = true; continue }
            let bound = Double(c.K + 2) * eps * Double(s[i]) + 1e-30
            worst = max(worst, Double(abs(fast[i] - naive[i])) / bound)
        }
    }
    return GemmCheck(worstRatio: worst, cPaddingIntact: padOK, anyNaN: nan)
}

/// Sizes around the register tile (6×16), the cache blocks (MC 96, KC 256, NC 2048) and the
/// 1023 the style guide asks for; every case in all four transpose combinations.
let gemmCases: [GemmCase] = {
    let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (7, 7, 7), (8, 8, 8), (9, 9, 9), (17, 17, 17), (33, 33, 33),
        (1, 33, 17), (33, 1, 9), (6, 16, 1), (7, 17, 300),         // non-square, GEMV-like, K > KC
        (1023, 33, 17), (9, 1023, 33), (33, 17, 1023),             // 1023 on each axis
        (130, 100, 520), (20, 2100, 40),                           // several MC/KC blocks; N > NC
        (1023, 1023, 20),                                          // parallel path, edge tiles both ways
        (32, 100, 300), (10, 100, 300),                            // 32 tokens: 12 + 12 + 8 rows; 10: 6 + 4
    ]
    var out: [GemmCase] = []
    for (m, n, k) in shapes {
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            out.append(GemmCase(M: m, N: n, K: k, transA: ta, transB: tb))
        }
    }
    // β = 1 accumulate, general α/β, and leading dimensions wider than the matrices.
    out.append(GemmCase(M: 9, N: 17, K: 33, beta: 1))
    out.append(GemmCase(M: 1023, N: 64, K: 65, transB: true, beta: 1))
    out.append(GemmCase(M: 33, N: 9, K: 7, transA: true, alpha: -0.5, beta: 2))
    out.append(GemmCase(M: 7, N: 9, K: 8, pad: 3))
    out.append(GemmCase(M: 100, N: 33, K: 300, transA: true, transB: true, beta: 1, pad: 5))
    out.append(GemmCase(M: 257, N: 129, K: 33, transB: true, alpha: 2, beta: 0.5, pad: 1))
    out.append(GemmCase(M: 8, N: 8, K: 0, beta: 0.5))                 // K = 0: C = β·C
    return out
}()

@Suite struct GEMMTests {
    @Test(arguments: gemmCases)
    func fastMatchesNaive(_ c: GemmCase) {
        let r = runGemm(c, seed: UInt64(c.M * 1_000_003 + c.N * 1009 + c.K))
        #expect(r.worstRatio <= 1, "error is \(r.worstRatio)× the (K+2)·ε bound")
        #expect(r.cPaddingIntact, "wrote past N into C's padding")
        #expect(!r.anyNaN, "NaN in C: read padding or used C when β = 0")
    }

    /// The portable micro-kernel (what machines without AVX2/NEON run) on a subset of the cases.
    @Test(arguments: gemmCases.filter { $0.M * $0.N * $0.K <= 4_000_000 && ($0.M % 2 == 1 || $0.pad > 0) })
    func portablePathMatchesNaive(_ c: GemmCase) {
        let r = runGemm(c, seed: UInt64(c.M * 1_000_003 + c.N * 1009 + c.K) &+ 1, kernel: ss_gemm_portable_f32)
        #expect(r.worstRatio <= 1, "error is \(r.worstRatio)× the (K+2)·ε bound")
        #expect(r.cPaddingIntact && !r.anyNaN)
    }

    /// B packed once (ss_gemm_pack_b_f32 + ss_gemm_packed_b_f32): within the bound of the naive
    /// kernel, padding untouched, and the same bits as ss_gemm_f32 (same micro-kernel calls).
    @Test(arguments: gemmCases.filter { !$0.transA && $0.M * $0.N * $0.K <= 8_000_000 })
    func packedBMatchesNaiveAndUnpackedBits(_ c: GemmCase) {
        let r = runGemm(c, seed: UInt64(c.M * 1_000_003 + c.N * 1009 + c.K) &+ 2, kernel: gemmWithPackedB)
        #expect(r.worstRatio <= 1, "error is \(r.worstRatio)× the (K+2)·ε bound")
        #expect(r.cPaddingIntact && !r.anyNaN)
        // Bits: the same random problem through both entry points.
        var rng = SeededRNG(seed: UInt64(c.M + 7 * c.N + 13 * c.K))
        let bRows = c.transB ? c.N : c.K, bCols = c.transB ? c.K : c.N
        let a = (0..<max(c.M * c.K, 1)).map { _ in rng.nextUniform() * 2 - 1 }
        let b = (0..<max(bRows * bCols, 1)).map { _ in rng.nextUniform() * 2 - 1 }
        let c0 = (0..<max(c.M * c.N, 1)).map { _ in rng.nextUniform() }
        var plain = c0, packed = c0
        let tb: Int32 = c.transB ? 1 : 0
        ss_gemm_f32(0, tb, Int32(c.M), Int32(c.N), Int32(c.K), c.alpha, a, Int32(c.K), b, Int32(bCols), c.beta, &plain, Int32(c.N))
        gemmWithPackedB(0, tb, Int32(c.M), Int32(c.N), Int32(c.K), c.alpha, a, Int32(c.K), b, Int32(bCols), c.beta, &packed, Int32(c.N))
        #expect(plain.map(\.bitPattern) == packed.map(\.bitPattern))
    }

    /// The AVX-512F 12×16 kernel (full 12-row tiles) against the 6×16 one on the same problems:
    /// the same bits, through the plain and the packed-B entry points. Runs where the CPU has
    /// AVX-512F; elsewhere it says it did not run.
    @Test(arguments: gemmCases.filter { $0.M * $0.N * $0.K <= 8_000_000 })
    func wideKernelHasTheSixRowKernelsBits(_ c: GemmCase) {
        guard ss_gemm_has_wide_kernel() == 1 else {
            print("wide GEMM kernel not checked: no AVX-512F on this CPU, or SPIKESCOPE_NO_AVX512 set (kernel \(String(cString: ss_gemm_kernel_name())))")
            return
        }
        var rng = SeededRNG(seed: UInt64(3 * c.M + 5 * c.N + 7 * c.K))
        let aRows = c.transA ? c.K : c.M, aCols = c.transA ? c.M : c.K
        let bRows = c.transB ? c.N : c.K, bCols = c.transB ? c.K : c.N
        let a = (0..<max(aRows * aCols, 1)).map { _ in rng.nextUniform() * 2 - 1 }
        let b = (0..<max(bRows * bCols, 1)).map { _ in rng.nextUniform() * 2 - 1 }
        let c0 = (0..<max(c.M * c.N, 1)).map { _ in rng.nextUniform() }
        var wide = c0, six = c0, parallel = c0
        let ta: Int32 = c.transA ? 1 : 0, tb: Int32 = c.transB ? 1 : 0
        ss_gemm_simd_f32(1, ta, tb, Int32(c.M), Int32(c.N), Int32(c.K), c.alpha, a, Int32(aCols), b, Int32(bCols), c.beta, &wide, Int32(c.N))
        ss_gemm_simd_f32(0, ta, tb, Int32(c.M), Int32(c.N), Int32(c.K), c.alpha, a, Int32(aCols), b, Int32(bCols), c.beta, &six, Int32(c.N))
        ss_gemm_f32(ta, tb, Int32(c.M), Int32(c.N), Int32(c.K), c.alpha, a, Int32(aCols), b, Int32(bCols), c.beta, &parallel, Int32(c.N))
        #expect(wide.map(\.bitPattern) == six.map(\.bitPattern), "\(c)")
        #expect(parallel.map(\.bitPattern) == six.map(\.bitPattern), "\(c)")
    }

    @Test func kernelIsTheSIMDOneOnThisMachine() {
        let name = String(cString: ss_gemm_kernel_name())
        #if arch(x86_64)
        // Every x86-64 CI/dev machine we target has AVX2+FMA; a portable pick here means the
        // run-time dispatch is broken (and the GEMM 5-10× slower). With AVX-512F the wide kernel
        // must be in use.
        let avx512 = ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").contains(" avx512f")
        if avx512 && ProcessInfo.processInfo.environment["SPIKESCOPE_NO_AVX512"] == nil {
            #expect(name.hasPrefix("avx512f") && ss_gemm_has_wide_kernel() == 1, "picked \(name)")
        } else {
            #expect(name.hasPrefix("avx2"), "picked \(name)")
        }
        #else
        #expect(!name.isEmpty)
        #endif
    }

    @Test func parallelRunRunsEachTaskOnce() {
        var hits = [Int32](repeating: 0, count: 37)
        let used = hits.withUnsafeMutableBufferPointer { buf in
            ss_parallel_run(37, { ctx, t in
                ctx!.assumingMemoryBound(to: Int32.self)[Int(t)] += 1
            }, buf.baseAddress)
        }
        #expect(hits.allSatisfy { $0 == 1 }, "\(hits)")
        #expect(used >= 1 && used <= ss_threads_get())
    }

    /// Two threads hammer the GEMM at once (the UI thread and a trainer do this). Each must get
    /// exactly its own answer: the pool serves one caller, the other runs on its own thread with
    /// its own packing buffers.
    @Test func concurrentCallersGetCorrectResults() {
        let n = 160  // 4.1M multiply-adds: above the parallel threshold
        let threads = 2, rounds = 12
        var rng = SeededRNG(seed: 7)
        let inputs: [([Float], [Float])] = (0..<threads).map { _ in
            ((0..<n * n).map { _ in rng.nextUniform() - 0.5 }, (0..<n * n).map { _ in rng.nextUniform() - 0.5 })
        }
        let expected: [[Float]] = inputs.map { a, b in
            var c = [Float](repeating: 0, count: n * n)
            ss_gemm_naive_f32(0, 0, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
            return c
        }
        let failures = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let (a, b) = inputs[t]
            for _ in 0..<rounds {
                var c = [Float](repeating: .nan, count: n * n)
                ss_gemm_f32(0, 0, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
                // Entries are sums of 160 products of values in [-0.5, 0.5]: |S| ≤ 40, so the
                // (K+2)·ε·S bound is ≤ 162·6e-8·40 ≈ 4e-4.
                let bad = zip(c, expected[t]).contains { !(abs($0 - $1) <= 4e-4) }
                if bad { failures.add() }
            }
        }
        #expect(failures.value == 0, "\(failures.value) of \(threads * rounds) concurrent GEMMs were wrong")
    }
}

/// A counter several threads may bump.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
