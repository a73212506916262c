import Testing
import Foundation
@testable import Workbench
import Models
import Engine
import Neurons
import Formats

/// A digit codec for the tiny SpikeGPT fixture (V = 23): each character's scalar value mod 23.
let tinyCodec = TextCodec(name: "mod23", encode: { text, _ in
    let ids = text.unicodeScalars.map { Int($0.value) % 23 }
    return (ids, [], text.map { String($0) })
}, decode: { ids in ids.map { String($0 % 10) }.joined() })

func tinyModel() throws -> SpikeGPT {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../ModelsTests/Fixtures/spikegpt/tiny.safetensors")
    return try SpikeGPT(weights: Checkpoint.load(url.standardized.path).tensors)
}

@Suite struct WorkbenchTests {
    /// Issue 22: a k change at a later layer reruns from that layer (the model's staged run), shows
    /// the prompt's trace before the continuation, and ends exactly where a from-scratch run on the
    /// same controls ends; moving the site cursor recomputes only the rate-vs-k curve.
    @Test func aControlChangeRerunsFromItsLayerAndEqualsAFullRun() throws {
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("hello spikes"), generate: 6)
        _ = wb.runAndWait()
        wb.apply(.selectSite(2))  // blocks.1.att.lif: layer 1 of 2
        let moved = wb.waitUntilIdle()
        #expect(moved.frequencyCurve.contains { abs(Double($0.k) - Double(moved.k[2])) < 1e-6 && $0.rate == moved.stats[2].firingRate })
        let before = moved.revision
        let unchanged = moved.trace
        wb.apply(.frequency(up: true))
        let s = wb.waitUntilIdle()
        #expect(s.error == nil)
        #expect(s.revision - before >= 2, "the prompt's stage and the complete run each publish")
        #expect(s.firstPublishMillis != nil && s.firstPublishMillis! <= s.computeMillis)
        // Layer 0 as before, layer 1 changed (k up: no more spikes at the changed site).
        #expect(s.trace["blocks.0.att.lif"] == unchanged["blocks.0.att.lif"] || s.generatedIDs != moved.generatedIDs)
        #expect(s.stats[2].firingRate <= moved.stats[2].firingRate || s.generatedIDs != moved.generatedIDs)
        let fresh = Workbench(model: wb.currentModel(), codec: tinyCodec, input: .prompt("hello spikes"), generate: 6)
        fresh.mutate { _, state in state.cursor.site = 2 }
        let full = fresh.runAndWait()
        let same = s.trace == full.trace
        #expect(same && s.generatedIDs == full.generatedIDs && s.stats == full.stats)
        #expect(s.frequencyCurve.map(\.rate) == full.frequencyCurve.map(\.rate))
    }

    /// An edited prompt reruns from the tokens it shares with the last one (the model's staged run)
    /// and ends exactly where a from-scratch run of the new prompt ends.
    @Test func anEditedPromptEqualsAFreshRun() throws {
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("hello spikes"), generate: 4)
        _ = wb.runAndWait()
        wb.apply(.prompt("hello spiking world"))
        let s = wb.waitUntilIdle()
        let fresh = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("hello spiking world"), generate: 4).runAndWait()
        let same = s.trace == fresh.trace
        #expect(same && s.generatedIDs == fresh.generatedIDs && s.stats == fresh.stats && s.error == nil)
    }

    /// Pin and diff (issue 18): pinned at the model's k, lowering k at a layer-1 site moves that
    /// site and nothing upstream — the comparison says Δ = 0 with no changed cell at layer 0,
    /// exactly; `f` pins the float twin; `c` again unpins.
    @Test func pinnedBaselineShowsChangesOnlyDownstream() throws {
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("hello spiking neurons"), generate: 4)
        _ = wb.runAndWait()
        wb.apply(.pinBaseline)
        #expect(wb.snapshot().baseline != nil && wb.snapshot().comparison?.sites.allSatisfy { $0.changed == 0 } == true)
        wb.apply(.selectSite(2))  // blocks.1.att.lif
        _ = wb.waitUntilIdle()
        for _ in 0..<3 { wb.apply(.frequency(up: false)) }
        let s = wb.waitUntilIdle()
        let cmp = try #require(s.comparison)
        for c in cmp.sites where c.name.hasPrefix("blocks.0.") { #expect(c.deltaRate == 0 && c.changed == 0 && c.cosine == 1, "\(c)") }
        let at = try #require(cmp.sites.first { $0.name == "blocks.1.att.lif" })
        #expect(at.changed > 0 && at.deltaRate > 0, "\(at)")
        // The most moved site first in the ranking; the output compared on the sampled rows.
        let worst = cmp.sites.max { ($0.relativeError ?? -1) < ($1.relativeError ?? -1) }!
        #expect(cmp.ranking.first == worst.name && Set(cmp.ranking) == Set(cmp.sites.map(\.name)))
        wb.apply(.pinFloat)
        let f = wb.waitUntilIdle()
        #expect(f.baseline?.label == "float twin" && (f.comparison?.sites.first?.rateB ?? 1) == 0, "\(f.status)")
        // Against the float twin (every row's logits) the staged run's 4 sampled rows are compared.
        #expect((f.comparison?.outputKL ?? 0) > 0 && f.comparison?.top1Agreement != nil)
        wb.apply(.pinBaseline)
        #expect(wb.snapshot().baseline == nil && wb.snapshot().comparison == nil)
    }

    /// The logit lens (t): one row per layer; after the last layer it is the model's own next-token
    /// prediction at the cursor token; with B pinned, B's column is there too.
    @Test func logitLensEndsWithTheModelsPrediction() throws {
        let model = try tinyModel()
        let wb = Workbench(model: model, codec: tinyCodec, input: .prompt("hello spiking neurons"), generate: 3)
        let s0 = wb.runAndWait()
        wb.apply(.pinBaseline)
        wb.apply(.token(4))
        wb.apply(.logitLens)
        let s = wb.waitUntilIdle()
        let lens = try #require(s.lens, "\(s.status)")
        #expect(lens.token == 4 && lens.layers.count == 2 && lens.layers.allSatisfy { $0.a.count == 5 && $0.b == $0.a })
        let logits = try model.run(ModelInput(ids: s0.ids + s0.generatedIDs), probe: nil).logits[4]
        let best = logits.indices.max { logits[$0] < logits[$1] }!
        #expect(lens.layers.last!.a.first == tinyCodec.decode([best]))
    }

    /// `w`: the sweep of k on the tokens on screen against the float twin, one row per value, the
    /// first site's rate falling with k (nothing upstream of it changes).
    @Test func sweepKeyTabulatesKAgainstFloat() throws {
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("hello spiking neurons"), generate: 2)
        _ = wb.runAndWait()
        wb.apply(.sweep)
        let s = wb.waitUntilIdle()
        let r = try #require(s.sweep, "\(s.status)")
        #expect(r.control == "k" && r.rows.map(\.value) == Sweep.grid(0.5, 4, 8, integer: false) && r.tokens == s.ids.count + s.generatedCount)
        let first = r.rows.map { $0.sites[0].rate }
        #expect(zip(first, first.dropFirst()).allSatisfy { $0 >= $1 } && first.first! > first.last!, "\(first)")
        #expect(r.rows.allSatisfy { ($0.outputKL ?? 0) > 0 && $0.pj > 0 && $0.densePJ > 0 })
        wb.closeSweep()
        #expect(wb.snapshot().sweep == nil)
    }

    /// k and the threshold on a neuron that has neither (GIF, or none) recompute nothing and say why.
    @Test func controlsThatDoNothingDoNotRerun() throws {
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("hello"), generate: 2)
        wb.apply(.neuron(.gif))
        let before = wb.runAndWait()
        #expect(before.error == nil && before.neuron == .gif)
        wb.apply(.frequency(up: true))
        wb.apply(.threshold(up: true))
        let after = wb.waitUntilIdle()
        #expect(after.revision == before.revision, "nothing changed, nothing recomputed")
        #expect(after.status.contains("no frequency control"), "\(after.status)")
        #expect(after.k == before.k)
    }

    @Test func runProducesTraceStatsAndEnergy() throws {
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("hello spikes"), generate: 4)
        let s = wb.runAndWait()
        #expect(s.error == nil)
        #expect(s.trace.sites.count == 4 && s.stats.count == 4)
        #expect(s.tokenCount == 12 + 4)
        #expect(s.trace.sites[0].steps == 16)
        #expect(s.stats.allSatisfy { $0.firingRate >= 0 && $0.firingRate <= 1 })
        #expect(s.energy.mac > 0 && s.energy.ac > 0)
        #expect(s.frequencyCurve.count == 5)
        // The curve must fall (weakly) as k grows: a higher threshold cannot fire more on the same input
        // at the first site (nothing upstream changes).
        let rates = s.frequencyCurve.map(\.rate)
        #expect(zip(rates, rates.dropFirst()).allSatisfy { $0 >= $1 })
    }

    /// GIF on a token-stepped model with generation: the trace's sites are exactly the model's
    /// site names (no pass-through slots shifting the labels), each one [sub-steps, every token]
    /// (it was [S, 1]: a blank raster and a one-column heatmap); GIF (SpikeLLM's neuron) has no
    /// frequency control, so no "rate vs k" curve is computed for it.
    @Test func gifOnAGeneratingModelTracesWholeSites() throws {
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("hello spikes"), generate: 5)
        _ = wb.runAndWait()
        wb.apply(.neuron(.gif))
        let s = wb.runAndWait()
        #expect(s.neuron == .gif)
        #expect(s.trace.sites.map(\.name) == s.siteNames)
        #expect(s.stats.map(\.name) == s.siteNames)
        let tokens = s.ids.count + s.generatedCount
        for site in s.trace.sites {
            #expect(site.layout.count == 2 && site.layout[1] == tokens, "\(site.name) layout \(site.layout)")
            #expect(site.steps == site.layout[0] * site.layout[1])
        }
        #expect(s.frequencyCurve.isEmpty)
        #expect(s.stats.allSatisfy { $0.firingRate > 0 })
    }

    /// "rate vs k" at the current k is the rate the site list shows: both over prompt + continuation
    /// (the curve used the prompt only: 0.15 vs 0.167).
    @Test func rateVsKAtTheCurrentKIsTheShownRate() throws {
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("hello spikes"), generate: 6)
        let s = wb.runAndWait()
        #expect(s.generatedCount == 6 && s.frequencyCurve.count == 5)
        let atK = try #require(s.frequencyCurve.first { abs($0.k - s.k[s.cursor.site]) < 1e-6 })
        #expect(abs(atK.rate - s.stats[s.cursor.site].firingRate) < 1e-9, "curve \(atK.rate) vs shown \(s.stats[s.cursor.site].firingRate)")
    }

    /// SpikeGPT's energy by hand: ACs = Σ over sites of spikes × the fan-out of the layers they
    /// feed (att.lif → ffn key + receptance: F + C; ffn.lif → next block's key/value/receptance: 3C,
    /// or the head: V) + one residual add per spike; dense = the float model (every linear a MAC
    /// per token); and raising k lowers pJ on the default model.
    @Test func spikeGPTEnergyIsSpikesTimesFanOut() throws {
        let model = try tinyModel()
        let wb = Workbench(model: model, codec: tinyCodec, input: .prompt("energy by hand"))
        let s = wb.runAndWait()
        let C = model.config.width, F = model.config.ffnWidth, V = model.config.vocab, L = model.config.layers
        var ac = 0.0
        for site in s.trace.sites {
            let nnz = Double(site.spikes.filter { $0 != 0 }.count)
            let block = Int(site.name.split(separator: ".")[1])!
            let fanOut = site.name.hasSuffix("att.lif") ? F + C : (block == L - 1 ? V : 3 * C)
            ac += nnz * Double(fanOut) + nnz
        }
        #expect(s.energy.ac == ac)
        let T = Double(s.ids.count)
        let perToken = Double(L * (4 * C * C + C * F + C * C + F * C) + C * V)
        #expect(s.energy.denseMAC == T * perToken)
        #expect(s.energy.pj < s.energy.densePJ)

        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/spikescope/Resources/default/spikegpt-char.safetensors").standardized.path
        let big = try SpikeGPT(weights: Checkpoint.load(url).tensors)
        var pj: [Double] = []
        for k in [1, 2, 4] as [Float] {
            var m = big
            m.setFrequency(k, site: nil)
            let w = Workbench(model: m, codec: tinyCodec, input: .prompt("the spiking neuron fires"))
            pj.append(w.runAndWait().energy.pj)
        }
        #expect(pj[0] > pj[1] && pj[1] > pj[2], "\(pj)")
    }

    @Test func raisingKLowersTheSelectedSiteFiringRate() throws {
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("0123456789abcdef"))
        let before = wb.runAndWait()
        for _ in 0..<4 { wb.apply(.frequency(up: true)) }
        let after = wb.runAndWait()
        #expect(after.k[0] > before.k[0] * 2.3)
        #expect(after.stats[0].firingRate < before.stats[0].firingRate)
        #expect(after.trace.sites[0].k == after.k[0])  // the trace shows the newest control
        #expect(after.k[1] == before.k[1])             // other sites untouched without `a`
    }

    @Test func newestRequestWins() throws {
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("abc"))
        _ = wb.runAndWait()
        wb.apply(.toggleAllSites)
        for i in 0..<30 { wb.apply(.frequency(up: i % 3 != 0)) }
        let s = wb.runAndWait()
        let model = wb.currentModel()
        for (i, name) in s.siteNames.enumerated() {
            #expect(s.trace.sites[i].k == model.frequency(site: name))
        }
    }

    @Test func cursorStaysInRange() throws {
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("abcd"))
        _ = wb.runAndWait()
        wb.apply(.step(100)); #expect(wb.snapshot().cursor.step == 3)
        wb.apply(.step(-100)); #expect(wb.snapshot().cursor.step == 0)
        wb.apply(.site(-5)); #expect(wb.snapshot().cursor.site == 0)
        wb.apply(.site(50)); #expect(wb.snapshot().cursor.site == 3)
    }

    @Test func badInputReportsAnErrorWithoutCrashing() throws {
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt(""))
        let s = wb.runAndWait()
        #expect(s.error?.contains("no tokens") == true)
    }
}

