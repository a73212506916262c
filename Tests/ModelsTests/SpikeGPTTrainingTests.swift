import Testing
import Foundation
@testable import Models
import Engine
import Neurons

/// The parallel (training) form against the recurrent inference form, and its gradients against
/// central finite differences.
@Suite struct SpikeGPTTrainingFormTests {
    @Test func parallelFormMatchesRecurrentLogitsAndSpikes() throws {
        let w = try Fixture.safetensors("spikegpt/tiny.safetensors")
        let model = try SpikeGPT(weights: w)
        let graph = try SpikeGPTGraph(weights: w)
        let seqs = [[1, 5, 9, 2, 2, 7, 0, 22, 13, 4], [3, 3, 3, 8, 1, 0, 19, 20, 6, 11]]
        var rng = SeededRNG(seed: 1)
        let par = try withNoGrad { try graph.logits(seqs, rng: &rng) }.value  // [2, 10, 23]
        var maxDiff: Float = 0
        for (b, seq) in seqs.enumerated() {
            var st = model.initialState()
            for (t, tok) in seq.enumerated() {
                let row = try model.step(token: tok, state: &st).logits.values
                for v in 0..<23 { maxDiff = max(maxDiff, abs(row[v] - par[b, t, v])) }
            }
        }
        print("parallel vs recurrent: max |logit diff| = \(maxDiff)")
        #expect(maxDiff <= 1e-4)
    }

    /// Finite differences of the whole model's loss, with the Heaviside replaced by its smooth
    /// arctan stand-in (whose derivative is exactly the surrogate the backward uses), so the check
    /// covers the surrogate, the LIF reset path, the WKV backward and every layer.
    /// Float32 forward, h = 1e-2: truncation O(h²) ≈ 1e-4 relative, rounding ≈ 1e-7·|L|/h ≈ 2e-5;
    /// the bound 3e-2·max|g| + 1e-3 leaves room for both.
    @Test(arguments: ["spikegpt", "lif-ffn", "heaviside", "vanilla"])
    func gradientsMatchFiniteDifferences(variantName: String) throws {
        let cfg = SpikeGPTConfig(layers: 2, width: 6, vocab: 9)
        var w = SpikeGPTGraph.initialWeights(cfg, seed: 5)
        // Larger outputs so the smooth spikes sit in their steep region.
        for i in 0..<2 { w["blocks.\(i).att.output.weight"] = w["blocks.\(i).att.output.weight"]! * 3 }
        let graph = try SpikeGPTGraph(weights: w, variant: SpikeGPTVariant(rawValue: variantName)!)
        graph.smoothSpikes = true
        let batch = [[1, 4, 2, 8, 0], [7, 7, 3, 1, 5]], targets = [[4, 2, 8, 0, 6], [7, 3, 1, 5, 2]]
        var rng = SeededRNG(seed: 0)
        let loss = try graph.loss(batch, targets: targets, rng: &rng)
        try loss.backward()
        let names = ["blocks.0.att.time_decay", "blocks.1.att.time_first", "blocks.0.att.key.weight",
                     "blocks.1.ffn.value.weight", "emb.weight", "blocks.0.att.time_mix_k", "blocks.1.ln2.weight", "head.weight"]
        var worst: Float = 0
        for name in names {
            let param = graph.parameters[name]!
            let g = param.grad!.values
            let scale = g.map(abs).max()! + 1e-3
            for idx in [0, param.value.count / 2, param.value.count - 1] {
                let h: Float = 1e-2
                func lossAt(_ delta: Float) throws -> Float {
                    var t = param.value; t.withUnsafeMutableBufferPointer { $0[idx] += delta }
                    let saved = param.value; param.value = t
                    defer { param.value = saved }
                    return try withNoGrad { try graph.loss(batch, targets: targets, rng: &rng) }.value.item
                }
                let fd = (try lossAt(h) - lossAt(-h)) / (2 * h)
                let err = abs(fd - g[idx]) / scale
                worst = max(worst, err)
                #expect(err < 3e-2, "\(variantName) \(name)[\(idx)]: analytic \(g[idx]) vs numeric \(fd)")
            }
        }
        print("\(variantName): worst relative gradient error \(worst)")
    }

    @Test func wkvBackwardMatchesFiniteDifferencesInIsolation() throws {
        var rng = SeededRNG(seed: 9)
        let B = 2, T = 6, C = 3
        let k = Variable(Tensor.randomNormal([B, T, C], std: 2, rng: &rng), requiresGrad: true)
        let v = Variable(Tensor.randomNormal([B, T, C], rng: &rng), requiresGrad: true)
        let td = Variable(Tensor.randomUniform([C], -2, 1, rng: &rng), requiresGrad: true)
        let tf = Variable(Tensor.randomUniform([C], -1, 1, rng: &rng), requiresGrad: true)
        let R = Tensor.randomNormal([B, T, C], rng: &rng)
        func f() throws -> Variable { try (Variable.wkv(timeDecay: td, timeFirst: tf, k: k, v: v) * Variable(R)).sum() }
        try f().backward()
        for p in [k, v, td, tf] {
            let g = p.grad!.values
            for idx in 0..<p.value.count {
                let h: Float = 1e-3
                let saved = p.value
                var a = saved; a.withUnsafeMutableBufferPointer { $0[idx] += h }; p.value = a
                let up = try withNoGrad { try f() }.value.item
                var b = saved; b.withUnsafeMutableBufferPointer { $0[idx] -= h }; p.value = b
                let dn = try withNoGrad { try f() }.value.item
                p.value = saved
                let fd = (up - dn) / (2 * h)
                #expect(abs(fd - g[idx]) <= 2e-3 + 1e-2 * abs(fd), "wkv grad[\(idx)] \(g[idx]) vs \(fd)")
            }
        }
    }

    @Test func wkvForwardIsStableForLargeKeys() throws {
        let k = Variable(Tensor(repeating: 200, shape: [1, 4, 2]))
        let v = Variable(Tensor(shape: [1, 4, 2]) { Float($0) })
        let out = try Variable.wkv(timeDecay: Variable(Tensor([0, 1])), timeFirst: Variable(Tensor([0, 0])), k: k, v: v)
        #expect(out.value.values.allSatisfy { $0.isFinite })
    }
}
