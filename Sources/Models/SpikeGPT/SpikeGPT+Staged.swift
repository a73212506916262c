// SpikeGPT's staged run (Staged.swift): the workbench's rerun after a control change recomputes
// only the blocks from the changed one on. The cache keeps, for every token of the last run
// (prompt, then continuation), the residual stream entering each block, the recurrent state after
// each continuation row, and the trace. Prompt: one chunk, as `forward`; continuation: one token
// per call, as `generate`; the head runs on the last prompt row and each continuation row only.
//
// Why it is exact: block l's inputs are the cached rows while every token so far matches the
// cached run; blocks < l are not run and their recorded rows and states are the cached ones,
// which the same controls and tokens would reproduce. When a continuation token differs, blocks
// < l restart from the cached state after the previous (matching) token and every later token
// runs all blocks. A new prompt under the same controls resumes after the rows it shares with the
// cached prompt, from the state after them (kept for every prompt row), its remaining rows as one
// chunk (GEMM rows have the same bits whatever the chunk). The neuron GIF (sites with a sub-step
// layout) always runs from scratch.

import Foundation
import Neurons

struct SpikeGPTRunCache: RunCache {
    var tokens: [Int]
    var promptCount: Int
    var neuron: NeuronKind
    /// inputs[i]: the residual stream entering block i (i = layers: entering LN_out), a row of C
    /// values per token of `tokens`.
    var inputs: [[Float]]
    /// states[j]: the recurrent state after row promptCount − 1 + j (j = 0: after the prompt).
    var states: [SpikeGPT.State]
    /// promptStates[t]: the state after prompt row t (multi-row prompts; empty otherwise): where a
    /// later prompt that shares the first t + 1 tokens resumes.
    var promptStates: [SpikeGPT.State]
    var trace: Trace
    var streams: [[Float]] { inputs }
}

extension SpikeGPT: StagedModel {
    public func layer(ofSite site: String) -> Int {
        // "blocks.{i}.…"
        let parts = site.split(separator: ".")
        guard parts.count > 1, parts[0] == "blocks", let i = Int(parts[1]) else { return 0 }
        return min(max(i, 0), config.layers)
    }

    /// Copies layers < l of `from` into `state` (the 7 per-layer arrays).
    static func copyLayers(below l: Int, from: State, into state: inout State, width C: Int) {
        let n = l * C
        guard n > 0 else { return }
        state.attShift.replaceSubrange(0..<n, with: from.attShift[0..<n])
        state.ffnShift.replaceSubrange(0..<n, with: from.ffnShift[0..<n])
        state.aa.replaceSubrange(0..<n, with: from.aa[0..<n])
        state.bb.replaceSubrange(0..<n, with: from.bb[0..<n])
        state.pp.replaceSubrange(0..<n, with: from.pp[0..<n])
        state.lifAtt.replaceSubrange(0..<n, with: from.lifAtt[0..<n])
        state.lifFfn.replaceSubrange(0..<n, with: from.lifFfn[0..<n])
    }

    /// Rows [from, to) of every array of a flat (one row per token) site trace.
    static func rows(_ site: SiteTrace, _ from: Int, _ to: Int) -> SiteTrace {
        var s = site
        let C = site.width
        s.membrane = Array(site.membrane[(from * C)..<(to * C)])
        s.spikes = Array(site.spikes[(from * C)..<(to * C)])
        if site.current.count == site.membrane.count { s.current = Array(site.current[(from * C)..<(to * C)]) }
        s.layout = [to - from]
        return s
    }

    /// The class head on the prompt's hidden states [T, C] (nil without one).
    func classHead(hidden a: [Float], rows T: Int) -> [Float]? {
        guard let dw = clsDenseW, let db = clsDenseB, let ow = clsOutW, let ob = clsOutB else { return nil }
        let C = config.width
        var pooled = [Float](repeating: 0, count: C)
        for t in 0..<T { for c in 0..<C { pooled[c] += a[t * C + c] / Float(T) } }
        var z = [Float](repeating: 0, count: C)
        linear(pooled, dw, &z, rows: 1)
        db.withUnsafeBufferPointer { b in for c in 0..<C { z[c] = tanhf(z[c] + b[c]) } }
        var logits = [Float](repeating: 0, count: config.classes)
        linear(z, ow, &logits, rows: 1)
        ob.withUnsafeBufferPointer { b in for j in logits.indices { logits[j] += b[j] } }
        return logits
    }

