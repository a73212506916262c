import Testing
import Foundation
@testable import Models
import Neurons
import Engine

/// The workbench's staged rerun (issue 22): a change at layer l recomputes only layers ≥ l, and
/// the result is bit-identical to a run from scratch — every site, every step, the tokens.
@Suite struct SpikeGPTStagedTests {
    let weights: [String: Tensor]
    init() throws { weights = try Fixture.safetensors("spikegpt/tiny.safetensors") }
    let prompt = [1, 4, 9, 16, 2, 5, 11, 7, 3, 0, 12, 21]

    func run(_ m: SpikeGPT, count: Int, cache: (any RunCache)? = nil, from: Int = 0,
             stages: ((RunStage) -> Bool)? = nil) throws -> (stage: RunStage, cache: any RunCache) {
        var sampler = Sampler()
        return try #require(try m.staged(prompt: ModelInput(ids: prompt), count: count, sampler: &sampler, cache: cache,
                                         firstLayer: from, stage: stages ?? { _ in true }))
    }

    /// From scratch, the staged run is the reference generate: the same tokens and trace.
    @Test func fromScratchItIsGenerate() throws {
        let m = try SpikeGPT(weights: weights)
        let staged = try run(m, count: 6)
        var sampler = Sampler()
        let probe = Probe()
        var st = m.initialState()
        let tokens = try m.generate(prompt: prompt, count: 6, sampler: &sampler, state: &st, probe: probe)
        #expect(staged.stage.generated == tokens)
        let same = staged.stage.trace == probe.trace
        #expect(same)
        #expect(staged.stage.run.steps == prompt.count + 6)
    }

    /// A change at a site of layer l, rerun from the cache at l, equals the changed model from
    /// scratch — for every site of both layers, k up and down, and for changes that alter the
    /// continuation (the cached rows stop being used from the first new token).
    @Test func reuseFromTheChangedLayerIsExact() throws {
        let base = try SpikeGPT(weights: weights)
        let first = try run(base, count: 8)
        var diverged = 0
        for site in base.siteNames {
            for factor in [1.25, 0.8, 4, 0.25] as [Float] {
                var m = base
                m.setFrequency(base.frequency(site: site) * factor, site: site)
                let l = m.layer(ofSite: site)
                let scratch = try run(m, count: 8)
                let reused = try run(m, count: 8, cache: first.cache, from: l)
                #expect(reused.stage.generated == scratch.stage.generated, "\(site) ×\(factor)")
                let same = reused.stage.trace == scratch.stage.trace  // (a Bool: a failure prints no trace dump)
                #expect(same, "\(site) ×\(factor)")
                #expect(reused.stage.run.classLogits == scratch.stage.run.classLogits)
                // The new cache serves the next change exactly too.
                var m2 = m
                m2.setFrequency(m.frequency(site: site) * 1.25, site: site)
                let again = try run(m2, count: 8, cache: reused.cache, from: l)
                let sameAgain = again.stage.trace == (try run(m2, count: 8)).stage.trace
                #expect(sameAgain, "\(site) ×\(factor) then ×1.25")
                if scratch.stage.generated != first.stage.generated && l > 0 { diverged += 1 }
            }
        }
        // The branch where the continuation leaves the cached tokens ran at least once.
        #expect(diverged > 0)
    }

    /// Layers before the changed one are not recomputed: their trace rows are the cached ones even
    /// when the cache holds (deliberately) different values there.
    @Test func earlierLayersComeFromTheCache() throws {
        let m = try SpikeGPT(weights: weights)
        let first = try run(m, count: 3)
        var c = try #require(first.cache as? SpikeGPTRunCache)
        let i = try #require(c.trace.sites.firstIndex { $0.name == "blocks.0.att.lif" })
        c.trace.sites[i].membrane[0] = 1234
        let reused = try run(m, count: 3, cache: c, from: 1)
        #expect(reused.stage.trace["blocks.0.att.lif"]?.membrane[0] == 1234)
        let same = reused.stage.trace["blocks.1.att.lif"] == first.stage.trace["blocks.1.att.lif"]
        #expect(same)
    }

    /// Stages: the prompt first (no continuation yet, prompt rows only), then every token; a
    /// false from the callback stops the run.
    @Test func stagesArriveInOrderAndStop() throws {
        let m = try SpikeGPT(weights: weights)
        var seen: [Int] = []
        _ = try run(m, count: 5) { st in
            seen.append(st.generated.count)
            #expect(st.trace["blocks.0.att.lif"]?.steps == prompt.count + st.generated.count)
            return true
        }
        #expect(seen == [0, 1, 2, 3, 4])  // the last token is the result itself
        var sampler = Sampler()
        var calls = 0
        let stopped = try m.staged(prompt: ModelInput(ids: prompt), count: 5, sampler: &sampler, cache: nil, firstLayer: 0) { _ in
            calls += 1; return calls < 3
        }
        #expect(stopped == nil && calls == 3)
    }

    /// The k-curve's site rate at the k in force is the trace's rate; other k match a full run.
    @Test func siteRateMatchesTheTrace() throws {
        let m = try SpikeGPT(weights: weights)
        let r = try run(m, count: 6)
        for site in m.siteNames {
            let k = m.frequency(site: site)
            #expect(try m.siteRate(site: site, k: k, cache: r.cache) == r.stage.trace[site]?.firingRate)
            var m2 = m
            m2.setFrequency(k * 1.5625, site: site)
            var sampler = Sampler()
            let probe = Probe()
            var st = m2.initialState()
            _ = try SpikeGPTTracedStepper(m2, state: st, probe: probe).generate(prompt: prompt, count: 0, sampler: &sampler)
            st = m2.initialState()
            // Tokens of the cached run, fed as the staged run feeds them (prompt chunk, then rows).
            let p2 = Probe()
            _ = try m2.forward(tokens: prompt, state: &st, probe: p2)
            for t in (r.cache.tokens.dropFirst(prompt.count)) { _ = try m2.step(token: t, state: &st, probe: p2) }
            #expect(try m.siteRate(site: site, k: k * 1.5625, cache: r.cache) == p2.trace[site]?.firingRate)
        }
    }
}

