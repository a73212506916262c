// Issue 18, headless: `inspect --compare-to` and `spikescope sweep` as a script would run them.
import Foundation
import Testing
import TestSupport

@Suite struct CompareCLITests {
    static let tiny = CLI.fixture("ModelsTests/Fixtures/spikegpt/tiny.safetensors")

    /// A saved report as the baseline: per site, the changed cells and the rate change are those
    /// of the two reports' spikes (computed here from both JSONs); an identical rerun has none.
    @Test func compareToASavedReportCountsTheFlippedSpikes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ss-cmp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = dir.appendingPathComponent("b.json").path
        let b = try CLI.run(["inspect", "--model", Self.tiny, "--prompt", "hello spikes", "--k", "2"])
        #expect(b.0 == 0, "\(b.2)")
        try b.1.write(toFile: base, atomically: true, encoding: .utf8)
        let a = try CLI.run(["inspect", "--model", Self.tiny, "--prompt", "hello spikes", "--k", "2.5", "--compare-to", base])
        #expect(a.0 == 0, "\(a.2)")
        let ja = try JSONSerialization.jsonObject(with: Data(a.1.utf8)) as! [String: Any]
        let jb = try JSONSerialization.jsonObject(with: Data(b.1.utf8)) as! [String: Any]
        let cmp = try #require(ja["compare"] as? [String: Any])
        #expect(ja["compare_to"] as? String == base)
        let sites = try #require(cmp["sites"] as? [[String: Any]])
        let sa = ja["sites"] as! [[String: Any]], sb = jb["sites"] as! [[String: Any]]
        #expect(sites.count == sa.count)
        for (c, (x, y)) in zip(sites, zip(sa, sb)) {
            let fx = (x["spikes"] as! [[Double]]).flatMap { $0 }, fy = (y["spikes"] as! [[Double]]).flatMap { $0 }
            #expect(c["changed"] as? Int == zip(fx, fy).filter { $0 != $1 }.count, "\(c["name"] ?? "")")
            let dr = (x["firing_rate"] as! Double) - (y["firing_rate"] as! Double)
            #expect(abs((c["delta_rate"] as! Double) - dr) < 1e-12)
        }
        #expect((cmp["output_kl"] as? Double ?? 0) > 0)
        let same = try CLI.run(["inspect", "--model", Self.tiny, "--prompt", "hello spikes", "--k", "2", "--compare-to", base, "--no-traces"])
        let cs = ((try JSONSerialization.jsonObject(with: Data(same.1.utf8)) as! [String: Any])["compare"] as! [String: Any])
        #expect((cs["sites"] as! [[String: Any]]).allSatisfy { $0["changed"] as? Int == 0 && $0["cosine"] as? Double == 1 })
        #expect(cs["output_kl"] as? Double == 0 && cs["first_divergent_site"] == nil)
        // A baseline written without traces is refused, naming the file and the site.
        let bare = dir.appendingPathComponent("bare.json").path
        try (try CLI.run(["inspect", "--model", Self.tiny, "--prompt", "hello", "--no-traces"])).1.write(toFile: bare, atomically: true, encoding: .utf8)
        let bad = try CLI.run(["inspect", "--model", Self.tiny, "--prompt", "hello", "--compare-to", bare])
        #expect(bad.0 != 0 && bad.2.contains(bare) && bad.2.contains("--no-traces"), "\(bad.2)")
    }

    /// `sweep --k` on the default model: the firing rate falls (weakly) with k at every LIF site,
    /// and the baseline comparison is against the float twin.
    @Test func sweepOfKOnTheDefaultModelIsMonotonic() throws {
        let r = try CLI.run(["sweep", "--k", "0.5:4:8", "--json"])
        #expect(r.0 == 0, "\(r.2)")
        let obj = try JSONSerialization.jsonObject(with: Data(r.1.utf8)) as! [String: Any]
        let rows = try #require(obj["rows"] as? [[String: Any]])
        #expect(rows.count == 8 && obj["control"] as? String == "k" && obj["neuron"] as? String == "lif")
        let values = rows.map { $0["value"] as! Double }
        #expect(abs(values[0] - 0.5) < 1e-9 && abs(values[7] - 4) < 1e-9)
        let names = (rows[0]["sites"] as! [[String: Any]]).map { $0["name"] as! String }
        #expect(names.count == 8 && names.allSatisfy { $0.hasSuffix(".lif") })
        for (i, name) in names.enumerated() {
            let rates = rows.map { (($0["sites"] as! [[String: Any]])[i])["rate"] as! Double }
            #expect(zip(rates, rates.dropFirst()).allSatisfy { $0 >= $1 }, "\(name): \(rates)")
            #expect(rates.first! > rates.last!, "\(name) did not respond to k: \(rates)")
        }
        #expect(rows.allSatisfy { ($0["output_kl_vs_float"] as? Double ?? -1) > 0 && ($0["dense_pj"] as? Double ?? 0) > 0 })
        let bad = try CLI.run(["sweep", "--k", "4:0.5", "--json"])
        #expect(bad.0 != 0 && bad.2.contains("LO:HI:N"), "\(bad.2)")
    }
}

/// Float vs spiking on MiniLM: `--compare-to float`'s per-layer cosine equals the cosine of the
/// streams two plain `inspect --streams` runs print (spiking, and --neuron none).
@Suite struct CompareMiniLMTests {
    @Test func perLayerCosineMatchesTwoInspectRuns() throws {
        let model = try TestData.minilm().path
        let args = ["inspect", "--model", model, "--prompt", "a truly wonderful film", "--no-traces"]
        let spiking = try CLI.run(args + ["--streams"]), float = try CLI.run(args + ["--streams", "--neuron", "none"])
        let cmp = try CLI.run(args + ["--compare-to", "float"])
        #expect(spiking.0 == 0 && float.0 == 0 && cmp.0 == 0, "\(spiking.2) \(float.2) \(cmp.2)")
        func streams(_ out: String) throws -> [[Double]] {
            let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
            return (obj["streams"] as! [[[Double]]]).map { $0.flatMap { $0 } }
        }
        let a = try streams(spiking.1), b = try streams(float.1)
        #expect(a.count == 7 && b.count == 7)  // entering layers 0…5, then leaving layer 5
        let want = (1..<a.count).map { i -> Double in
            let dot = zip(a[i], b[i]).reduce(0) { $0 + $1.0 * $1.1 }
            let na = a[i].reduce(0) { $0 + $1 * $1 }.squareRoot(), nb = b[i].reduce(0) { $0 + $1 * $1 }.squareRoot()
            return dot / (na * nb)
        }
        let got = ((try JSONSerialization.jsonObject(with: Data(cmp.1.utf8)) as! [String: Any])["compare"] as! [String: Any])["layer_cosine"] as! [Double]
        #expect(got.count == 6)
        // The JSON prints floats to ~7 digits: the recomputed cosines agree to 1e-5.
        for (g, w) in zip(got, want) { #expect(abs(g - w) < 1e-5, "\(got) vs \(want)") }
        #expect(got.last! < 0.9, "a converted MiniLM drifts from its float self: \(got)")
    }
}
