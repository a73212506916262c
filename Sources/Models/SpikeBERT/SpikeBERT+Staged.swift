// SpikeBERT's staged rerun (Staged.swift): after a control change at layer l the encoder restarts
// at l from the stream that entered it last time ([T·L, C], every timestep), and the sites of
// layers < l keep their recorded rows. A classifier has no continuation: one stage.
//
// Why it is exact: layer l's input depends only on the embeddings and layers < l, whose controls
// and input did not change; the fast path's products do not depend on which layers ran before.
// No reuse when the neuron is GIF, or the input, T or neuron differ from the cached run's.

import Neurons

struct SpikeBERTRunCache: RunCache {
    var tokens: [Int]
    var typeIds: [Int]
    var neuron: NeuronKind
    var steps: Int
    /// inputs[i]: the stream entering layer i ([T·L, C]); inputs[layers]: the encoder's output.
    var inputs: [[Float]]
    var trace: Trace
    /// Hidden width C.
    var width: Int
    /// Per layer the stream's mean over the timesteps it ran ([L, C], what the heads read at the end).
    var streams: [[Float]] {
        let L = tokens.count, C = width
        return inputs.map { x in
            guard L > 0, C > 0, x.count % (L * C) == 0, x.count / (L * C) > 1 else { return x }
            let T = x.count / (L * C)
            var m = [Float](repeating: 0, count: L * C)
            for t in 0..<T { for j in 0..<(L * C) { m[j] += x[t * L * C + j] } }
            return m.map { $0 / Float(T) }
        }
    }
}

extension SpikeBERTModel: StagedModel {
    public func layer(ofSite site: String) -> Int {
        let parts = site.split(separator: ".")
        guard parts.count > 2, parts[0] == "encoder", parts[1] == "layer", let i = Int(parts[2]) else { return 0 }
        return min(max(i, 0), model.config.layers)
    }

    public func staged(prompt: ModelInput, count: Int, sampler: inout Sampler, cache: (any RunCache)?, firstLayer: Int,
                       stage: (RunStage) -> Bool) throws -> (stage: RunStage, cache: any RunCache)? {
        let m = try model.clone(tensors: tensors)
        let typeIds = prompt.typeIds.isEmpty ? nil : prompt.typeIds
        try m.validate(ids: prompt.ids, typeIds: typeIds, mask: nil)
        try m.checkNeuron()
        let n = m.config.layers
        var old = cache as? SpikeBERTRunCache
        if let c = old, c.tokens != prompt.ids || c.typeIds != prompt.typeIds || c.neuron != m.neuron || c.steps != m.steps
            || m.neuron == .gif || firstLayer <= 0 { old = nil }
        let l = old == nil ? 0 : min(firstLayer, n)
        let probe = Probe()
        var inputs = [[Float]](repeating: [], count: n + 1)
        if let c = old {
            for i in 0..<l { inputs[i] = c.inputs[i] }
            for site in c.trace.sites where layer(ofSite: site.name) < l { probe.seed(site) }
        }
        let outs = m.forwardFast(ids: [prompt.ids], typeIds: typeIds.map { [$0] }, masks: nil, probe: probe,
                                 resume: old.map { (l, $0.inputs[l]) }) { i, x, count in
            inputs[i] = Array(UnsafeBufferPointer(start: x, count: count))
        }
        let out = outs[0]
        let L = prompt.ids.count, C = m.config.hiddenSize
        let h = out.hidden.values
        let run = ModelRun(logits: [], classLogits: out.logits, hidden: (0..<L).map { Array(h[($0 * C)..<(($0 + 1) * C)]) }, steps: out.steps)
        let result = RunStage(trace: probe.trace, generated: [], run: run, complete: true)
        guard stage(result) else { return nil }
        return (result, SpikeBERTRunCache(tokens: prompt.ids, typeIds: prompt.typeIds, neuron: m.neuron, steps: m.steps,
                                          inputs: inputs, trace: result.trace, width: C))
    }

    public func siteRate(site: String, k: Float, cache: any RunCache) throws -> Double? {
        guard let c = cache as? SpikeBERTRunCache, c.neuron == neuron, neuron != .gif, neuron != .none,
              c.steps == model.steps, siteNames.contains(site) else { return nil }
        var m = self
        m.setFrequency(k, site: site)
        let b = try m.model.clone(tensors: tensors)
        let i = layer(ofSite: site)
        guard i < b.config.layers else { return nil }
        let probe = Probe(recordCurrent: false)
        _ = b.forwardFast(ids: [c.tokens], typeIds: c.typeIds.isEmpty ? nil : [c.typeIds], masks: nil, probe: probe,
                          resume: (i, c.inputs[i]), stopAfter: i)
        return probe.trace[site]?.firingRate
    }
}
