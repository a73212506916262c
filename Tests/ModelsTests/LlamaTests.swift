// The LLaMA family and SpikeLLM's neuron against HF transformers and our rewrite of the released
// SpikeLLM quantiser (fixtures: Tests/Reference/llama_reference.py).
import Foundation
import Testing
import Engine
import Formats
import Models
import Neurons

private var expected: [String: Any] { try! Fixture.json("llama/expected.json") }

private func load(_ folder: String) throws -> Llama {
    let loaded = try ModelLoader.load(path: Fixture.url("llama/" + folder).path)
    return try #require(loaded.model as? Llama)
}

private func maxAbsDiff(_ a: [[Float]], _ b: [[Float]]) -> Float {
    var d: Float = 0
    for (r, s) in zip(a, b) { for (x, y) in zip(r, s) { d = max(d, abs(x - y)) } }
    return d
}

private func cosine(_ a: [[Float]], _ b: [[Float]]) -> Double {
    var dot = 0.0, na = 0.0, nb = 0.0
    for (r, s) in zip(a, b) { for (x, y) in zip(r, s) { dot += Double(x * y); na += Double(x * x); nb += Double(y * y) } }
    return dot / (na.squareRoot() * nb.squareRoot())
}

@Suite struct LlamaTests {
    @Test(arguments: ["llama", "qwen2"])
    func logitsMatchHFTransformers(_ key: String) throws {
        let fam = expected[key] as! [String: Any]
        let model = try load(fam["folder"] as! String)
        for p in fam["prompts"] as! [[String: Any]] {
            let ids = p["ids"] as! [Int]
            let want = floats2D(p["logits"])
            let run = try model.run(ModelInput(ids: ids), probe: nil)
            #expect(run.logits.count == want.count)
            let d = maxAbsDiff(run.logits, want)
            #expect(d < 1e-3, "\(key) '\(p["text"]!)': max |Δlogit| = \(d)")
        }
    }

    @Test(arguments: ["llama", "qwen2"])
    func kvCacheGenerationMatchesHFGreedy(_ key: String) throws {
        let fam = expected[key] as! [String: Any]
        let model = try load(fam["folder"] as! String)
        for p in fam["prompts"] as! [[String: Any]] {
            let ids = p["ids"] as! [Int], want = p["greedy"] as! [Int]
            let stepper = try #require(try model.tokenStepper(bf16: false))
            var sampler = Sampler(SamplerConfig(temperature: 0, topP: 1, seed: 0))
            let got = try stepper.generate(prompt: ids, count: want.count, sampler: &sampler).tokens
            #expect(got == want, "\(key) '\(p["text"]!)'")
        }
    }

    @Test func cachedStepsEqualTheParallelForm() throws {
        let model = try load("llama-tiny")
        let ids = ((expected["llama"] as! [String: Any])["prompts"] as! [[String: Any]])[0]["ids"] as! [Int]
        let full = try model.run(ModelInput(ids: ids), probe: nil).logits
        let stepper = LlamaStepper(model, probe: nil)
        var steps: [[Float]] = [try stepper.prime([ids[0]])]
        for t in ids.dropFirst() { steps.append(try stepper.nextLogits(after: t)) }
        #expect(maxAbsDiff(full, steps) < 1e-4)
    }

    @Test func bf16ShardedFolderIsUsedFromTheMap() throws {
        let ref = expected["llama_bf16"] as! [String: Any]
        let folder = Fixture.url("llama/" + (ref["folder"] as! String)).path
        #expect(try Checkpoint.resolve(folder).hasSuffix("model.safetensors.index.json"))
        let ws = try Checkpoint.load(folder, keepHalf: true)
        #expect(ws.half.count > 0 && ws.half.values.allSatisfy { $0.dtype == .bf16 })
        let model = try load(ref["folder"] as! String)
        let run = try model.run(ModelInput(ids: ref["ids"] as! [Int]), probe: nil)
        let d = maxAbsDiff(run.logits, floats2D(ref["logits"]))
        #expect(d < 1e-3, "bf16 shards: max |Δlogit| = \(d)")
        // The projections compute from bf16 in place: no Float32 copy of them was made.
        #expect(Set(model.weightStorage.values) == ["bf16"])
    }

    @Test(arguments: ["llama", "qwen2"].flatMap { k in (0..<5).map { (k, $0) } })
    func spikeLLMMatchesTheReleasedQuantiser(_ key: String, _ index: Int) throws {
        let fam = expected[key] as! [String: Any]
        let g = (fam["gif"] as! [[String: Any]])[index]
        let s = g["settings"] as! [String: Any]
        var model = try load(fam["folder"] as! String)
        model.neuron = .gif
        model.spikeLLM = SpikeLLMSettings(abits: s["abits"] as! Int, addbit: s["addbit"] as! Int, lowP: s["low_p"] as! Double,
                                          wbits: s["wbits"] as? Int)
        let ids = g["ids"] as! [Int]  // a prompt whose coded values stay clear of rounding ties
        try model.prepare(for: ModelInput(ids: ids))
        let probe = Probe()
        let run = try model.run(ModelInput(ids: ids), probe: probe)
        let want = floats2D(g["logits"])
        let c = cosine(run.logits, want)
        #expect(c >= 0.999, "\(key) \(s): cosine to the released quantiser \(c)")
        // Salient channels: ≥ 98 % of all per-channel decisions equal.
        let wantSalient = g["salient"] as! [String: [Int]]
        var equal = 0, total = 0
        for (site, channels) in wantSalient {
            let mask = try #require(model.controls.masks?[site])
            let w = Set(channels)
            for j in mask.salient.indices { total += 1; if mask.salient[j] == w.contains(j) { equal += 1 } }
            #expect(probe.trace[site]?.salient == mask.salientChannels)
        }
        #expect(total > 0 && Double(equal) / Double(total) >= 0.98, "\(equal)/\(total) channel decisions equal")
    }

