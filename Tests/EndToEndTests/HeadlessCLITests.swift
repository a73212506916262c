// End-to-end tests of the headless CLI: the built binary is run as a user would run it from a
// script. Bad input must give a non-zero exit and exactly one line on stderr naming the file;
// a SpikeGPT .pth and its safetensors copy must print identical JSON.
import Foundation
import Testing

enum CLI {
    /// Runs spikescope with `args`; returns (status, stdout, stderr). A run still going after
    /// `timeout` seconds is killed and reported as status -1 (a hang fails, it does not stall).
    static func run(_ args: [String], timeout: Double = 120) throws -> (Int32, String, String) {
        let r = try HostileCLI.run(args, timeout: timeout)
        return (r.hung ? -1 : r.status, r.out, r.err)
    }

    static func fixture(_ rel: String) -> String { Harness.packageRoot.appendingPathComponent("Tests/" + rel).path }
}

@Suite struct HeadlessCLITests {
    @Test func pthAndSafetensorsCopyPrintIdenticalJSON() throws {
        let a = try CLI.run(["inspect", "--model", CLI.fixture("FormatsTests/Fixtures/spikegpt_tiny.pth"), "--tokens", "1,2,3,4,5"])
        let b = try CLI.run(["inspect", "--model", CLI.fixture("FormatsTests/Fixtures/spikegpt_tiny.safetensors"), "--tokens", "1,2,3,4,5"])
        #expect(a.0 == 0 && b.0 == 0, "stderr: \(a.2) \(b.2)")
        #expect(!a.1.isEmpty && a.1 == b.1)
        let obj = try JSONSerialization.jsonObject(with: Data(a.1.utf8)) as! [String: Any]
        for key in ["model", "input", "steps", "logits", "hidden", "sites", "energy"] { #expect(obj[key] != nil, "missing \(key)") }
        let site = (obj["sites"] as! [[String: Any]])[0]
        for key in ["name", "neuron", "firing_rate", "membrane", "spikes"] { #expect(site[key] != nil, "site missing \(key)") }
        #expect(site["name"] as? String == "blocks.0.att.lif")
    }

    @Test func noTracesDropsThePerStepArrays() throws {
        let r = try CLI.run(["inspect", "--model", CLI.fixture("ModelsTests/Fixtures/spikegpt/tiny.safetensors"), "--prompt", "abc", "--no-traces"])
        #expect(r.0 == 0, "\(r.2)")
        let site = ((try JSONSerialization.jsonObject(with: Data(r.1.utf8)) as! [String: Any])["sites"] as! [[String: Any]])[0]
        #expect(site["membrane"] == nil && site["spikes"] == nil && site["firing_rate"] != nil)
    }

    @Test func generateTracesPromptAndContinuation() throws {
        // Greedy: the runner picks each token; the traced pass over prompt + continuation must
        // agree with it (argmax of the logits one step earlier), match the prompt-only run on the
        // prompt's positions, and trace every token at every site.
        let model = CLI.fixture("ModelsTests/Fixtures/spikegpt/tiny.safetensors")
        let gen = try CLI.run(["inspect", "--model", model, "--prompt", "abc", "--generate", "6"])
        let plain = try CLI.run(["inspect", "--model", model, "--prompt", "abc"])
        #expect(gen.0 == 0 && plain.0 == 0, "\(gen.2) \(plain.2)")
        let g = try JSONSerialization.jsonObject(with: Data(gen.1.utf8)) as! [String: Any]
        let p = try JSONSerialization.jsonObject(with: Data(plain.1.utf8)) as! [String: Any]
        let prompt = (g["input"] as! [String: Any])["tokens"] as! [Int]
        let cont = (g["generated"] as! [String: Any])["tokens"] as! [Int]
        #expect(cont.count == 6)
        #expect(g["steps"] as? Int == prompt.count + 6)
        let logits = g["logits"] as! [[Double]], plainLogits = p["logits"] as! [[Double]]
        #expect(logits.count == prompt.count + 6)
        for i in 0..<prompt.count { #expect(logits[i] == plainLogits[i], "prompt position \(i)") }
        for (i, tok) in cont.enumerated() {
            let row = logits[prompt.count - 1 + i]
            #expect(row.indices.max(by: { row[$0] < row[$1] }) == tok, "continuation token \(i)")
        }
        for site in g["sites"] as! [[String: Any]] {
            #expect((site["spikes"] as? [[Double]])?.count == prompt.count + 6, "\(site["name"] ?? "?")")
        }
    }

    /// Every bad file: non-zero exit, one line on stderr that names the file, nothing on stdout.
    @Test(arguments: ["deflated.pth", "legacy.pth", "malicious.pth", "missing_pkl.pth", "GARBAGE", "EMPTY", "TRUNCATED"])
    func badCheckpointsGiveOneClearLine(name: String) throws {
        var path = CLI.fixture("FormatsTests/Fixtures/" + name)
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(name)-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        switch name {
        case "GARBAGE": try Data("this is not a checkpoint at all".utf8).write(to: URL(fileURLWithPath: tmp)); path = tmp
        case "EMPTY": try Data().write(to: URL(fileURLWithPath: tmp)); path = tmp
        case "TRUNCATED":
            let full = try Data(contentsOf: URL(fileURLWithPath: CLI.fixture("ModelsTests/Fixtures/spikegpt/tiny.safetensors")))
            try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: tmp)); path = tmp
        default: break
        }
        let r = try CLI.run(["inspect", "--model", path, "--tokens", "1"])
        #expect(r.0 != 0)
        #expect(r.1.isEmpty)
        let lines = r.2.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(r.2)")
        #expect(r.2.contains(URL(fileURLWithPath: path).lastPathComponent), "stderr does not name the file: \(r.2)")
        if name == "malicious.pth" { #expect(r.2.contains("posix") || r.2.contains("system")) }
    }

    @Test func badFlagsAreRejectedWithTheValueAndTheFlag() throws {
        let r = try CLI.run(["inspect", "--model", CLI.fixture("ModelsTests/Fixtures/spikegpt/tiny.safetensors"), "--neuron", "banana"])
        #expect(r.0 != 0)
        #expect(r.2.contains("banana") && r.2.contains("--neuron"))
        let t = try CLI.run(["inspect", "--model", CLI.fixture("ModelsTests/Fixtures/spikegpt/tiny.safetensors"), "--tokens", "1,x"])
        #expect(t.0 != 0 && t.2.contains("'x'"))
    }

    @Test func tokenizePrintsIdsTokensAndOffsets() throws {
        let r = try CLI.run(["tokenize", "--tokenizer", CLI.fixture("ModelsTests/Fixtures/spikegpt/tiny.vocab.json"), "--text", "abc", "--json"])
        #expect(r.0 == 0, "\(r.2)")
        let obj = try JSONSerialization.jsonObject(with: Data(r.1.utf8)) as! [String: Any]
        #expect(obj["ids"] as? [Int] == [1, 2, 3])
        #expect(obj["tokens"] as? [String] == ["a", "b", "c"])
    }

    @Test func gifInspectReportsExactBitsAndDivergence() throws {
        let r = try CLI.run(["inspect", "--model", CLI.fixture("ModelsTests/Fixtures/spikegpt/tiny.safetensors"), "--prompt", "the spiking neuron",
                             "--neuron", "gif", "--abits", "3", "--addbit", "2", "--low-p", "0.75", "--no-traces"])
        #expect(r.0 == 0, "\(r.2)")
        let obj = try JSONSerialization.jsonObject(with: Data(r.1.utf8)) as! [String: Any]
        let gif = obj["gif"] as! [String: Double]
        #expect(gif["abits"] == 3 && gif["addbit"] == 2 && gif["low_p"] == 0.75)
        #expect(gif["average_bits"]! > 3 && gif["average_bits"]! <= 3 + 2 * 0.25 + 1e-9)
        #expect(gif["kl_to_float"]! >= 0)
        let sites = (obj["sites"] as! [[String: Any]]).filter { $0["neuron"] as? String == "gif" }
        #expect(sites.count == 14)
        #expect(sites.allSatisfy { $0["bits_per_activation"] != nil && $0["levels"] as? Int == 8 && $0["salient"] is [Int] })
    }

    /// A LLaMA folder (HF layout, bf16 shards) through inspect and eval: SpikeLLM's sites named
    /// after the projections with their salient channels; perplexity equal to HF's on the text the
    /// reference scored; SpikeLLM flags refused where they do not apply.
    @Test func llamaInspectAndEval() throws {
        let folder = CLI.fixture("ModelsTests/Fixtures/llama/llama-tiny")
        let r = try CLI.run(["inspect", "--model", folder, "--prompt", "The quick brown fox", "--neuron", "gif", "--wbits", "4", "--no-traces"])
        #expect(r.0 == 0, "\(r.2)")
        let obj = try JSONSerialization.jsonObject(with: Data(r.1.utf8)) as! [String: Any]
        #expect((obj["model"] as? [String: Any])?["arch"] as? String == "llama")
        let sites = obj["sites"] as! [[String: Any]]
        #expect(sites.count == 14 && sites[0]["name"] as? String == "model.layers.0.self_attn.q_proj")
        #expect(sites.allSatisfy { ($0["salient"] as? [Int])?.isEmpty == false && $0["uncarried"] is Int })
        let tokens = (obj["input"] as! [String: Any])["tokens"] as! [Int]
        #expect(sites.allSatisfy { ($0["token_scale"] as? [Double])?.count == tokens.count && $0["layout"] as? [Int] == [2, tokens.count] })
        #expect((obj["gif"] as? [String: Double])?["wbits"] == 4)

        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: CLI.fixture("ModelsTests/Fixtures/llama/expected.json")))) as! [String: Any]
        let ppl = (expected["llama"] as! [String: Any])["perplexity"] as! [String: Any]
        let text = FileManager.default.temporaryDirectory.appendingPathComponent("ppl-\(getpid()).txt")
        try (ppl["text"] as! String).write(to: text, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: text) }
        let e = try CLI.run(["eval", "--model", folder, "--text", text.path, "--json"])
        #expect(e.0 == 0, "\(e.2)")
        let ev = try JSONSerialization.jsonObject(with: Data(e.1.utf8)) as! [String: Any]
        #expect(ev["tokens"] as? Int == (ppl["ids"] as! [Int]).count - 1)
        #expect(abs((ev["mean_nll"] as! Double) - (ppl["nll"] as! Double)) < 1e-4)
        let g = try CLI.run(["eval", "--model", folder, "--text", text.path, "--neuron", "gif", "--abits", "2", "--addbit", "0", "--low-p", "1"])
        let gv = try JSONSerialization.jsonObject(with: Data(g.1.utf8)) as! [String: Any]
        #expect(gv["average_bits"] as? Double == 2)
        #expect((gv["mean_nll"] as! Double) > (ev["mean_nll"] as! Double))  // 2-bit activations lose information

        let w = try CLI.run(["inspect", "--model", CLI.fixture("ModelsTests/Fixtures/spikegpt/tiny.safetensors"), "--neuron", "gif", "--wbits", "4"])
        #expect(w.0 != 0 && w.2.contains("--wbits") && w.2.contains("LLaMA"))
        let a = try CLI.run(["inspect", "--model", folder, "--abits", "1"])
        #expect(a.0 != 0 && a.2.contains("--abits"))
        let t = try CLI.run(["eval", "--model", CLI.fixture("ModelsTests/Fixtures/spikebert/weights.safetensors"), "--text", text.path])
        #expect(t.0 != 0 && t.2.contains("perplexity"))
    }
}