    public func staged(prompt: ModelInput, count: Int, sampler: inout Sampler, cache: (any RunCache)?, firstLayer: Int,
                       stage: (RunStage) -> Bool) throws -> (stage: RunStage, cache: any RunCache)? {
        let P = prompt.ids.count, C = config.width, V = config.vocab, n = config.layers
        let cached = cache as? SpikeGPTRunCache
        var old = cached
        if let c = old, c.neuron != controls.neuron || controls.neuron == .gif || c.promptCount != P
            || Array(c.tokens.prefix(P)) != prompt.ids || firstLayer <= 0 { old = nil }
        var l = old == nil ? 0 : min(firstLayer, n)
        // A new prompt with the same controls reuses the rows it shares with the cached one, when
        // both ran as multi-row chunks (a one-row prompt runs a GEMV, whose bits differ).
        var prefix = 0
        if old == nil, let c = cached, firstLayer > n, c.neuron == controls.neuron, controls.neuron != .gif,
           c.promptCount > 1, P > 1, c.promptStates.count == c.promptCount {
            prefix = zip(c.tokens.prefix(c.promptCount), prompt.ids).prefix { $0 == $1 }.count
        }

        // ---- the prompt, one chunk: blocks < l from the cache, blocks ≥ l computed; or the
        // rows after a shared prefix, as a chunk from the state after the prefix.
        let probe = Probe()
        var state = initialState()
        var inputs = [[Float]](repeating: [], count: n + 1)
        let rowStates = RowStates(rows: P, template: state)
        var x: [Float]
        if let c = cached, prefix > 0 {
            for i in 0...n { inputs[i] = Array(c.inputs[i][0..<(prefix * C)]) }
            for t in 0..<prefix { rowStates.states[t] = c.promptStates[t] }
            state = c.promptStates[prefix - 1]
            for site in c.trace.sites { probe.seed(SpikeGPT.rows(site, 0, prefix)) }
            let S = P - prefix
            if S > 0 {
                var xs = try embed(Array(prompt.ids[prefix...]))
                var scratch = Scratch(rows: S, config: config)
                let rest = RowStates(rows: S, template: state)
                for i in 0..<n {
                    inputs[i] += xs
                    try block(i, &xs, rows: S, state: &state, probe: probe, scratch: &scratch, chunk: true, rowStates: rest)
                }
                inputs[n] += xs
                for t in 0..<S { rowStates.states[prefix + t] = rest.states[t] }
            }
            x = inputs[n]
        } else {
            if let c = old, l > 0 {
                for i in 0..<l { inputs[i] = Array(c.inputs[i][0..<(P * C)]) }
                x = Array(c.inputs[l][0..<(P * C)])
                SpikeGPT.copyLayers(below: l, from: c.states[0], into: &state, width: C)
                if c.promptStates.count == P {
                    for t in 0..<P { SpikeGPT.copyLayers(below: l, from: c.promptStates[t], into: &rowStates.states[t], width: C) }
                }
                for site in c.trace.sites where layer(ofSite: site.name) < l { probe.seed(SpikeGPT.rows(site, 0, P)) }
            } else {
                x = try embed(prompt.ids)
            }
            var scratch = Scratch(rows: P, config: config)
            for i in l..<n {
                inputs[i] = x
                try block(i, &x, rows: P, state: &state, probe: probe, scratch: &scratch, rowStates: P > 1 ? rowStates : nil)
            }
            inputs[n] = x
        }
        state.position = P
        for t in 0..<P { rowStates.states[t].position = t + 1 }
        let hidden = finalNorm(x, rows: P)
        let run = ModelRun(logits: [], classLogits: config.classes > 0 ? classHead(hidden: hidden, rows: P) : nil,
                           hidden: (0..<P).map { Array(hidden[($0 * C)..<(($0 + 1) * C)]) }, steps: P)
        var states = [state]
        var generated: [Int] = []
        var current = RunStage(trace: probe.trace, generated: [], run: run, complete: count == 0)
        guard stage(current) else { return nil }

        // ---- the continuation, one token per call.
        var sampled: [[Float]] = []
        if count > 0 {
            var logits = [Float](repeating: 0, count: V)
            linear(Array(hidden[((P - 1) * C)..<(P * C)]), head, &logits, rows: 1)
            sampled.append(logits)
            var one = Scratch(rows: 1, config: config)
            for g in 0..<count {
                let token = sampler.sample(logits[...])
                generated.append(token)
                let row = P + g
                var x1: [Float]
                if let c = old, l > 0, row < c.tokens.count, c.tokens[row] == token {
                    // Still the cached run's tokens: blocks < l as cached.
                    for i in 0..<l { inputs[i] += c.inputs[i][(row * C)..<((row + 1) * C)] }
                    x1 = Array(c.inputs[l][(row * C)..<((row + 1) * C)])
                    for site in c.trace.sites where layer(ofSite: site.name) < l { probe.append(SpikeGPT.rows(site, row, row + 1)) }
                    for i in l..<n {
                        inputs[i] += x1
                        try block(i, &x1, rows: 1, state: &state, probe: probe, scratch: &one)
                    }
                    SpikeGPT.copyLayers(below: l, from: c.states[g + 1], into: &state, width: C)
                } else {
                    // A new token (or no cache): every block; the cached state of blocks < l is
                    // already in `state` (copied after the last matching token).
                    l = 0
                    x1 = try embed([token])
                    for i in 0..<n {
                        inputs[i] += x1
                        try block(i, &x1, rows: 1, state: &state, probe: probe, scratch: &one)
                    }
                }
                inputs[n] += x1
                state.position += 1
                states.append(state)
                let last = g == count - 1
                if !last { linear(finalNorm(x1, rows: 1), head, &logits, rows: 1); sampled.append(logits) }
                current = RunStage(trace: probe.trace, generated: generated, run: run, complete: last)
                if !last, !stage(current) { return nil }
            }
            var r = run
            r.steps = P + count
            r.sampled = sampled
            r.sampledStart = P - 1
            current.run = r
        }
        let newCache = SpikeGPTRunCache(tokens: prompt.ids + generated, promptCount: P, neuron: controls.neuron,
                                        inputs: inputs, states: states, promptStates: P > 1 ? rowStates.states : [],
                                        trace: current.trace)
        return (current, newCache)
    }

