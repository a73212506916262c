import Testing
import Foundation
@testable import Workbench
import Models
import Neurons
import Formats

/// Comparison (issue 18): a change at one site moves that site and what runs after it, nothing
/// before it — exactly; and the arithmetic of the per-site numbers on a hand-made pair.
@Suite struct ComparisonTests {
    @Test func aChangeAtLayerOneLeavesLayerZeroExactlyAlone() throws {
        let base = try tinyModel()
        var changed = base
        changed.setFrequency(base.frequency(site: "blocks.1.att.lif") * 0.5, site: "blocks.1.att.lif")
        let ids = ModelInput(ids: [1, 4, 9, 16, 2, 5, 11, 7, 3, 0, 12, 21, 5, 5, 8, 13])
        func run(_ m: SpikeGPT) throws -> ComparableRun {
            let p = Probe()
            let r = try m.run(ids, probe: p)
            return ComparableRun(trace: p.trace, logits: r.logits)
        }
        let cmp = Comparison.compare(try run(changed), to: try run(base))
        for s in cmp.sites where s.name.hasPrefix("blocks.0.") {
            #expect(s.deltaRate == 0 && s.changed == 0 && s.cosine == 1 && s.relativeError == 0, "\(s)")
        }
        let at = try #require(cmp.sites.first { $0.name == "blocks.1.att.lif" })
        #expect(at.changed > 0 && at.deltaRate > 0, "k down fires more: \(at)")
        #expect(cmp.firstDivergentSite?.hasPrefix("blocks.1.") == true)
        #expect((cmp.outputKL ?? 0) > 0 && (cmp.top1Agreement ?? 0) <= 1)
    }

    /// The same on the embedded default model (4×128, char vocabulary): k up at a layer-2 site
    /// leaves every layer-0 and layer-1 site exactly as it was, over the whole prompt.
    @Test func onTheEmbeddedModelUpstreamIsExactlyUnchanged() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/spikescope/Resources/default/spikegpt-char.safetensors").standardized
        let base = try SpikeGPT(weights: Checkpoint.load(url.path).tensors)
        let ids = ModelInput(ids: Array("The spiking neuron fires when".unicodeScalars.map { Int($0.value) % base.config.vocab }))
        var changed = base
        changed.setFrequency(base.frequency(site: "blocks.2.att.lif") * 1.25, site: "blocks.2.att.lif")
        func run(_ m: SpikeGPT) throws -> ComparableRun {
            let p = Probe()
            let logits = try m.run(ids, probe: p).logits
            return ComparableRun(trace: p.trace, logits: logits)
        }
        let cmp = Comparison.compare(try run(changed), to: try run(base))
        for s in cmp.sites where s.name.hasPrefix("blocks.0.") || s.name.hasPrefix("blocks.1.") {
            #expect(s.deltaRate == 0 && s.changed == 0 && s.cosine == 1, "\(s)")
        }
        #expect(cmp.sites.first { $0.name == "blocks.2.att.lif" }!.changed > 0)
    }

    @Test func perSiteNumbersByHand() {
        var a = SiteTrace(name: "s", neuron: .lif, width: 2), b = a
        a.spikes = [1, 0, 1, 1]; b.spikes = [1, 1, 0, 1]
        a.membrane = a.spikes; b.membrane = b.spikes
        let c = Comparison.site(a, b)
        // dot = 1 + 0 + 0 + 1 = 2, |a| = |b| = √3: cos = 2/3; |a − b|² = 2, |b|² = 3.
        #expect(abs(c.cosine! - 2.0 / 3) < 1e-12 && abs(c.relativeError! - (2.0 / 3).squareRoot()) < 1e-12)
        #expect(c.changed == 2 && c.rows == 2 && c.deltaRate == 0)
        // Elastic spikes decode with α of their timestep: the same spikes under another α differ.
        var e1 = SiteTrace(name: "e", neuron: .elastic, width: 1, layout: [2, 1]), e2 = e1
        e1.spikes = [1, -1]; e2.spikes = [1, -1]; e1.amplitude = [0.5, 2]; e2.amplitude = [0.5, 1]
        let ee = Comparison.site(e1, e2)
        // A = (0.5, −2), B = (0.5, −1): cos = (0.25 + 2)/(√4.25 · √1.25), changed cells 0 (spikes equal).
        #expect(abs(ee.cosine! - 2.25 / (4.25.squareRoot() * 1.25.squareRoot())) < 1e-12 && ee.changed == 0)
        // A GIF site ([steps, tokens]) against a float one ([tokens]): rates only, no cell compare.
        var g = SiteTrace(name: "s", neuron: .gif, width: 2, layout: [2, 1]), f = SiteTrace(name: "s", neuron: .none, width: 2, layout: [2])
        g.spikes = [3, 0, 1, 0]; f.spikes = [0.4, -1, 0.2, 0.1]
        let gf = Comparison.site(g, f)
        #expect(!Comparison.comparable(g, f) && gf.cosine == nil && gf.relativeError == nil && gf.changed == 0 && gf.rows == 0)
        // Class probabilities: softmax differences.
        let r = Comparison.compare(ComparableRun(trace: Trace(), classLogits: [0, 0]), to: ComparableRun(trace: Trace(), classLogits: [log(3), 0]))
        #expect(abs(r.classProbabilityDelta![0] - (0.5 - 0.75)) < 1e-6)
    }
}

