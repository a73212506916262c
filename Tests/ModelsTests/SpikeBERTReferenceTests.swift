// SpikeBERT against the NumPy reference (Tests/Reference/spikebert_ref.py, written from SEEDS.md §2):
// a 2-layer, 16-wide random model with given α at T = 4, with and without padding, the float
// model (every site bypassed), and first-input calibration.
//
// Tolerance 1e-4 abs on hidden states / logits (the bar): both sides compute in float32
// (the reference accumulates reductions in float64), so differences are ~1e-6; a flipped spike
// would move a hidden value by ~α·|W| ≈ 0.1, far above it. The reference only keeps models whose
// spiking decisions all sit ≥ 1e-4 away from a rounding boundary, so spikes must match exactly
// (the check still allows |m/α| within 1e-5 of a boundary, as the brief states).

import Foundation
import Testing
@testable import Models
import Neurons
import Engine

@Suite struct SpikeBERTReferenceTests {
    static let weights = Result { try TestSafeTensors.read(TestPaths.fixtures.appendingPathComponent("weights.safetensors")) }
    static let expected = Result { try TestSafeTensors.read(TestPaths.fixtures.appendingPathComponent("expected.safetensors")) }

    func model(dropAlpha: Bool = false) throws -> SpikeBERT {
        let config = try BERTConfig(contentsOf: TestPaths.fixtures.appendingPathComponent("config.json"))
        var w = try Self.weights.get()
        if dropAlpha { w = w.filter { !$0.key.contains("clip_") } }
        return try SpikeBERT(config: config, weights: w)
    }

    func input(_ tag: String) throws -> (ids: [Int], types: [Int], mask: [Int]) {
        let e = try Self.expected.get()
        return (e["\(tag).ids"]!.ints, e["\(tag).types"]!.ints, e["\(tag).mask"]!.ints)
    }

    func maxDiff(_ a: [Float], _ b: [Float]) -> Float {
        #expect(a.count == b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    @Test(arguments: ["a", "b"])
    func givenAlphaMatchesReference(tag: String) throws {
        let m = try model()
        #expect(m.hasCheckpointAlpha)
        #expect(m.steps == 4)
        let e = try Self.expected.get()
        let (ids, types, mask) = try input(tag)
        let probe = Probe()
        let out = try m.forward(ids: ids, typeIds: types, mask: mask, probe: probe)
        let dh = maxDiff(out.hidden.values, e["\(tag).hidden"]!.values)
        let dl = maxDiff(out.logits!, e["\(tag).logits"]!.values)
        let dp = maxDiff(out.pooled!, e["\(tag).pooled"]!.values)
        print("[\(tag)] max |Δ| hidden \(dh), pooled \(dp), logits \(dl)")
        #expect(dh <= 1e-4)
        #expect(dp <= 1e-4)
        #expect(dl <= 1e-4)
        #expect(abs(out.probabilities!.reduce(0, +) - 1) < 1e-5)

        let trace = probe.trace
        #expect(trace.sites.map(\.name) == m.siteNames)
        for site in ["encoder.layer.1.attention.self.query", "encoder.layer.0.attention.self.key_spike"] {
            let tr = try #require(trace[site])
            #expect(tr.layout == [4, ids.count])
            #expect(tr.amplitude == (try m.alpha(site: site)))   // k = 2 static: amplitude = checkpoint α
            let ref = e["\(tag).spikes.\(site)"]!.values
            let refM = e["\(tag).membrane.\(site)"]!.values
            #expect(tr.spikes.count == ref.count)
            #expect(maxDiff(tr.membrane, refM) <= 1e-4)
            var flips = 0
            for i in 0..<ref.count where tr.spikes[i] != ref[i] {
                let q = abs(tr.membrane[i] / tr.amplitude[i / (tr.width * ids.count)])
                let nearBoundary = abs(q - 0.5) <= 1e-5 || abs(q - 1.5) <= 1e-5
                #expect(nearBoundary, "spike \(i) at \(site) is \(tr.spikes[i]), reference \(ref[i]), |m/α| = \(q)")
                flips += 1
            }
            print("[\(tag)] \(site): \(ref.count) spikes, \(flips) differ, firing rate \(tr.firingRate)")
        }
    }

    @Test(arguments: ["a", "b"])
    func floatModelMatchesReference(tag: String) throws {
        let m = try model()
        m.neuron = .none
        let e = try Self.expected.get()
        let (ids, types, mask) = try input(tag)
        let probe = Probe()
        let out = try m.forward(ids: ids, typeIds: types, mask: mask, probe: probe)
        #expect(out.steps == 1)
        #expect(probe.trace.sites.isEmpty)
        let dh = maxDiff(out.hidden.values, e["\(tag).float_hidden"]!.values)
        #expect(dh <= 1e-4)
        #expect(maxDiff(out.logits!, e["\(tag).float_logits"]!.values) <= 1e-4)
    }

    @Test func calibrationOnFirstInputMatchesReference() throws {
        let m = try model(dropAlpha: true)
        #expect(!m.hasCheckpointAlpha)
        #expect(try m.alpha(site: "encoder.layer.0.attention.self.query").isEmpty)
        let e = try Self.expected.get()
        let (ids, types, mask) = try input("a")
        let out = try m.forward(ids: ids, typeIds: types, mask: mask)
        #expect(maxDiff(out.hidden.values, e["a.calibrated_hidden"]!.values) <= 1e-4)
        for site in m.siteNames {
            let got = try m.alpha(site: site), want = e["a.calibrated_alpha.\(site)"]!.values
            // 2·mean|m| accumulated in double on both sides: relative agreement ~1e-6.
            #expect(zip(got, want).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }, "α at \(site): \(got) vs \(want)")
        }
        // Frozen after the first input: a second, different input leaves α unchanged.
        let before = try m.alpha(site: "encoder.layer.1.output.dense")
        let (ib, tb, mb) = try input("b")
        _ = try m.forward(ids: ib, typeIds: tb, mask: mb)
        #expect(try m.alpha(site: "encoder.layer.1.output.dense") == before)
    }

    @Test func batchEqualsSingleRows() throws {
        let m = try model()
        let (ia, ta, ma) = try input("a")
        let (ib, tb, mb) = try input("b")
        let batch = try m.forwardBatch(ids: [ia, ib], typeIds: [ta, tb], masks: [ma, mb])
        let single = try m.forward(ids: ib, typeIds: tb, mask: mb)
        #expect(batch.count == 2)
        #expect(batch[1].hidden.values == single.hidden.values)
    }

    @Test func changingStepsRecalibratesAndRestoresCheckpointAlpha() throws {
        let m = try model()
        let site = "encoder.layer.0.intermediate.dense"
        let ckpt = try m.alpha(site: site)
        m.steps = 1
        #expect(try m.alpha(site: site).isEmpty)
        let (ids, types, mask) = try input("a")
        let probe = Probe()
        _ = try m.forward(ids: ids, typeIds: types, mask: mask, probe: probe)
        #expect(try m.alpha(site: site).count == 1)
        #expect(probe.trace[site]!.layout == [1, ids.count])
        m.steps = 4
        #expect(try m.alpha(site: site) == ckpt)
    }
}
