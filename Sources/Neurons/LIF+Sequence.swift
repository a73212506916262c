// The LIF neuron over a whole token sequence as one differentiable op (SpikeGPT's training
// form): forward over the token axis and its backward through time (BPTT) with the arctan
// surrogate, fused so no per-token graph is recorded. The charge step is `LIFConfig.charge`,
// the same one the inference neuron and the fast runner use.

import Foundation
import Engine

extension Variable {
    /// LIF over the token axis of x [B, T, C] (SEEDS.md §1), hard reset not detached:
    ///   h_t = v_{t−1} + (x_t − (v_{t−1} − v_r))/τ;  s_t = H(h_t − θ);  v_t = h_t(1 − s_t) + v_r·s_t
    /// Backward (BPTT), with σ' the arctan surrogate at h_t − θ and gv the gradient into v_t:
    ///   ds_t = gs_t + gv_t·(v_r − h_t);  dh_t = ds_t·σ'(h_t − θ) + gv_t·(1 − s_t)
    ///   dx_t = dh_t/τ;  gv_{t−1} = dh_t·(1 − 1/τ)
    /// `memory: false` gives the memoryless Heaviside (h_t = x_t). `smooth` replaces H by its smooth
    /// stand-in arctan(π/2·α·z)/π + 1/2 so finite differences can check the whole chain.
    public static func lifSequence(_ x: Variable, config: LIFConfig, memory: Bool = true, smooth: Bool = false) throws -> Variable {
        guard x.shape.count == 3 else {
            throw EngineError.invalidShape(op: "lifSequence", shape: x.shape, reason: "needs [B, T, C]")
        }
        let B = x.shape[0], T = x.shape[1], C = x.shape[2]
        let tau = config.tau, vr = config.vReset, th = config.threshold, alpha = config.surrogateAlpha
        guard config.decayInput && config.hardReset else {
            throw EngineError.invalidArgument(op: "lifSequence", reason: "training supports decay_input with hard reset (the SpikeGPT setting)")
        }
        let xs = x.value.values
        var s = [Float](repeating: 0, count: xs.count), h = s
        @inline(__always) func fire(_ z: Float) -> Float { smooth ? atanf(Float.pi / 2 * alpha * z) / Float.pi + 0.5 : (z >= 0 ? 1 : 0) }
        @inline(__always) func dfire(_ z: Float) -> Float { let q = Float.pi / 2 * alpha * z; return alpha / (2 * (1 + q * q)) }
        for b in 0..<B {
            for c in 0..<C {
                var v = vr
                for t in 0..<T {
                    let i = (b * T + t) * C + c
                    let hc = memory ? config.charge(v, xs[i]) : xs[i]
                    let sc = fire(hc - th)
                    h[i] = hc; s[i] = sc
                    v = hc * (1 - sc) + vr * sc
                }
            }
        }
        let out = try Tensor(shape: x.shape, values: s)
        return Variable.make(out, parents: [x]) { g in
            let gs = g.values
            var dx = [Float](repeating: 0, count: gs.count)
            for b in 0..<B {
                for c in 0..<C {
                    var gv: Float = 0
                    for t in stride(from: T - 1, through: 0, by: -1) {
                        let i = (b * T + t) * C + c
                        if !memory { dx[i] = gs[i] * dfire(h[i] - th); continue }
                        let ds = gs[i] + gv * (vr - h[i])
                        let dh = ds * dfire(h[i] - th) + gv * (1 - s[i])
                        dx[i] = dh / tau
                        gv = dh * (1 - 1 / tau)
                    }
                }
            }
            return [try Tensor(shape: x.shape, values: dx)]
        }
    }
}
