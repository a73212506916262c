// SpikeBERTGraph (training form) against the inference SpikeBERT, finite-difference gradients,
// α receiving the LSQ gradient, and a tiny training run.
//
// References: the inference SpikeBERT (itself checked against the NumPy reference
// Tests/Reference/spikebert_ref.py) for the forward; central finite differences for gradients.

import Foundation
import Testing
import Engine
import Neurons
@testable import Models

@Suite("SpikeBERT training graph")
struct SpikeBERTTrainingTests {
    static func tinyConfig(steps: Int, layers: Int = 2) -> BERTConfig {
        BERTConfig(vocabSize: 23, hiddenSize: 8, layers: layers, heads: 2, intermediateSize: 16, maxPositions: 12,
                   typeVocabSize: 2, layerNormEps: 1e-12, numLabels: 2, labels: ["negative", "positive"], steps: steps)
    }

    /// A batch of 3 rows of length 7: the second and third padded with id 0 (mask 0).
    static let ids = [[2, 5, 9, 14, 7, 11, 3], [2, 8, 17, 3, 0, 0, 0], [2, 21, 4, 6, 19, 3, 0]]
    static let masks = ids.map { row in row.enumerated().map { i, id in i == 0 || id != 0 ? 1 : 0 } }
    static let types = [[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1, 0]]

