// Tests of the bf16 row-major kernels (CKernels bf16rows.c: W[nOut, nIn] as the checkpoint stores
// it, read in place): `ss_gemv_bf16_rows` on every SIMD path this machine has against its portable
// twin and a Double reference, the `.bf16Rows` batch job against one call, and
// `ss_gemm_bf16_rows` (prefill) against per-row GEMVs and across thread counts.
// Not tested here: speed (a release-mode timing, see the kernel's commit notes).
//
// Bounds, per output element, with S = Σ_i |w_i·x_i| (in Double) and ε = 2⁻²⁴:
//  - fast path vs portable twin: |Δ| ≤ 1e-5·S. The paths are built to sum in the same order
//    (bf16rows.c, "16-lane order"), so they are also checked to be bit-identical.
//  - either vs the Double reference: |Δ| ≤ (nIn + 2)·ε·S — the worst case of an nIn-term fp32
//    dot product (Higham §3.1, γ_n·Σ|w·x|, as in GEMMTests), plus slack for the reference's own
//    rounding. The products w·x are exact in Double (8 + 24 significant bits), so the reference
//    is the exact sum to ≈ 2⁻⁵³·S.
//  - GEMM vs per-row GEMV: each is within (nIn + 2)·ε·S of the exact sum, so |Δ| ≤ 2·(nIn + 2)·ε·S.
// A real bug (a dropped, doubled or misplaced term) moves an element by ≈ S/nIn, far above these.

import Foundation
import Testing
import CKernels
@testable import Engine

/// One bf16 problem: W[nOut, nIn] (bf16 bits), x (fp32), and the Double reference.
struct BF16RowsProblem {
    let nOut: Int, nIn: Int
    let w: [UInt16]
    let x: [Float]

    init(nOut: Int, nIn: Int, seed: UInt64) {
        self.nOut = nOut
        self.nIn = nIn
        var rng = SeededRNG(seed: seed)
        // Weights spread over several binades (and some exact zeros), as trained weights are.
        w = (0..<(nOut * nIn)).map { _ in
            let u = rng.nextUniform()
            let v = u < 0.05 ? 0 : (rng.nextUniform() * 2 - 1) * Float(1 << Int(u * 8)) / 64
            return UInt16(truncatingIfNeeded: v.bitPattern >> 16)
        }
        x = (0..<nIn).map { _ in rng.nextUniform() * 4 - 2 }
    }