@Suite struct SiteStatisticsTests {
    @Test func countsDirectionsAndFindsAPlantedOutlier() {
        var site = SiteTrace(name: "x", neuron: .elastic, width: 50)
        var rng = SeededRNG(seed: 3)
        for _ in 0..<10 {
            for c in 0..<50 {
                let v = c == 17 ? 40 + rng.nextNormal() : rng.nextNormal()
                site.membrane.append(v); site.current.append(v)
                site.spikes.append(v > 1 ? 1 : (v < -1 ? -1 : 0))
            }
        }
        let st = SiteStatistics(site)
        #expect(st.outliers.first?.channel == 17)
        #expect(st.outliers.count == 1)
        let pos = Double(site.spikes.filter { $0 > 0 }.count) / 500, neg = Double(site.spikes.filter { $0 < 0 }.count) / 500
        #expect(abs(st.positiveFraction - pos) < 1e-12 && abs(st.negativeFraction - neg) < 1e-12)
        #expect(st.histogram.reduce(0, +) == 500)
        #expect(st.membraneMax >= 39)
    }

    /// Per token: a [T, L] site averages each token's T rows; a [tokens] site is its per-step rate.
    @Test func firingRatePerTokenAveragesTheTimestepsOfEachToken() {
        // T = 2, L = 3, C = 2: rows τ·L + token.
        var site = SiteTrace(name: "x", neuron: .elastic, width: 2, layout: [2, 3])
        site.spikes = [1, 0,  0, 0,  -1, 1,    // τ 0: tokens 0, 1, 2
                       1, 1,  0, 1,   0, 0]    // τ 1
        site.membrane = site.spikes
        // token 0: 3 of 4 cells, token 1: 1 of 4, token 2: 2 of 4.
        #expect(SiteStatistics(site).firingRatePerToken == [0.75, 0.25, 0.5])
        var flat = SiteTrace(name: "y", neuron: .lif, width: 2)
        flat.spikes = [1, 0, 1, 1, 0, 0]; flat.membrane = flat.spikes
        let st = SiteStatistics(flat)
        #expect(st.firingRatePerToken == [0.5, 1, 0] && st.firingRatePerToken == st.firingRatePerStep)
    }
}