/// The LLaMA family's staged run: from scratch it is `generate` (tokens and trace), float and
/// with SpikeLLM's neuron, and its stages come prompt first, then token by token.
@Suite struct LlamaStagedTests {
    func tiny() throws -> Llama {
        let loaded = try ModelLoader.load(path: Fixture.url("llama/llama-tiny").path)
        return try #require(loaded.model as? Llama)
    }
    let prompt = ModelInput(ids: [1, 395, 331, 7, 12])

    @Test(arguments: [NeuronKind.none, .gif])
    func fromScratchItIsGenerate(_ kind: NeuronKind) throws {
        var m = try tiny()
        m.neuron = kind
        try m.prepare(for: prompt)
        var s1 = Sampler(), s2 = Sampler()
        var seen: [Int] = []
        let staged = try #require(try m.staged(prompt: prompt, count: 5, sampler: &s1, cache: nil, firstLayer: 0) { st in
            seen.append(st.generated.count); return true
        })
        let probe = Probe()
        let g = try #require(try m.generate(prompt: prompt, count: 5, sampler: &s2, probe: probe))
        #expect(staged.stage.generated == g.tokens)
        let same = staged.stage.trace == probe.trace
        #expect(same)
        #expect(staged.stage.run.steps == g.run.steps && staged.stage.run.hidden == g.run.hidden)
        #expect(seen == Array(0..<5))
        #expect(m.layer(ofSite: "model.layers.1.mlp.down_proj") == 1)
        // Streams: every layer's rows for prompt + continuation; the lens of the last layer's
        // stream at the last prompt row picks the first generated token (greedy).
        let streams = staged.cache.streams
        let C = m.config.hidden, P = prompt.ids.count
        #expect(streams.count == m.config.layers + 1 && streams.allSatisfy { $0.count == (P + staged.stage.generated.count) * C })
        let l = try #require(m.lens(row: Array(streams[m.config.layers][((P - 1) * C)..<(P * C)])))
        #expect(l.indices.max { l[$0] < l[$1] } == staged.stage.generated.first)
    }
}

/// A new prompt under the same controls resumes after the tokens it shares with the cached one:
/// the result equals the new prompt run from scratch, bit for bit — an extended prompt, an edited
/// tail, a shortened one — and the cached rows are reused (not recomputed).
@Suite struct SpikeGPTPrefixTests {
    let weights: [String: Tensor]
    init() throws { weights = try Fixture.safetensors("spikegpt/tiny.safetensors") }

    func run(_ m: SpikeGPT, _ ids: [Int], cache: (any RunCache)? = nil, from: Int = 0) throws -> (stage: RunStage, cache: any RunCache) {
        var sampler = Sampler()
        return try #require(try m.staged(prompt: ModelInput(ids: ids), count: 4, sampler: &sampler, cache: cache,
                                         firstLayer: from, stage: { _ in true }))
    }

    @Test func sharedPrefixesAreReusedExactly() throws {
        let m = try SpikeGPT(weights: weights)
        let base = [1, 4, 9, 16, 2, 5, 11, 7, 3, 0]
        let first = try run(m, base)
        for next in [base + [12, 21, 3], Array(base.prefix(6)) + [20, 19], Array(base.prefix(4)), Array(base.prefix(1)) + [5, 5, 5],
                     [2] + base.dropFirst(), Array(base.prefix(9)) + [1]] {
            let scratch = try run(m, next)
            let reused = try run(m, next, cache: first.cache, from: Int.max)
            let same = reused.stage.trace == scratch.stage.trace
            #expect(same && reused.stage.generated == scratch.stage.generated, "\(next)")
            #expect(reused.stage.run.hidden == scratch.stage.run.hidden, "\(next)")
            // The reused cache serves a control change after it exactly too.
            var m2 = m
            m2.setFrequency(3, site: "blocks.1.att.lif")
            let changed = try run(m2, next, cache: reused.cache, from: 1)
            let sameChanged = changed.stage.trace == (try run(m2, next)).stage.trace
            #expect(sameChanged, "\(next) then k at layer 1")
        }
    }

    /// The shared rows come from the cache: poisoning a cached row shows up in the new trace.
    @Test func theSharedRowsAreNotRecomputed() throws {
        let m = try SpikeGPT(weights: weights)
        let first = try run(m, [1, 4, 9, 16, 2])
        var c = try #require(first.cache as? SpikeGPTRunCache)
        let i = try #require(c.trace.sites.firstIndex { $0.name == "blocks.1.ffn.lif" })
        c.trace.sites[i].membrane[0] = 4321
        let reused = try run(m, [1, 4, 9, 7, 7, 7], cache: c, from: Int.max)
        #expect(reused.stage.trace["blocks.1.ffn.lif"]?.membrane[0] == 4321)
        let fresh = try run(m, [1, 4, 9, 7, 7, 7], cache: c, from: 0)  // a control change: no reuse
        #expect(fresh.stage.trace["blocks.1.ffn.lif"]?.membrane[0] != 4321)
    }
}