    static func f32(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// Exact Σ w·x of row o (to Double rounding) and S = Σ |w·x|.
    func reference(row o: Int, x: ArraySlice<Float>) -> (sum: Double, abs: Double) {
        var s = 0.0, a = 0.0
        for i in 0..<nIn {
            let p = Double(Self.f32(w[o * nIn + i])) * Double(x[x.startIndex + i])
            s += p
            a += abs(p)
        }
        return (s, a)
    }
}

let bf16Eps = Double(Float.ulpOfOne) / 2
let ySentinel: Float = -777.5

/// Runs `kernel` into a buffer with 3 sentinel slots past nOut; nil if the kernel did not run.
func runRows(_ p: BF16RowsProblem, _ kernel: (UnsafeMutablePointer<Float>, UnsafePointer<UInt16>, UnsafePointer<Float>) -> Bool)
    -> [Float]? {
    var y = [Float](repeating: ySentinel, count: p.nOut + 3)
    let ran = p.w.withUnsafeBufferPointer { w in
        p.x.withUnsafeBufferPointer { x in y.withUnsafeMutableBufferPointer { kernel($0.baseAddress!, w.baseAddress!, x.baseAddress!) } }
    }
    guard ran else { return nil }
    #expect(y[p.nOut...].allSatisfy { $0 == ySentinel }, "wrote past y[nOut]")
    return Array(y[..<p.nOut])
}

struct RowShape: CustomTestStringConvertible, Sendable {
    var nOut: Int, nIn: Int
    var testDescription: String { "\(nOut)x\(nIn)" }
}

// nIn: 1, under one 16-block, exact 16/32-blocks, blocks plus tails of every kind (16 + 1,
// 32 + 15, …), one row longer than the prefetch distance. nOut: 1, 2, 3 (no 4-row group), 4k and
// 4k + 1..3 (a group plus single rows).
let rowShapes: [RowShape] = [
    .init(nOut: 1, nIn: 1), .init(nOut: 1, nIn: 17), .init(nOut: 3, nIn: 1), .init(nOut: 2, nIn: 7),
    .init(nOut: 5, nIn: 15), .init(nOut: 4, nIn: 16), .init(nOut: 6, nIn: 32), .init(nOut: 7, nIn: 33),
    .init(nOut: 9, nIn: 47), .init(nOut: 13, nIn: 100), .init(nOut: 31, nIn: 1000),
    .init(nOut: 66, nIn: 2049), .init(nOut: 19, nIn: 4095),
]

@Suite struct BF16RowKernelTests {
    /// Which path this machine runs (printed so a test log says what was exercised).
    @Test func reportsPath() {
        let path = Kernels.bf16RowsPath
        print("bf16 rows GEMV path on this machine: \(path); GEMM micro-kernel: \(Kernels.gemmKernelName)")
        #if arch(x86_64)
        // Every x86-64 machine we target has AVX2+FMA: a portable pick means the dispatch is broken.
        #expect(path == "avx512f" || path == "avx2-fma", "picked \(path)")
        #else
        #expect(path == "portable")
        #endif
    }

    /// Every SIMD path this CPU has (not only the one dispatched) vs the portable twin and the
    /// Double reference.
    @Test(arguments: rowShapes)
    func gemvPathsMatchPortableAndReference(shape: RowShape) throws {
        let p = BF16RowsProblem(nOut: shape.nOut, nIn: shape.nIn, seed: UInt64(shape.nOut * 7919 + shape.nIn))
        let portable = try #require(runRows(p) { y, w, x in Kernels.gemvBF16RowsPortable(nOut: p.nOut, nIn: p.nIn, y: y, w: w, x: x); return true })
        let dispatched = try #require(runRows(p) { y, w, x in Kernels.gemvBF16Rows(nOut: p.nOut, nIn: p.nIn, y: y, w: w, x: x); return true })
        var results = [("dispatched (\(Kernels.bf16RowsPath))", dispatched)]
        var ran: [String] = []
        for (id, name) in [(SS_BF16_ROWS_AVX2, "avx2-fma"), (SS_BF16_ROWS_AVX512, "avx512f")] {
            if let y = runRows(p, { y, w, x in ss_gemv_bf16_rows_on(Int32(id), Int32(p.nOut), Int32(p.nIn), y, w, x) == 1 }) {
                results.append((name, y))
                ran.append(name)
            }
        }
        if shape.nOut == 66 { print("bf16 rows GEMV paths checked against the portable twin: \(ran.isEmpty ? "none (portable only)" : ran.joined(separator: ", "))") }
        for o in 0..<p.nOut {
            let ref = p.reference(row: o, x: p.x[...])
            let bound = Double(p.nIn + 2) * bf16Eps * ref.abs
            #expect(abs(Double(portable[o]) - ref.sum) <= bound, "portable row \(o): \(portable[o]) vs \(ref.sum), bound \(bound)")
            for (name, y) in results {
                #expect(abs(Double(y[o]) - Double(portable[o])) <= 1e-5 * ref.abs, "\(name) row \(o): \(y[o]) vs portable \(portable[o])")
                #expect(y[o].bitPattern == portable[o].bitPattern, "\(name) row \(o): not the portable bits")
                #expect(abs(Double(y[o]) - ref.sum) <= bound, "\(name) row \(o): \(y[o]) vs reference \(ref.sum)")
            }
        }
    }

