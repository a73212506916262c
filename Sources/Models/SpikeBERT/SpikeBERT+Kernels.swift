// SpikeBERT's reference-path loops on raw buffers (LayerNorm with residual, linear, attention,
// activations): the math is in the comment above each loop. The forward (SpikeBERT.swift)
// calls them; the fast path (SpikeBERT+Fast.swift) has its own batched kernels.

import Foundation
import Engine
import Neurons

extension SpikeBERT {

    /// out[r] = LN(x[r] + residual[r])·γ + β (normalizeRows). `out` may alias `x`.
    func layerNorm(_ x: UnsafeMutablePointer<Float>, residual: UnsafeMutablePointer<Float>?, rows: Int, width C: Int,
                   _ n: NormWeights, out: UnsafeMutablePointer<Float>) {
        normalizeRows(x, residual: residual.map { UnsafePointer($0) }, rows: rows, width: C, gamma: ptr(n.gamma), beta: ptr(n.beta),
                      eps: config.layerNormEps, out: out)
    }

    /// y += b, row by row.
    func addBias(_ y: UnsafeMutablePointer<Float>, rows: Int, _ bias: Tensor) {
        let b = ptr(bias), n = bias.count
        for r in 0..<rows {
            let yr = y + r * n
            for j in 0..<n { yr[j] += b[j] }
        }
    }

    /// The FFN activation in place.
    func activate(_ y: UnsafeMutablePointer<Float>, count: Int) {
        switch config.activation {
        case .gelu:
            // gelu(x) = 0.5·x·(1 + erf(x/√2)), erf by CKernels' vectorised polynomial (gelu.c, < 5e-7
            // from the true erf; libm's scalar erff was ~15% of a T = 4 MiniLM forward).
            Kernels.geluErf(count, y)
        case .geluTanh:
            // gelu(x) ≈ 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))   (Hendrycks & Gimpel 2016)
            let s: Float = 0.79788456080286536       // √(2/π)
            for i in 0..<count { let z = y[i]; y[i] = 0.5 * z * (1 + tanhf(s * (z + 0.044715 * z * z * z))) }
        case .relu:
            for i in 0..<count where y[i] < 0 { y[i] = 0 }
        }
    }

    /// Multi-head self-attention per timestep; padded keys (valid = false) get probability 0, exactly
    /// what HF's additive finfo.min mask gives after the softmax.
    /// out[t, i, h·d..] = Σ_j p_ij · v[t, j, h·d..],  p_i = softmax_j(q_i·k_j/√d)
    func attention(q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                           out: UnsafeMutablePointer<Float>, steps T: Int, tokens L: Int, valid: [Bool]) {
        let C = config.hiddenSize, H = config.heads, d = config.headSize
        let scale = 1 / Float(d).squareRoot()
        let keys = (0..<L).filter { valid[$0] }
        var p = [Float](repeating: 0, count: L)
        p.withUnsafeMutableBufferPointer { pb in
            let pr = pb.baseAddress!
            for t in 0..<T {
                let base = t * L * C
                for h in 0..<H {
                    let off = base + h * d
                    for i in 0..<L {
                        let qi = q + off + i * C
                        var mx = -Float.infinity
                        for j in keys {
                            let kj = k + off + j * C
                            var s: Float = 0
                            for e in 0..<d { s += qi[e] * kj[e] }
                            s *= scale
                            pr[j] = s
                            if s > mx { mx = s }
                        }
                        var z: Float = 0
                        for j in keys { let e = expf(pr[j] - mx); pr[j] = e; z += e }
                        let iz = 1 / z
                        let oi = out + off + i * C
                        for e in 0..<d { oi[e] = 0 }
                        for j in keys {
                            let pj = pr[j] * iz
                            let vj = v + off + j * C
                            for e in 0..<d { oi[e] += pj * vj[e] }
                        }
                    }
                }
            }
        }
    }
}
