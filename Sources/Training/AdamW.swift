// AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019), global-norm gradient
// clipping, and the rule for which parameters decay.
//
// What it is: the optimiser state (first/second moments per parameter name, step count) and an
// in-place update of `Variable.value`. The state is Codable-free on purpose: `Checkpoint` stores
// the moments as float32 tensors (exact), the scalars in JSON.
// What it is not: a general optimiser framework; no AMSGrad, no fused multi-tensor kernels.
//
// Update for parameter p with gradient g at step t (PyTorch's AdamW order):
//   m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²
//   m̂ = m / (1 − β1^t);      v̂ = v / (1 − β2^t)
//   p ← p·(1 − lr·λ) − lr·m̂ / (√v̂ + ε)       (λ = weightDecay, 0 for non-decayed names)

import Foundation
import Engine

public struct AdamWConfig: Sendable, Codable, Equatable {
    public var beta1: Float = 0.9
    /// 0.99, as RWKV-LM trains its small models (RWKV-4 `train.py` betas (0.9, 0.99)): with
    /// few thousand steps a shorter second-moment memory adapts faster after warmup.
    public var beta2: Float = 0.99
    public var eps: Float = 1e-8
    /// λ of the decoupled decay, applied only where `decays(name)` holds.
    public var weightDecay: Float = 0.01
    /// Global-norm clip threshold; ≤ 0 disables clipping. 1.0 as in RWKV-LM (`gradient_clip_val`).
    public var clipNorm: Float = 1.0
    public init() {}
}

public final class AdamW {
    public var config: AdamWConfig
    /// Updates done so far (t of the bias corrections).
    public private(set) var step = 0
    /// Moments by parameter name, each with the parameter's element count.
    public private(set) var m: [String: [Float]] = [:]
    public private(set) var v: [String: [Float]] = [:]

    public init(config: AdamWConfig = AdamWConfig()) { self.config = config }

    /// Whether `name` gets weight decay: only matrices that are not embeddings. No decay on
    /// LayerNorm weights/biases, `time_*` (decay, first, mix), biases and `emb.weight` — decaying
    /// them pulls LayerNorm gains and WKV decays towards 0, which is not a regulariser.
    public static func decays(_ name: String, shape: [Int]) -> Bool {
        if shape.count < 2 { return false }
        if name.hasPrefix("emb.") || name.contains("time_") || name.contains(".ln") || name.hasPrefix("ln_") { return false }
        if name.hasSuffix(".bias") { return false }
        return true
    }

    /// Restores the state from a checkpoint.
    public func restore(step: Int, m: [String: [Float]], v: [String: [Float]]) {
        self.step = step; self.m = m; self.v = v
    }

    /// √(Σ g²) over every parameter's gradient (missing gradients count as zero). Computed in
    /// Double so a few large entries cannot round the sum away.
    public static func globalNorm(_ params: [String: Variable]) -> Double {
        var s = 0.0
        for (_, p) in params {
            guard let g = p.grad else { continue }
            g.contiguous().withUnsafeBufferPointer { b in for x in b { s += Double(x) * Double(x) } }
        }
        return s.squareRoot()
    }

    /// Applies one update with learning rate `lr`. Gradients are scaled by min(1, clip/‖g‖)
    /// first (global-norm clipping), using the norm passed in (see `globalNorm`).
    public func update(_ params: [String: Variable], lr: Float, gradNorm: Double) {
        step += 1
        let b1 = config.beta1, b2 = config.beta2, eps = config.eps
        let c1 = 1 - powf(b1, Float(step)), c2 = 1 - powf(b2, Float(step))
        let clip: Float = (config.clipNorm > 0 && gradNorm > Double(config.clipNorm))
            ? Float(Double(config.clipNorm) / (gradNorm + 1e-6)) : 1
        for name in params.keys.sorted() {
            let p = params[name]!
            guard let gT = p.grad else { continue }
            let g = gT.contiguous().values
            let n = g.count
            var mm = m[name] ?? [Float](repeating: 0, count: n)
            var vv = v[name] ?? [Float](repeating: 0, count: n)
            let decay: Float = AdamW.decays(name, shape: p.value.shape) ? 1 - lr * config.weightDecay : 1
            var value = p.value.contiguous()
            value.withUnsafeMutableBufferPointer { w in
                for i in 0..<n {
                    let gi = g[i] * clip
                    mm[i] = b1 * mm[i] + (1 - b1) * gi
                    vv[i] = b2 * vv[i] + (1 - b2) * gi * gi
                    let mh = mm[i] / c1, vh = vv[i] / c2
                    w[i] = w[i] * decay - lr * mh / (vh.squareRoot() + eps)
                }
            }
            p.value = value
            m[name] = mm; v[name] = vv
        }
    }
}

/// Linear warmup then cosine decay to a floor. Steps count from 1 (the first update).
///   lr(t) = peak·t/W                                         for t ≤ W
///   lr(t) = floor + (peak − floor)·½(1 + cos(π·(t − W)/(S − W)))   for W < t ≤ S
public struct LRSchedule: Sendable, Codable, Equatable {
    public var peak: Float
    public var floor: Float
    public var warmup: Int
    public var total: Int
    public init(peak: Float, floor: Float, warmup: Int, total: Int) {
        self.peak = peak; self.floor = floor; self.warmup = warmup; self.total = total
    }

    public func rate(at step: Int) -> Float {
        if warmup > 0 && step <= warmup { return peak * Float(step) / Float(warmup) }
        let span = max(total - warmup, 1)
        let progress = min(max(Double(step - warmup) / Double(span), 0), 1)
        return floor + (peak - floor) * Float(0.5 * (1 + cos(Double.pi * progress)))
    }
}