    /// The `.bf16Rows` job in `gemvBatch` (outputs split into slices over 1 or 2 threads, with other
    /// jobs in the same batch) gives exactly the bits of one `gemvBF16Rows` call.
    @Test(arguments: [1, 2])
    func batchJobIsBitIdenticalToOneCall(threads: Int) {
        let problems = [BF16RowsProblem(nOut: 1027, nIn: 300, seed: 1), BF16RowsProblem(nOut: 5, nIn: 17, seed: 2),
                        BF16RowsProblem(nOut: 256, nIn: 2048, seed: 3), BF16RowsProblem(nOut: 1, nIn: 1, seed: 4),
                        BF16RowsProblem(nOut: 3, nIn: 1, seed: 5)]
        let single = problems.map { p in
            runRows(p) { y, w, x in Kernels.gemvBF16Rows(nOut: p.nOut, nIn: p.nIn, y: y, w: w, x: x); return true }!
        }
        // The batch takes raw pointers that must stay valid for the whole call: copies we own.
        let wPtrs = problems.map { p -> UnsafeMutablePointer<UInt16> in
            let q = UnsafeMutablePointer<UInt16>.allocate(capacity: p.w.count); q.initialize(from: p.w, count: p.w.count); return q
        }
        let xPtrs = problems.map { p -> UnsafeMutablePointer<Float> in
            let q = UnsafeMutablePointer<Float>.allocate(capacity: p.x.count); q.initialize(from: p.x, count: p.x.count); return q
        }
        let yPtrs = problems.map { UnsafeMutablePointer<Float>.allocate(capacity: $0.nOut) }
        defer { for q in wPtrs { q.deallocate() }; for q in xPtrs { q.deallocate() }; for q in yPtrs { q.deallocate() } }
        let jobs = problems.indices.map { k in
            Kernels.GEMVJob(kind: .bf16Rows, nOut: problems[k].nOut, nIn: problems[k].nIn, y: yPtrs[k],
                            w: UnsafeRawPointer(wPtrs[k]), x: xPtrs[k], partial: nil)
        }
        for rep in 0..<3 {   // repeated: the worker thread may or may not take part
            for (k, p) in problems.enumerated() { yPtrs[k].update(repeating: .nan, count: p.nOut) }
            jobs.withUnsafeBufferPointer { Kernels.gemvBatch($0.baseAddress!, count: $0.count, threads: threads) }
            for k in problems.indices {
                let y = Array(UnsafeBufferPointer(start: yPtrs[k], count: problems[k].nOut))
                #expect(y.map(\.bitPattern) == single[k].map(\.bitPattern),
                        "job \(k) (\(problems[k].nOut)x\(problems[k].nIn)), threads \(threads), rep \(rep)")
            }
        }
    }

    struct GemmShape: CustomTestStringConvertible, Sendable {
        var m: Int, nOut: Int, nIn: Int
        var testDescription: String { "m=\(m) \(nOut)x\(nIn)" }
    }

    /// The largest m `ss_gemm_bf16_rows` runs as per-token GEMVs here (128 AVX-512, 32 AVX2, 1 portable).
    static let gemvMaxM = Int(ss_bf16_rows_gemv_max_m())

