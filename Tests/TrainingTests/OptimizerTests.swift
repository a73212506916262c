// AdamW and the LR schedule against values worked out by hand (in the comments), not by the code.
import Foundation
import Testing
import Engine
@testable import Training

@Suite struct OptimizerTests {
    /// Two parameters: a decayed 1×2 matrix and a non-decayed LayerNorm weight.
    /// lr 0.1, λ 0.01, β 0.9/0.99, no clipping, the same gradient g twice.
    /// Step 1: m = 0.1g, v = 0.01g²; m̂ = g, v̂ = g² → m̂/√v̂ = sign(g).
    /// Step 2: m = 0.19g, v = 0.0199g²; m̂ = 0.19g/0.19 = g, v̂ = 0.0199g²/0.0199 = g² → sign(g) again.
    /// W (decays): w ← w·(1 − 0.001) − 0.1·sign(g):  1 → 0.899 → 0.798101;  −2 → −1.898 → −1.796102
    /// LN (no decay): 0.5 → 0.6 → 0.7 for g = −3.
    @Test func adamWMatchesHandComputedSteps() {
        let w = Variable(Tensor([1, -2]).reshapedOrSame([1, 2]), requiresGrad: true, name: "blocks.0.att.key.weight")
        let ln = Variable(Tensor([0.5]), requiresGrad: true, name: "blocks.0.ln1.weight")
        let params = ["blocks.0.att.key.weight": w, "blocks.0.ln1.weight": ln]
        var cfg = AdamWConfig(); cfg.weightDecay = 0.01; cfg.clipNorm = 0
        let opt = AdamW(config: cfg)
        let expectW: [[Float]] = [[0.899, -1.898], [0.798101, -1.796102]]
        let expectLN: [Float] = [0.6, 0.7]
        for s in 0..<2 {
            w.grad = Tensor([0.5, -1]).reshapedOrSame([1, 2]); ln.grad = Tensor([-3])
            opt.update(params, lr: 0.1, gradNorm: AdamW.globalNorm(params))
            // 1e-6: float32 rounding of a handful of operations on O(1) values (ε = 1e-8 adds < 1e-7).
            for i in 0..<2 { #expect(abs(w.value.values[i] - expectW[s][i]) < 1e-6, "step \(s + 1) w[\(i)] = \(w.value.values[i])") }
            #expect(abs(ln.value.values[0] - expectLN[s]) < 1e-6, "step \(s + 1) ln = \(ln.value.values[0])")
        }
        #expect(opt.step == 2)
    }

    /// Clip 1: g = (3, 4) has norm 5 → scaled to (0.6, 0.8); then g = (0.6, 0.8) (norm 1, untouched).
    /// Both effective gradients are equal, so each step moves every entry by exactly −lr·sign = −0.1.
    /// Without clipping step 2 would give m̂ = (0.9·0.3 + 0.06)/0.19 ≠ 0.6 and a different move.
    @Test func globalNormClippingScalesGradients() {
        let p = Variable(Tensor([0, 0]), requiresGrad: true, name: "x.bias")
        var cfg = AdamWConfig(); cfg.clipNorm = 1; cfg.weightDecay = 0
        let opt = AdamW(config: cfg)
        p.grad = Tensor([3, 4])
        #expect(abs(AdamW.globalNorm(["x.bias": p]) - 5) < 1e-12)
        opt.update(["x.bias": p], lr: 0.1, gradNorm: 5)
        p.grad = Tensor([0.6, 0.8])
        opt.update(["x.bias": p], lr: 0.1, gradNorm: 1)
        for v in p.value.values { #expect(abs(v - (-0.2)) < 1e-5, "\(v)") }
    }

    @Test(arguments: [
        ("blocks.0.att.key.weight", [8, 8], true), ("head.weight", [10, 8], true),
        ("emb.weight", [10, 8], false), ("blocks.0.ln1.weight", [8], false), ("ln_out.bias", [8], false),
        ("blocks.0.att.time_mix_k", [1, 1, 8], false), ("blocks.0.att.time_decay", [8], false),
        ("classifier.dense.bias", [8], false), ("classifier.dense.weight", [8, 8], true),
    ])
    func decayRule(name: String, shape: [Int], decays: Bool) {
        #expect(AdamW.decays(name, shape: shape) == decays)
    }

    /// peak 1, floor 0.1, warmup 10, total 110:
    /// t=5 → 0.5 (half of warmup); t=10 → 1 (warmup end); t=60 → 0.1 + 0.9·½(1 + cos(π/2)) = 0.55;
    /// t=110 → 0.1 (floor, cos π = −1).
    @Test func cosineScheduleValues() {
        let s = LRSchedule(peak: 1, floor: 0.1, warmup: 10, total: 110)
        #expect(abs(s.rate(at: 5) - 0.5) < 1e-6)
        #expect(abs(s.rate(at: 10) - 1) < 1e-6)
        #expect(abs(s.rate(at: 60) - 0.55) < 1e-6)
        #expect(abs(s.rate(at: 110) - 0.1) < 1e-6)
        #expect(s.rate(at: 11) < 1 && s.rate(at: 11) > 0.99)
    }
}

extension Tensor {
    func reshapedOrSame(_ s: [Int]) -> Tensor { (try? reshaped(s)) ?? self }
}