@Suite struct EnergyTests {
    @Test func countsACsFromSpikesAndMACsFromDenseInputs() {
        var site = SiteTrace(name: "s", neuron: .elastic, width: 4)
        site.spikes = [1, 0, 0, -1, 0, 0, 1, 0]   // 2 rows, 3 nonzeros
        site.membrane = site.spikes
        let trace = Trace(sites: [site])
        let e = Energy.estimate(uses: [LinearUse(name: "a", inputSite: "s", inFeatures: 4, outFeatures: 10),
                                       LinearUse(name: "b", inputSite: nil, inFeatures: 4, outFeatures: 5)],
                                trace: trace, rows: 2)
        #expect(e.ac == 30)                 // 3 spikes × 10 outputs
        #expect(e.mac == 2 * 10 + 2 * 4 * 5) // α scaling per row + the dense layer
        #expect(abs(e.pj - (4.6 * e.mac + 0.9 * e.ac)) < 1e-9)
    }
}

@Suite struct SessionTests {
    @Test func saveThenRestoreGivesTheSameControlsInputAndView() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ss-session-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("first prompt"), modelPath: "/m/tiny.safetensors")
        _ = wb.runAndWait()
        wb.apply(.site(2)); wb.apply(.frequency(up: true)); wb.apply(.frequency(up: true))
        wb.apply(.threshold(up: true)); wb.apply(.step(5)); wb.apply(.prompt("second prompt, longer"))
        let s = wb.runAndWait()
        let path = try SessionFile(state: s, tokenizer: "/m/tiny.vocab.json", glueFile: nil, notes: "n").save(in: dir)
        #expect(FileManager.default.fileExists(atPath: path))
        // No temp files left behind by the atomic write.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["session.json"])

        let loaded = try SessionFile.load(from: dir)
        let wb2 = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("other"))
        loaded.apply(to: wb2)
        let r = wb2.runAndWait()
        #expect(r.input == s.input)
        #expect(r.k == s.k)
        #expect(r.thresholdScale == s.thresholdScale)
        #expect(r.cursor == s.cursor)
        #expect(r.trace == s.trace)  // same controls, same input → the same spikes and membranes
        #expect(loaded.tokenizer == "/m/tiny.vocab.json" && loaded.model == "/m/tiny.safetensors")
    }

    /// A pinned baseline is saved as the controls that make it (not its traces) and pinned again
    /// on restore: the reopened workbench compares exactly as the saved one did — both for a
    /// pinned run and for the float twin.
    @Test func thePinnedBaselineIsSavedAndRepinned() throws {
        for float in [false, true] {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ss-session-b-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("pin me please"), modelPath: "/m/tiny.safetensors")
            _ = wb.runAndWait()
            wb.apply(float ? .pinFloat : .pinBaseline)
            _ = wb.waitUntilIdle()
            wb.apply(.selectSite(1)); _ = wb.waitUntilIdle()
            wb.apply(.frequency(up: false)); wb.apply(.frequency(up: false))
            let s = wb.waitUntilIdle()
            let cmp = try #require(s.comparison)
            _ = try SessionFile(state: s, tokenizer: nil, glueFile: nil).save(in: dir)
            let loaded = try SessionFile.load(from: dir)
            #expect(loaded.baseline?.float == float && loaded.baseline?.label == s.baseline?.label)
            let wb2 = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("other"))
            loaded.apply(to: wb2)
            _ = wb2.waitUntilIdle()
            let r = wb2.waitUntilIdle()
            #expect(r.baseline?.label == s.baseline?.label, "\(r.status)")
            #expect(r.comparison == cmp, "float \(float)")
        }
    }

    /// Sessions move with their folder: paths inside it are stored relative, the embedded defaults
    /// as "embedded:NAME" (not the build folder), others absolute; keys are plain ("prompt": text).
    /// Sessions written the old way ({"prompt": {"_0": …}}) still load.
    @Test func sessionPathsAreRelativeAndKeysPlain() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ss-portable-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("portable"), modelPath: dir + "/ckpt/model.safetensors")
        let s = wb.runAndWait()
        let embeddedVocab = (DefaultModels.searchFolders.first?.path ?? "/nowhere") + "/spikegpt-char.vocab.json"
        let p = try SessionFile(state: s, tokenizer: embeddedVocab, glueFile: "/data/SST-2/dev.tsv").save(in: dir)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: p))) as? [String: Any])
        #expect(json["model"] as? String == "ckpt/model.safetensors")
        #expect(json["tokenizer"] as? String == "embedded:spikegpt-char.vocab.json")
        #expect(json["glueFile"] as? String == "/data/SST-2/dev.tsv")
        #expect((json["input"] as? [String: Any])?["prompt"] as? String == "portable")
        let back = try SessionFile.load(from: dir)
        #expect(back.model == URL(fileURLWithPath: dir + "/ckpt/model.safetensors").standardizedFileURL.path)
        #expect(back.input == .prompt("portable"))
        // The old synthesized layout.
        let old = String(decoding: try Data(contentsOf: URL(fileURLWithPath: p)), as: UTF8.self)
            .replacingOccurrences(of: #""prompt" : "portable""#, with: #""prompt" : {"_0" : "old"}"#)
        try old.write(toFile: p, atomically: true, encoding: .utf8)
        #expect(try SessionFile.load(from: dir).input == .prompt("old"))
    }

    @Test func brokenSessionFileGivesAClearError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ss-broken-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "{ not json".write(toFile: dir + "/session.json", atomically: true, encoding: .utf8)
        do { _ = try SessionFile.load(from: dir); Issue.record("expected a throw") } catch {
            #expect("\(error)".contains("session.json") && "\(error)".contains("not a valid session file"))
        }
        #expect(throws: (any Error).self) { try SessionFile.load(from: dir + "/missing") }
    }

    @Test func exportWritesJSONAndOneCSVPerSite() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ss-export-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("export me"))
        let s = wb.runAndWait()
        let json = try TraceExport.write(s, model: wb.currentModel(), to: dir)
        let obj = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
        #expect((obj["sites"] as! [Any]).count == 4)
        let csvs = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".csv") }
        #expect(csvs.count == 4)
        let first = try String(contentsOfFile: dir + "/" + csvs.sorted()[0], encoding: .utf8)
        #expect(first.split(separator: "\n").count == 1 + 9 * 16)  // header + steps × neurons
    }

    /// With generation, the exported energy covers the same tokens as its steps (prompt +
    /// continuation): it used to count the prompt only.
    @Test func exportedEnergyCoversTheGeneratedTokens() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ss-export-gen-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("export me"), generate: 4)
        let s = wb.runAndWait()
        let obj = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try TraceExport.write(s, model: wb.currentModel(), to: dir)))) as! [String: Any]
        let energy = try #require(obj["energy"] as? [String: Any])
        #expect(obj["steps"] as? Int == 9 + 4)
        // The staged run kept no per-row logits; the export computes the prompt's (as inspect does).
        let logits = try #require(obj["logits"] as? [[Double]])
        let reference = try wb.currentModel().run(ModelInput(ids: s.ids), probe: nil).logits
        #expect(logits.count == 9 && logits.map { $0.map(Float.init) } == reference)
        #expect(abs((energy["dense_pj"] as? Double ?? 0) - s.energy.densePJ) < 1e-6 * s.energy.densePJ)
        #expect(abs((energy["ac"] as? Double ?? 0) - s.energy.ac) < 1e-9)
    }
}