    // m = 1, 3, 17 (GEMVs, unless the machine is portable-only) and gemvMaxM + 1 (widened blocks
    // through the f32 GEMM). GEMV way: blocks of 256 KB of W (600x1000 → 4 blocks of 128 rows and
    // one of 88; 40x40000 → 4-row blocks), smaller matrices one block. GEMM way: 300 outputs →
    // blocks of 80 (last 60: a partial 8-row tile), nIn = 257 (a partial 8-deep tile); 1000x64 →
    // 4 blocks of 256 (last 232); 40x3000 → 16, 16, 8; tiny shapes → one block.
    static let gemmShapes: [GemmShape] = [1, 3, 17].flatMap { m in
        [GemmShape(m: m, nOut: 1, nIn: 1), GemmShape(m: m, nOut: 5, nIn: 33), GemmShape(m: m, nOut: 37, nIn: 100),
         GemmShape(m: m, nOut: 300, nIn: 257), GemmShape(m: m, nOut: 1000, nIn: 64), GemmShape(m: m, nOut: 600, nIn: 1000),
         GemmShape(m: m, nOut: 40, nIn: 40000)]
    } + [gemvMaxM + 1].flatMap { m in
        [GemmShape(m: m, nOut: 1, nIn: 1), GemmShape(m: m, nOut: 5, nIn: 33), GemmShape(m: m, nOut: 37, nIn: 100),
         GemmShape(m: m, nOut: 300, nIn: 257), GemmShape(m: m, nOut: 1000, nIn: 64), GemmShape(m: m, nOut: 40, nIn: 3000)]
    }

    /// Y = X·Wᵀ against one GEMV per token row (the same bits up to gemvMaxM tokens) and the Double
    /// reference; threads 1 and 2 give the same bits; strides past the logical widths are neither
    /// read (NaN there) nor written.
    @Test(arguments: gemmShapes)
    func gemmMatchesRowGEMVsAndThreadCounts(shape: GemmShape) {
        let p = BF16RowsProblem(nOut: shape.nOut, nIn: shape.nIn, seed: UInt64(shape.m * 131 + shape.nOut * 17 + shape.nIn))
        let m = shape.m, ldx = p.nIn + 3, ldy = p.nOut + 5
        var rng = SeededRNG(seed: UInt64(shape.m + 99))
        var X = [Float](repeating: .nan, count: m * ldx)
        for t in 0..<m { for i in 0..<p.nIn { X[t * ldx + i] = rng.nextUniform() * 4 - 2 } }
        func gemm(threads: Int) -> [Float] {
            var Y = [Float](repeating: ySentinel, count: m * ldy)
            p.w.withUnsafeBufferPointer { w in
                Kernels.gemmBF16Rows(m: m, nOut: p.nOut, nIn: p.nIn, y: &Y, ldy: ldy, x: X, ldx: ldx, w: w.baseAddress!, threads: threads)
            }
            return Y
        }
        let y1 = gemm(threads: 1), y2 = gemm(threads: 2)
        #expect(y1.map(\.bitPattern) == y2.map(\.bitPattern), "threads 1 and 2 differ")
        var worst = 0.0
        for t in 0..<m {
            #expect(y1[(t * ldy + p.nOut)..<((t + 1) * ldy)].allSatisfy { $0 == ySentinel }, "row \(t): wrote past nOut")
            let xt = X[(t * ldx)..<(t * ldx + p.nIn)]
            var gemv = [Float](repeating: 0, count: p.nOut)
            p.w.withUnsafeBufferPointer { w in
                Array(xt).withUnsafeBufferPointer { Kernels.gemvBF16Rows(nOut: p.nOut, nIn: p.nIn, y: &gemv, w: w.baseAddress!, x: $0.baseAddress!) }
            }
            for o in 0..<p.nOut {
                let got = y1[t * ldy + o]
                let ref = p.reference(row: o, x: xt)
                let bound = Double(p.nIn + 2) * bf16Eps * ref.abs
                #expect(abs(Double(got) - ref.sum) <= bound, "Y[\(t), \(o)] = \(got) vs reference \(ref.sum)")
                #expect(abs(Double(got) - Double(gemv[o])) <= 2 * bound, "Y[\(t), \(o)] = \(got) vs GEMV \(gemv[o])")
                if m <= Self.gemvMaxM { #expect(got.bitPattern == gemv[o].bitPattern, "m ≤ \(Self.gemvMaxM) is the GEMV: same bits") }
                if bound > 0 { worst = max(worst, abs(Double(got) - Double(gemv[o])) / (2 * bound)) }
            }
        }
        #expect(worst <= 1)
    }
}
