import Testing
import Foundation
@testable import Models
import Neurons
import Engine
import Formats

/// SpikeBERT with GIF neurons at its sites (SpikeLLM on the SpikeLM model).
@Suite struct SpikeBERTGIFTests {
    func tiny() throws -> SpikeBERTModel {
        let loaded = try ModelLoader.load(path: Fixture.url("spikebert/weights.safetensors").path)
        return try #require(loaded.model as? SpikeBERTModel)
    }
    let input = ModelInput(ids: [1, 7, 3, 9, 12, 4, 2], typeIds: [0, 0, 0, 0, 1, 1, 1])

    @Test func gifSitesCodeWithLevelsAndExactBits() throws {
        var m = try tiny()
        m.neuron = .none
        let float = try m.run(input, probe: nil).hidden
        m.spikeLLM = SpikeLLMSettings(abits: 3, addbit: 1, lowP: 0.75)
        m.neuron = .gif
        #expect(m.needsPreparation)
        try m.prepare(for: input)
        #expect(!m.needsPreparation)
        let probe = Probe()
        let coded = try m.run(input, probe: probe).hidden
        let sites = probe.trace.sites
        #expect(sites.count == m.siteNames.count)
        for s in sites {
            #expect(s.neuron == .gif && s.levels == 8)
            #expect(s.spikes.allSatisfy { $0 >= 0 && $0 <= 7 && $0 == $0.rounded() })
            #expect(abs((s.bitsPerActivation ?? 0) - (3 + Double(s.salient.count) / Double(s.width))) < 1e-9)
            #expect(s.layout == [2, input.ids.count])
        }
        let cos = meanCosine(float, coded)
        print("tiny SpikeBERT SpikeLLM (abits 3 +1, low_p 0.75): cosine to float \(cos)")
        #expect(cos > 0.5)
        // More bits, closer to the float model.
        var fine = m
        fine.spikeLLM = SpikeLLMSettings(abits: 8, addbit: 1, lowP: 0.75)
        #expect(fine.needsPreparation)  // new settings drop the calibrated channels
        try fine.prepare(for: input)
        #expect(meanCosine(float, try fine.run(input, probe: nil).hidden) > cos)
    }

    @Test func copiesKeepTheirOwnPlan() throws {
        var a = try tiny()
        a.neuron = .gif
        try a.prepare(for: input)
        var b = a.copy() as! SpikeBERTModel
        b.gifOutlierFraction = 0.25
        #expect(b.needsPreparation && !a.needsPreparation)
        #expect(try a.run(input, probe: nil).hidden.count == input.ids.count)
    }

    /// On the real MiniLM, the paper's direction: at 4-bit activations, two extra steps for the
    /// 5% most salient channels (addbit 2, low_p 0.95) keep the final hidden states closer to the
    /// float model than uniform 4 bits.
    @Test func minilmSalientStepsBeatUniform() throws {
        let dir = try TestPaths.minilm().path
        let opened = try ModelLoader.load(path: dir)
        var m = try #require(opened.model as? SpikeBERTModel)
        let tok = try TokenizerLoader.load(path: dir + "/tokenizer.json")
        let e = try tok.encode("A spiking neuron fires when its membrane potential crosses the threshold.")
        let inp = ModelInput(ids: e.ids, typeIds: e.typeIds)
        m.neuron = .none
        let float = try m.run(inp, probe: nil).hidden
        func cosine(_ s: SpikeLLMSettings) throws -> (Double, Double) {
            var g = m
            g.spikeLLM = s
            g.neuron = .gif
            try g.prepare(for: inp)
            return (meanCosine(float, try g.run(inp, probe: nil).hidden), g.gifAverageBits ?? 0)
        }
        let (u, ub) = try cosine(SpikeLLMSettings(abits: 4, addbit: 0, lowP: 1))
        let (s, sb) = try cosine(SpikeLLMSettings(abits: 4, addbit: 2, lowP: 0.95))
        print("MiniLM SpikeLLM abits 4: uniform cos \(u) at \(ub) bits, addbit 2 low_p 0.95 cos \(s) at \(sb) bits")
        #expect(ub == 4 && sb > 4 && sb < 4.2)
        #expect(s > u)
    }
}

@Suite struct SpikeBERTGIFSiteTests {
    /// Q, K and V read the same input but code it with their own allocations (saliency uses each
    /// linear's weight), so each records its own GIF site and the K/V inputs are not Q's.
    @Test func queryKeyValueEachRunTheirOwnGIF() throws {
        let loaded = try ModelLoader.load(path: Fixture.url("spikebert/weights.safetensors").path)
        var m = try #require(loaded.model as? SpikeBERTModel)
        let input = ModelInput(ids: [1, 7, 3, 9, 12, 4, 2], typeIds: [])
        m.spikeLLM = SpikeLLMSettings(abits: 4, addbit: 1, lowP: 0.75)
        m.neuron = .gif
        try m.prepare(for: input)
        let probe = Probe()
        _ = try m.run(input, probe: probe)
        let names = Set(probe.trace.sites.map(\.name))
        for n in ["query", "key", "value"] { #expect(names.contains("encoder.layer.0.attention.self.\(n)")) }
        let q = probe.trace["encoder.layer.0.attention.self.query"]!, k = probe.trace["encoder.layer.0.attention.self.key"]!
        #expect(q.salient != k.salient || q.spikes != k.spikes)
        #expect(q.codingError != nil && q.codingError! < 1)
    }
}