    @Test func gifTraceShowsLevelsPerStepAndTheUncarriedTop() throws {
        var model = try load("llama-tiny")
        model.neuron = .gif
        model.spikeLLM = SpikeLLMSettings(abits: 2, addbit: 1, lowP: 0.5)
        let ids = Array(((expected["llama"] as! [String: Any])["prompts"] as! [[String: Any]])[0]["ids"] as! [Int])
        try model.prepare(for: ModelInput(ids: ids))
        let probe = Probe()
        _ = try model.run(ModelInput(ids: ids), probe: probe)
        let site = try #require(probe.trace["model.layers.0.self_attn.q_proj"])
        #expect(site.layout == [2, ids.count])
        #expect(site.neuron == .gif && site.levels == 4)
        // Every level fired is in 0…L−1, and ordinary channels fire only at step 0.
        #expect(site.spikes.allSatisfy { $0 >= 0 && $0 <= 3 && $0 == $0.rounded() })
        let salient = Set(site.salient), C = site.width
        for r in 0..<ids.count { for j in 0..<C where !salient.contains(j) { #expect(site.spikes[(1 * ids.count + r) * C + j] == 0) } }
        // The top of the 3-bit range (7) needs 7 = 3 + 3 + 1: two steps carry at most 6.
        #expect((site.uncarried ?? -1) >= 0)
        #expect(site.amplitude.count == ids.count)  // the per-token scale
        let total = probe.trace.sites.reduce(0) { $0 + ($1.uncarried ?? 0) }
        #expect(total > 0, "per-token min-max puts each token's maximum at the top level of salient channels")
    }

    @Test func perplexityMatchesHF() throws {
        for key in ["llama", "qwen2"] {
            let fam = expected[key] as! [String: Any]
            let ref = fam["perplexity"] as! [String: Any]
            let model = try load(fam["folder"] as! String)
            let r = try Perplexity.evaluate(model, ids: ref["ids"] as! [Int], window: 256)
            #expect(abs(r.meanNLL - (ref["nll"] as! Double)) < 1e-4, "\(key): NLL \(r.meanNLL) vs \(ref["nll"]!)")
        }
    }

    @Test func quantiserFormulasOnKnownValues() {
        // One token [−1, 0, 0.5, 2] at 2 bits: scale = 3/3 = 1, zp = 1, q = [0, 1, 2 (0.5 → 0, half to even, +1 → 1)…]
        let x: [Float] = [-1, 0, 0.5, 2]
        let coded = x.withUnsafeBufferPointer {
            SpikeLLMQuantizer.code($0.baseAddress!, rows: 1, width: 4, mask: nil, settings: SpikeLLMSettings(abits: 2, addbit: 1, lowP: 1), record: true)
        }
        #expect(coded.decoded == [-1, 0, 0, 2])  // 0.5 rounds to 0 (half to even), as torch.round
        #expect(coded.levels[0..<4] == [0, 1, 1, 3])
        #expect(coded.scales == [1])
        // Salient channel 3 at 3 bits: scale 3/7, q = round(2/(3/7)) + zp = 5 + 2 = 7 → steps 3, 3, residue 1.
        let salient = x.withUnsafeBufferPointer {
            SpikeLLMQuantizer.code($0.baseAddress!, rows: 1, width: 4, mask: [false, false, false, true],
                                   settings: SpikeLLMSettings(abits: 2, addbit: 1, lowP: 0.75), record: true)
        }
        #expect(salient.levels[3] == 3 && salient.levels[4 + 3] == 3)
        #expect(salient.uncarried == 1)
        #expect(abs(salient.decoded[3] - 15.0 / 7) < 1e-5)  // (7 − 2)·3/7
        // Mask: quota ⌊0.5·4⌋ = 2 → the two lowest means are ordinary; quota 0 → all salient.
        #expect(SpikeLLMQuantizer.mask(saliency: [3, -1, 2, 0], lowP: 0.5).salient == [true, false, true, false])
        #expect(SpikeLLMQuantizer.mask(saliency: [3, -1, 2, 0], lowP: 0.1).salient == [true, true, true, true])
    }

    @Test func badFoldersSayWhatIsWrong() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("llama-bad-\(getpid())")
        try? FileManager.default.removeItem(at: tmp)
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let src = Fixture.url("llama/llama-tiny-bf16")
        for f in try FileManager.default.contentsOfDirectory(atPath: src.path) {
            try FileManager.default.copyItem(at: src.appendingPathComponent(f), to: tmp.appendingPathComponent(f))
        }
        // A missing shard names the shard and the tensor.
        try FileManager.default.removeItem(at: tmp.appendingPathComponent("model-00002-of-00002.safetensors"))
        let e1 = try #require(throws: FormatError.self) { _ = try ModelLoader.load(path: tmp.path) }
        #expect("\(e1)".contains("model-00002-of-00002.safetensors"))
        // An unknown rotary scaling is refused by name.
        try FileManager.default.copyItem(at: src.appendingPathComponent("model-00002-of-00002.safetensors"),
                                         to: tmp.appendingPathComponent("model-00002-of-00002.safetensors"))
        var cfg = try String(contentsOf: tmp.appendingPathComponent("config.json"), encoding: .utf8)
        cfg = cfg.replacingOccurrences(of: "\"llama3\"", with: "\"yarn\"")
        try cfg.write(to: tmp.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let e2 = try #require(throws: ModelError.self) { _ = try ModelLoader.load(path: tmp.path) }
        #expect("\(e2)".contains("rope_scaling") && "\(e2)".contains("yarn"))
    }
}