@Suite struct WorkbenchGIFTests {
    /// `i` to GIF calibrates SpikeLLM's salient channels on the input (the released default:
    /// abits 4, addbit 1, low_p 0.9); `o` switches to uniform abits (low_p 1) and back; +/- do
    /// nothing to GIF (it has no frequency control), the SpikeLLM keys do.
    @Test func cyclingToGIFCalibratesAndTheAllocationToggles() throws {
        let wb = Workbench(model: try tinyModel(), codec: tinyCodec, input: .prompt("the spiking neuron fires"))
        _ = wb.runAndWait()
        wb.apply(.cycleNeuron)  // lif → gif
        let g = wb.runAndWait()
        #expect(g.error == nil, "\(g.error ?? "")")
        #expect(g.neuron == .gif)
        #expect(g.siteNames.count == 14 && g.siteNames[0] == "blocks.0.att.key.gif")
        #expect(abs((g.gifOutlierFraction ?? 0) - 0.1) < 1e-9)
        #expect(g.spikeLLM == SpikeLLMSettings())
        let site = try #require(g.selectedTrace)
        #expect(site.neuron == .gif && site.levels == 16 && site.layout[0] == 2)
        #expect(site.spikes.allSatisfy { $0 >= 0 && $0 <= 15 })
        #expect(!site.salient.isEmpty)
        let salientBits = try #require(site.bitsPerActivation)

        wb.apply(.toggleAllocation)
        let s = wb.runAndWait()
        #expect(s.gifOutlierFraction == 0)
        let uni = try #require(s.selectedTrace)
        #expect(uni.salient.isEmpty && uni.bitsPerActivation == 4 && salientBits > 4)
        wb.apply(.toggleAllocation)
        #expect(abs((wb.runAndWait().gifOutlierFraction ?? 0) - Workbench.saliencyOutlierFraction) < 1e-9)

        wb.apply(.frequency(up: true))
        let k = wb.runAndWait()
        #expect(k.k.allSatisfy { $0 == 2 })
        wb.apply(.spikeLLM(.abits, up: true))
        #expect(wb.runAndWait().selectedTrace?.levels == 32)
        wb.apply(.cycleNeuron)  // gif → none
        #expect(wb.runAndWait().siteNames.count == 4)
    }
}
