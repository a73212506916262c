// Shared inference math of every family: row LayerNorm, linear layers and a parallel loop over
// raw row-major buffers, plus the base pointer of a weight tensor. One copy each; families call
// these instead of writing their own.

import Foundation
import Engine

@inline(__always) func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

/// out[r] = LN(x[r] (+ residual[r]))·γ + β over rows of `width`, two-pass mean and variance in
/// Float, sequential sums (biased variance, like torch). `out` may alias `x`. The one row loop of
/// the reference paths (SpikeGPT's forward, SpikeBERT's reference and fast paths).
func normalizeRows(_ x: UnsafePointer<Float>, residual: UnsafePointer<Float>?, rows: Int, width C: Int,
                   gamma g: UnsafePointer<Float>, beta b: UnsafePointer<Float>, eps: Float, out: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        let xr = x + r * C, o = out + r * C
        if let residual {
            let rr = residual + r * C
            for j in 0..<C { o[j] = xr[j] + rr[j] }
        } else if UnsafePointer(o) != xr {
            o.update(from: xr, count: C)
        }
        // μ = Σx/C;  σ² = Σ(x−μ)²/C;  y = (x−μ)/√(σ²+ε)·γ + β
        var s: Float = 0
        for j in 0..<C { s += o[j] }
        let mu = s / Float(C)
        var v: Float = 0
        for j in 0..<C { let d = o[j] - mu; v += d * d }
        let inv = 1 / (v / Float(C) + eps).squareRoot()
        for j in 0..<C { o[j] = (o[j] - mu) * inv * g[j] + b[j] }
    }
}

/// out[t] = LayerNorm(x[t]) · w + b over rows of `width` (eps 1e-5).
func layerNormRows(_ out: inout [Float], _ x: [Float], _ w: Tensor, _ b: Tensor, rows: Int, width C: Int, eps: Float = 1e-5) {
    w.withUnsafeBufferPointer { wp in
        b.withUnsafeBufferPointer { bp in
            x.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer { op in
                    normalizeRows(xp.baseAddress!, residual: nil, rows: rows, width: C, gamma: wp.baseAddress!, beta: bp.baseAddress!,
                                  eps: eps, out: op.baseAddress!)
                }
            }
        }
    }
}

/// y[T, out] = x[T, in] · Wᵀ for W [out, in]: GEMV for one row (on two threads, split at
/// multiples of 4 rows, so every row's bits are those of a one-thread call), GEMM otherwise.
/// `chunk`: GEMM even for one row — a row of a GEMM has the same bits whatever the row count
/// (every element is the micro-kernel's k-ordered chain), so a prompt resumed after a cached
/// prefix matches the prompt run as one chunk.
func linear(_ x: [Float], _ W: Tensor, _ y: inout [Float], rows T: Int, chunk: Bool = false) {
    let nOut = W.shape[0], nIn = W.shape[1]
    let wc = W.contiguous()
    x.withUnsafeBufferPointer { xp in
        y.withUnsafeMutableBufferPointer { yp in
            withExtendedLifetime(wc) {
                let wp = wc.elementPointer
                if T == 1 && !chunk {
                    var job = Kernels.GEMVJob(kind: .f32, nOut: nOut, nIn: nIn, y: yp.baseAddress!, w: UnsafeRawPointer(wp),
                                              x: xp.baseAddress!, partial: nil)
                    Kernels.gemvBatch(&job, count: 1, threads: 2)
                } else {
                    Tensor.gemm(T, nOut, nIn, xp.baseAddress!, wp, true, yp.baseAddress!)
                }
            }
        }
    }
}

/// Batch-1 products y_i = W_i·x_i of several contiguous weights in one parallel region (one
/// hand-off to the pool instead of one per product); each row's bits are those of `linear`'s.
func gemvs(_ products: [(w: Tensor, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>)]) {
    var jobs = products.map { p in
        Kernels.GEMVJob(kind: .f32, nOut: p.w.shape[0], nIn: p.w.shape[1], y: p.y, w: UnsafeRawPointer(p.w.elementPointer),
                        x: p.x, partial: nil)
    }
    withExtendedLifetime(products) { Kernels.gemvBatch(&jobs, count: jobs.count, threads: 2) }
}

/// Base pointer of a contiguous tensor the model keeps alive (its weights).
@inline(__always)
func ptr(_ t: Tensor) -> UnsafePointer<Float> { t.elementPointer }

/// Runs body(i) for i in 0..<n on the kernels' pool (caller included); serial when `parallel` is false.
func parallelFor(_ n: Int, parallel: Bool = true, _ body: (Int) -> Void) { Kernels.parallelFor(n, parallel: parallel, body) }
