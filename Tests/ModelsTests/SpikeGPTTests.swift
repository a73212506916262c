import Testing
import Foundation
@testable import Models
import Engine
import Neurons

/// SpikeGPT against the NumPy reference (Tests/Reference/spikegpt_ref.py, float64, direct WKV sums).
@Suite struct SpikeGPTReferenceTests {
    let weights: [String: Tensor]
    let expected: [String: Any]
    init() throws {
        weights = try Fixture.safetensors("spikegpt/tiny.safetensors")
        expected = try Fixture.json("spikegpt/tiny_expected.json")
    }
    var tokens: [Int] { expected["tokens"] as! [Int] }
    func run(_ neuron: String) -> [String: Any] { (expected["runs"] as! [String: Any])[neuron] as! [String: Any] }

    @Test func inferredConfigMatchesShapes() throws {
        let cfg = try SpikeGPT.inferConfig(weights)
        #expect(cfg.layers == 2 && cfg.width == 16 && cfg.vocab == 23 && cfg.ffnWidth == 64)
    }

    /// Logits within 1e-4 abs (the issue's bound; float32 vs float64 reference over 2 layers).
    /// Spikes must agree exactly except where the reference membrane is within 1e-5 of threshold.
    @Test(arguments: ["lif", "none"]) func chunkedForwardMatchesReference(neuron: String) throws {
        var model = try SpikeGPT(weights: weights)
        model.controls.neuron = neuron == "lif" ? .lif : .none
        var state = model.initialState()
        let probe = Probe()
        let out = try model.forward(tokens: tokens, state: &state, probe: probe)
        let ref = run(neuron)
        let refLogits = floats2D(ref["logits"])
        var maxDiff: Float = 0
        for t in 0..<tokens.count { for v in 0..<23 { maxDiff = max(maxDiff, abs(out.logits[t, v] - refLogits[t][v])) } }
        print("spikegpt \(neuron): max |logit diff| = \(maxDiff)")
        #expect(maxDiff <= 1e-4)
        let sites = ref["sites"] as! [String: Any]
        #expect(probe.trace.sites.map(\.name) == ["blocks.0.att.lif", "blocks.0.ffn.lif", "blocks.1.att.lif", "blocks.1.ffn.lif"])
        for site in probe.trace.sites {
            let r = sites[site.name] as! [String: Any]
            let h = floats2D(r["membrane"]).flatMap { $0 }, s = floats2D(r["spikes"]).flatMap { $0 }
            #expect(site.membrane.count == h.count && site.spikes.count == s.count, "\(site.name): \(site.membrane.count) vs \(h.count)")
            guard site.membrane.count == h.count, site.spikes.count == s.count else { continue }
            var mDiff: Float = 0, mismatches = 0
            for i in h.indices {
                mDiff = max(mDiff, abs(site.membrane[i] - h[i]))
                if neuron == "lif" { if site.spikes[i] != s[i] && abs(h[i] - 1) >= 1e-5 { mismatches += 1 } }
                else if abs(site.spikes[i] - s[i]) > 1e-4 { mismatches += 1 }  // bypass: real values
            }
            #expect(mDiff <= 1e-4, "membrane of \(site.name) differs by \(mDiff)")
            #expect(mismatches == 0, "\(mismatches) spike mismatches at \(site.name)")
        }
    }

    @Test func recurrentFormMatchesChunkedForm() throws {
        let model = try SpikeGPT(weights: weights)
        var s1 = model.initialState(), s2 = model.initialState()
        let p1 = Probe(), p2 = Probe()
        let chunk = try model.forward(tokens: tokens, state: &s1, probe: p1)
        var rows: [[Float]] = []
        for t in tokens { rows.append(try model.step(token: t, state: &s2, probe: p2).logits.values) }
        let flat = rows.flatMap { $0 }
        var d: Float = 0
        for (a, b) in zip(chunk.logits.values, flat) { d = max(d, abs(a - b)) }
        #expect(d <= 1e-5)
        #expect(p1.trace.sites.map(\.spikes) == p2.trace.sites.map(\.spikes))
        #expect(s1.position == s2.position)
    }

    @Test func stateCopyStepsBackExactly() throws {
        let model = try SpikeGPT(weights: weights)
        var st = model.initialState()
        _ = try model.forward(tokens: Array(tokens.prefix(5)), state: &st)
        let saved = st
        let a = try model.step(token: 3, state: &st).logits.values
        var again = saved
        let b = try model.step(token: 3, state: &again).logits.values
        #expect(a == b)
        #expect(st == again)
    }

    @Test func higherKLowersFiringRate() throws {
        var model = try SpikeGPT(weights: weights)
        func rate(_ k: Float) throws -> Double {
            for i in model.controls.lif.indices { model.controls.lif[i].k = k }
            var st = model.initialState(); let p = Probe()
            _ = try model.forward(tokens: tokens, state: &st, probe: p)
            return p.trace.sites.map(\.firingRate).reduce(0, +)
        }
        let r1 = try rate(1), r2 = try rate(2), r4 = try rate(4)
        #expect(r1 > r2 && r2 > r4)
    }

    @Test func badTokenAndWrongShapeGiveClearErrors() throws {
        let model = try SpikeGPT(weights: weights)
        var st = model.initialState()
        #expect(throws: ModelError.self) { try model.forward(tokens: [99], state: &st) }
        var w = weights
        w["blocks.1.att.key.weight"] = Tensor(zeros: [16, 8])
        do { _ = try SpikeGPT(weights: w); Issue.record("expected a throw") } catch let e as ModelError {
            #expect(e.description.contains("blocks.1.att.key.weight") && e.description.contains("[16, 8]") && e.description.contains("[16, 16]"))
        }
    }
}

@Suite struct SamplerTests {
    @Test func greedyPicksArgmaxAndTopPNarrowsTheChoice() {
        var g = Sampler()
        #expect(g.sample([0.1, 3, -1, 2.9][...]) == 1)
        // top_p tiny → only the most likely token can come out, whatever the seed.
        for seed in 0..<20 {
            var s = Sampler(SamplerConfig(temperature: 1, topP: 0.01, seed: UInt64(seed)))
            #expect(s.sample([0, 0.5, 4, 1][...]) == 2)
        }
    }

    @Test func temperatureSamplingFollowsTheSoftmax() {
        var s = Sampler(SamplerConfig(temperature: 1, topP: 1, seed: 7))
        let logits: [Float] = [0, log(3)]  // p = [0.25, 0.75]
        var ones = 0
        for _ in 0..<4000 { ones += s.sample(logits[...]) }
        let frac = Double(ones) / 4000
        #expect(abs(frac - 0.75) < 0.03)  // 4.4 standard errors (σ = 0.0068)
    }

    @Test func sameSeedSameText() throws {
        let w = try Fixture.safetensors("spikegpt/tiny.safetensors")
        let m = try SpikeGPT(weights: w)
        func gen(_ seed: UInt64) throws -> [Int] {
            var st = m.initialState(); var s = Sampler(SamplerConfig(temperature: 1, topP: 0.9, seed: seed))
            return try m.generate(prompt: [1, 2, 3], count: 15, sampler: &s, state: &st)
        }
        #expect(try gen(1) == gen(1))
        #expect(try gen(1).count == 15)
    }
}
