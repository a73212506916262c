// The opt-in bf16 dot-product kernels (CKernels bf16dot.c, AVX-512 BF16): x is rounded to bf16
// (round to nearest even) and each vdpbf16ps adds two exact products to an fp32 accumulator.
// Bounds per output element, with x̃ = bf16(x), S̃ = Σ|w·x̃| and S = Σ|w·x| (in Double), ε = 2⁻²⁴:
//  - against the exact Σ w·x̃ (Double): |Δ| ≤ (nIn + 2)·ε·S̃ — an nIn-term fp32 sum of exact products;
//  - against the default kernel (fp32 activations, bf16rows.c): |Δ| ≤ 2⁻⁸·S — the documented
//    bound of the mode (x's rounding is ≤ 2⁻⁹ relative, plus both kernels' fp32 sums).
// Also: a GEMM row has the same bits whatever m and the thread count are (one chain per output),
// the GEMV's rows do not depend on their neighbours, and the mode's switch refuses where the CPU
// lacks the instructions. The kernels are called directly: the process-wide switch is only
// flipped through the binary (BenchTuneCLITests' neighbour, bf16DotThroughTheBinary), so tests
// running in parallel here never see it on.
// Skipped (and said so) on a CPU without AVX-512 BF16.

import Foundation
import Testing
import CKernels
@testable import Engine

@Suite struct BF16DotTests {
    static func bf16(_ f: Float) -> Float {   // round to nearest even, as vcvtne2ps2bf16
        let u = f.bitPattern
        return Float(bitPattern: (u &+ 0x7FFF &+ ((u >> 16) & 1)) & 0xFFFF_0000)
    }

    static func available() -> Bool {
        if ss_bf16_dot_available() == 1 { return true }
        print("bf16 dot kernels not checked: this CPU lacks AVX-512 BF16 (or SPIKESCOPE_NO_AVX512 is set)")
        return false
    }

    /// Checks y (m rows of nOut, row stride ldy) against both bounds for X (row stride ldx).
    static func check(_ y: [Float], ldy: Int, m: Int, p: BF16RowsProblem, xs: [Float], ldx: Int, what: String) {
        var worstExact = 0.0, worstDefault = 0.0
        for r in 0..<m {
            let x = Array(xs[(r * ldx)..<(r * ldx + p.nIn)])
            var def = [Float](repeating: .nan, count: p.nOut)
            ss_gemv_bf16_rows(Int32(p.nOut), Int32(p.nIn), &def, p.w, x)
            for o in 0..<p.nOut {
                var exact = 0.0, sTilde = 0.0, s = 0.0
                for i in 0..<p.nIn {
                    let w = Double(Float(bitPattern: UInt32(p.w[o * p.nIn + i]) << 16))
                    exact += w * Double(bf16(x[i])); sTilde += abs(w * Double(bf16(x[i]))); s += abs(w * Double(x[i]))
                }
                let v = Double(y[r * ldy + o])
                worstExact = max(worstExact, abs(v - exact) / (Double(p.nIn + 2) * 0x1p-24 * sTilde + 1e-30))
                worstDefault = max(worstDefault, abs(v - Double(def[o])) / (0x1p-8 * s + 1e-30))
            }
        }
        #expect(worstExact <= 1, "\(what): error \(worstExact)× the fp32-sum bound against Σ w·bf16(x)")
        #expect(worstDefault <= 1, "\(what): \(worstDefault)× the 2⁻⁸·Σ|w·x| bound against the default kernel")
    }

    @Test(arguments: [(100, 301), (64, 2048), (7, 33), (130, 64)])
    func gemvIsWithinItsBounds(nOut: Int, nIn: Int) {
        guard Self.available() else { return }
        let p = BF16RowsProblem(nOut: nOut, nIn: nIn, seed: UInt64(nOut * 7 + nIn))
        var y = [Float](repeating: .nan, count: nOut)
        #expect(ss_gemv_bf16_rows_dot(Int32(nOut), Int32(nIn), &y, p.w, p.x) == 1)
        Self.check(y, ldy: nOut, m: 1, p: p, xs: p.x, ldx: nIn, what: "GEMV \(nOut)×\(nIn)")
        // A row's bits do not depend on the rows computed with it (what the batch's slices rely on).
        for (lo, hi) in [(0, 1), (1, min(nOut, 6)), (nOut - 1, nOut)] where lo < hi {
            var part = [Float](repeating: .nan, count: hi - lo)
            p.w.withUnsafeBufferPointer { w in
                _ = ss_gemv_bf16_rows_dot(Int32(hi - lo), Int32(nIn), &part, w.baseAddress! + lo * nIn, p.x)
            }
            #expect(part.map(\.bitPattern) == y[lo..<hi].map(\.bitPattern), "rows \(lo)..<\(hi)")
        }
    }

    @Test(arguments: [(13, 100, 301), (32, 576, 576), (1, 70, 64), (25, 129, 130)])
    func gemmIsWithinItsBoundsAndRowsDoNotDependOnMOrThreads(m: Int, nOut: Int, nIn: Int) {
        guard Self.available() else { return }
        let p = BF16RowsProblem(nOut: nOut, nIn: nIn, seed: UInt64(m * 1000 + nOut + nIn))
        var rng = SeededRNG(seed: UInt64(m))
        let ldx = nIn + 3, ldy = nOut + 5
        let xs = (0..<(m * ldx)).map { _ in rng.nextUniform() * 4 - 2 }
        var y = [Float](repeating: -7, count: m * ldy)
        #expect(ss_gemm_bf16_rows_dot(Int32(m), Int32(nOut), Int32(nIn), &y, Int32(ldy), xs, Int32(ldx), p.w, 2) == 1)
        Self.check(y, ldy: ldy, m: m, p: p, xs: xs, ldx: ldx, what: "GEMM m \(m), \(nOut)×\(nIn)")
        for r in 0..<m { #expect(y[(r * ldy + nOut)..<(r * ldy + ldy)].allSatisfy { $0 == -7 }, "wrote past nOut in row \(r)") }
        var one = [Float](repeating: -7, count: m * ldy)
        #expect(ss_gemm_bf16_rows_dot(Int32(m), Int32(nOut), Int32(nIn), &one, Int32(ldy), xs, Int32(ldx), p.w, 1) == 1)
        #expect(one.map(\.bitPattern) == y.map(\.bitPattern), "1 thread vs 2")
        let r = m - 1   // the last row alone: the same bits as inside the batch
        var alone = [Float](repeating: .nan, count: nOut)
        xs.withUnsafeBufferPointer { x in
            _ = ss_gemm_bf16_rows_dot(1, Int32(nOut), Int32(nIn), &alone, Int32(nOut), x.baseAddress! + r * ldx, Int32(ldx), p.w, 2)
        }
        #expect(alone.map(\.bitPattern) == y[(r * ldy)..<(r * ldy + nOut)].map(\.bitPattern), "row \(r) alone vs in a batch of \(m)")
    }

    @Test func theSwitchRefusesWhereTheCPULacksIt() {
        // Only the refusal is exercised in-process (turning the mode on here would change the
        // numbers of tests running in parallel); the CLI test turns it on in its own process.
        if ss_bf16_dot_available() == 0 {
            #expect(ss_bf16_dot_set(1) == 0 && ss_bf16_dot_get() == 0)
        }
        #expect(ss_bf16_dot_get() == 0, "the mode is off unless asked for")
        #expect(Kernels.bf16DotAvailable == (ss_bf16_dot_available() == 1))
    }
}