    public func lens(row: [Float]) -> [Float]? {
        guard row.count == config.width else { return nil }
        var logits = [Float](repeating: 0, count: config.vocab)
        linear(finalNorm(row, rows: 1), head, &logits, rows: 1)
        return logits
    }

    public func siteRate(site: String, k: Float, cache: any RunCache) throws -> Double? {
        guard let c = cache as? SpikeGPTRunCache, c.neuron == controls.neuron, controls.neuron == .lif,
              siteNames.contains(site) else { return nil }
        let i = layer(ofSite: site), C = config.width, P = c.promptCount
        guard i < config.layers else { return nil }
        var m = self
        m.setFrequency(k, site: site)
        // Block i alone, as the staged run ran it: the prompt in one chunk, then one row per token.
        let probe = Probe(recordCurrent: false)
        var state = initialState()
        var x = Array(c.inputs[i][0..<(P * C)])
        var scratch = Scratch(rows: P, config: config)
        try m.block(i, &x, rows: P, state: &state, probe: probe, scratch: &scratch)
        var one = Scratch(rows: 1, config: config)
        for row in P..<c.tokens.count {
            var x1 = Array(c.inputs[i][(row * C)..<((row + 1) * C)])
            try m.block(i, &x1, rows: 1, state: &state, probe: probe, scratch: &one)
        }
        return probe.trace[site]?.firingRate
    }
}