    @Test("forward (no grad) equals the inference SpikeBERT: hidden and logits ≤ 1e-4, with padding",
          arguments: [(1, NeuronKind.elastic), (4, .elastic), (4, .signed), (4, .binary), (4, NeuronKind.none)])
    func matchesInference(steps: Int, neuron: NeuronKind) throws {
        let cfg = Self.tinyConfig(steps: steps)
        // std 0.3 (not BERT's 0.02) so that every site sees inputs of order 1 and spikes vary.
        let w = try SpikeBERTGraph.initialWeights(config: cfg, seed: 7, std: 0.3)
        let graph = try SpikeBERTGraph(config: cfg, weights: w, neuron: neuron)
        // First pass calibrates α on the batch; the export carries them to the inference model.
        _ = try withNoGrad { try graph.logits(ids: Self.ids, typeIds: Self.types, masks: Self.masks) }
        let exported = graph.exportWeights()
        // Every α is calibrated and exported; the float model has none (no parameter to train or resume).
        #expect(exported.keys.filter(SpikeBERTGraph.isAlphaName).count == (neuron == .none ? 0 : graph.siteNames.count * steps))
        #expect(graph.parameters.keys.filter(SpikeBERTGraph.isAlphaName).count == (neuron == .none ? 0 : graph.siteNames.count * steps))
        let (h, z) = try withNoGrad {
            (try graph.hidden(ids: Self.ids, typeIds: Self.types, masks: Self.masks).value,
             try graph.logits(ids: Self.ids, typeIds: Self.types, masks: Self.masks).value)
        }
        let model = try SpikeBERT(config: cfg, weights: exported, neuron: neuron)
        if neuron != .none { #expect(model.hasCheckpointAlpha) }
        let L = Self.ids[0].count, C = cfg.hiddenSize
        let hv = h.contiguous().values, zv = z.contiguous().values
        var maxH: Float = 0, maxZ: Float = 0
        for b in 0..<Self.ids.count {
            let out = try model.forward(ids: Self.ids[b], typeIds: Self.types[b], mask: Self.masks[b])
            let ref = out.hidden.contiguous().values
            for j in 0..<(L * C) { maxH = max(maxH, abs(ref[j] - hv[b * L * C + j])) }
            for k in 0..<2 { maxZ = max(maxZ, abs(out.logits![k] - zv[b * 2 + k])) }
        }
        print("SpikeBERTGraph vs SpikeBERT T=\(steps) \(neuron): max |Δhidden| = \(maxH), max |Δlogits| = \(maxZ)")
        #expect(maxH <= 1e-4)
        #expect(maxZ <= 1e-4)
    }

    @Test("calibration on the first batch equals the inference neuron's (2·mean|m| over real tokens)")
    func calibrationMatches() throws {
        let cfg = Self.tinyConfig(steps: 4, layers: 1)
        let w = try SpikeBERTGraph.initialWeights(config: cfg, seed: 3, std: 0.3)
        let graph = try SpikeBERTGraph(config: cfg, weights: w)
        let row = [Self.ids[1]], mask = [Self.masks[1]]
        _ = try withNoGrad { try graph.logits(ids: row, masks: mask) }
        let model = try SpikeBERT(config: cfg, weights: w)   // no α: calibrates on its first input
        _ = try model.forward(ids: row[0], mask: mask[0])
        // Only the first site sees identical inputs before any α differs; it must agree closely.
        let site = graph.siteNames[0]
        let mine = (0..<4).map { graph.parameters[graph.alphaName(site: site, step: $0)]!.value.contiguous().values[0] }
        let theirs = try model.alpha(site: site)
        for t in 0..<4 { #expect(abs(mine[t] - theirs[t]) <= 1e-5 * max(1, abs(theirs[t])), "α_\(t): \(mine[t]) vs \(theirs[t])") }
    }

    @Test("gradients of the float graph (.none) match central finite differences")
    func finiteDifferences() throws {
        let cfg = Self.tinyConfig(steps: 4, layers: 1)
        let w = try SpikeBERTGraph.initialWeights(config: cfg, seed: 11, std: 0.3)
        let graph = try SpikeBERTGraph(config: cfg, weights: w, neuron: .none)
        let labels = [1, 0, 1]
        func lossValue() throws -> Float {
            try withNoGrad { try graph.loss(ids: Self.ids, typeIds: Self.types, masks: Self.masks, labels: labels).value.item }
        }
        let loss = try graph.loss(ids: Self.ids, typeIds: Self.types, masks: Self.masks, labels: labels)
        try loss.backward()
        let names = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                     "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
                     "encoder.layer.0.attention.self.query.weight", "encoder.layer.0.attention.self.key.weight",
                     "encoder.layer.0.attention.self.value.bias", "encoder.layer.0.attention.output.dense.weight",
                     "encoder.layer.0.intermediate.dense.weight", "encoder.layer.0.output.dense.bias",
                     "encoder.layer.0.output.LayerNorm.bias", "pooler.dense.weight", "classifier.weight"]
        let worst = try finiteDifferenceCheck(graph.parameters, names: names, loss: lossValue)
        print("SpikeBERTGraph finite differences: worst relative error \(worst)")
    }

    @Test("every α receives a finite, non-zero LSQ gradient and the membrane passes gradient to x",
          arguments: [NeuronKind.elastic, .signed, .binary])
    func alphaGradient(neuron: NeuronKind) throws {
        let cfg = Self.tinyConfig(steps: 4, layers: 1)
        let w = try SpikeBERTGraph.initialWeights(config: cfg, seed: 13, std: 0.3)
        let graph = try SpikeBERTGraph(config: cfg, weights: w, neuron: neuron)
        let loss = try graph.loss(ids: Self.ids, typeIds: Self.types, masks: Self.masks, labels: [1, 0, 1])
        try loss.backward()
        var zero: [String] = []
        for site in graph.siteNames {
            for t in 0..<4 {
                let a = graph.parameters[graph.alphaName(site: site, step: t)]!
                #expect(a.value.item > 0)
                guard let g = a.grad?.item, g.isFinite else { zero.append("\(site).\(t) (none)"); continue }
                if g == 0 { zero.append("\(site).\(t)") }
            }
        }
        // {0,1} spikes can legitimately leave a timestep's α without gradient: when every value
        // spike of a head is equal (e.g. all 0), the softmax passes no gradient to the keys.
        // Ternary and ±1 spikes at these sizes never do.
        let allowed = neuron == .binary ? graph.siteNames.count * 4 / 10 : 0
        #expect(zero.count <= allowed, "α without gradient: \(zero)")
        let q = graph.parameters["encoder.layer.0.attention.self.query.weight"]!.grad
        #expect(q != nil && q!.contiguous().values.contains { $0 != 0 })
        let e = graph.parameters["embeddings.word_embeddings.weight"]!.grad
        #expect(e != nil && e!.contiguous().values.contains { $0 != 0 }, "no gradient reached the embeddings through the spikes")
    }

    @Test("a tiny training run (Adam, 40 steps) lowers the loss by ≥ 30%")
    func trainingLowersLoss() throws {
        // Task: label 1 when token 5 occurs in the sentence. Learnable by attention + pooler.
        let cfg = BERTConfig(vocabSize: 12, hiddenSize: 16, layers: 1, heads: 2, intermediateSize: 32, maxPositions: 8,
                             numLabels: 2, steps: 4)
        let graph = try SpikeBERTGraph(config: cfg, weights: try SpikeBERTGraph.initialWeights(config: cfg, seed: 1, std: 0.1))
        var rng = SeededRNG(seed: 2)
        var rows: [[Int]] = [], labels: [Int] = []
        for _ in 0..<32 {
            var r = [2] + (0..<5).map { _ in 6 + Int(rng.next() % 6) }
            let y = Int(rng.next() % 2)
            if y == 1 { r[1 + Int(rng.next() % 5)] = 5 }
            rows.append(r); labels.append(y)
        }
        // Plain Adam (β1 0.9, β2 0.999, lr 1e-2) written out here so the test needs no Training target.
        var m: [String: Tensor] = [:], v: [String: Tensor] = [:]
        func step(_ n: Int) throws {
            for (name, p) in graph.parameters {
                guard let g = p.grad else { continue }
                let mm = try (m[name] ?? Tensor(zeros: g.shape)) * 0.9 + g * 0.1
                let vv = try (v[name] ?? Tensor(zeros: g.shape)) * 0.999 + g.square() * 0.001
                m[name] = mm; v[name] = vv
                let c1 = 1 - powf(0.9, Float(n)), c2 = 1 - powf(0.999, Float(n))
                let upd = try (mm * (1 / c1)) / (vv * (1 / c2)).squareRoot().map { $0 + 1e-8 }
                p.value = try p.value - upd * 1e-2
                p.zeroGrad()
            }
        }
        var first: Float = 0, last: Float = 0
        for n in 1...40 {
            let loss = try graph.loss(ids: rows, labels: labels)
            if n == 1 { first = loss.value.item }
            last = loss.value.item
            try loss.backward()
            try step(n)
        }
        print("SpikeBERTGraph tiny run: loss \(first) → \(last)")
        #expect(last.isFinite && last <= 0.7 * first)
    }

    @Test("bad batches throw typed errors naming the field")
    func badInput() throws {
        let cfg = Self.tinyConfig(steps: 1, layers: 1)
        let graph = try SpikeBERTGraph(config: cfg, weights: try SpikeBERTGraph.initialWeights(config: cfg, seed: 1))
        #expect(throws: ModelError.self) { try graph.logits(ids: [[1, 2], [1]]) }
        #expect(throws: ModelError.self) { try graph.logits(ids: [[1, 99]]) }
        #expect(throws: ModelError.self) { try graph.logits(ids: [[1, 2]], masks: [[0, 0]]) }
        #expect(throws: ModelError.self) { try graph.loss(ids: [[1, 2]], labels: [5]) }
        #expect(throws: ModelError.self) { try SpikeBERTGraph(config: cfg, weights: [:]) }
    }
}
