import Testing
import Foundation
@testable import Models
import Neurons
import Engine
import Formats

/// SpikeBERT's staged rerun (issue 22): a change at layer l restarts the encoder at l from the
/// cached stream; the trace and the class logits equal a run from scratch, bit for bit.
@Suite struct SpikeBERTStagedTests {
    func tiny() throws -> SpikeBERTModel {
        let loaded = try ModelLoader.load(path: Fixture.url("spikebert/weights.safetensors").path)
        var m = try #require(loaded.model as? SpikeBERTModel)
        try m.prepare(for: input)
        return m
    }
    let input = ModelInput(ids: [1, 7, 3, 9, 12, 4, 2], typeIds: [0, 0, 0, 0, 1, 1, 1])

    func staged(_ m: SpikeBERTModel, cache: (any RunCache)? = nil, from: Int = 0) throws -> (stage: RunStage, cache: any RunCache) {
        var sampler = Sampler()
        return try #require(try m.staged(prompt: input, count: 0, sampler: &sampler, cache: cache, firstLayer: from) { _ in true })
    }

    @Test func fromScratchItIsRun() throws {
        let m = try tiny()
        let s = try staged(m)
        let probe = Probe()
        let run = try m.run(input, probe: probe)
        let same = s.stage.trace == probe.trace
        #expect(same && s.stage.run.classLogits == run.classLogits && s.stage.run.hidden == run.hidden && s.stage.complete)
    }

    @Test func reuseFromTheChangedLayerIsExact() throws {
        let base = try tiny()
        let first = try staged(base)
        var checked = Set<Int>()
        for site in base.siteNames {
            for factor in [1.25, 0.5, 3] as [Float] {
                var m = base
                m.setFrequency(base.frequency(site: site) * factor, site: site)
                let l = m.layer(ofSite: site)
                checked.insert(l)
                let scratch = try staged(m)
                let reused = try staged(m, cache: first.cache, from: l)
                let same = reused.stage.trace == scratch.stage.trace
                #expect(same, "\(site) ×\(factor)")
                #expect(reused.stage.run.classLogits == scratch.stage.run.classLogits && reused.stage.run.hidden == scratch.stage.run.hidden)
                let rate = try m.siteRate(site: site, k: m.frequency(site: site), cache: reused.cache)
                #expect(rate == scratch.stage.trace[site]?.firingRate, "\(site)")
            }
        }
        #expect(checked.count == base.summary.layers && checked.contains { $0 > 0 })
    }

    /// A changed input, T or neuron is not served from the cache.
    @Test func aDifferentInputIsNotReused() throws {
        let m = try tiny()
        let first = try staged(m)
        var c = try #require(first.cache as? SpikeBERTRunCache)
        c.inputs = c.inputs.map { $0.map { $0 + 1 } }  // poisoned: a reuse would show
        c.tokens = [1, 7, 3, 9, 12, 4, 5]
        let other = try staged(m, cache: c, from: 1)
        let same = other.stage.trace == first.stage.trace
        #expect(same)
    }
}
