// `spikescope bench generate`: batch-1 greedy SpikeGPT generation speed with the fast recurrent
// runner (SpikeGPTRunner), set against this machine's memory-bandwidth limit and, with
// --reference-torch, against the official PyTorch recurrent code on the same weights (issue 9).
// What it is not: a quality benchmark — the default model is random (the 46M char model's shape).
//
// Figures: tokens_per_s = N / (time of the N generated steps), best of --repeats runs after a
// warm-up; bytes_per_token = weight bytes the matrix-vector products read per token (dense, or with
// the measured ReLU² density when --sparse-ffn); bandwidth_limit_tokens_per_s = measured streaming
// read bandwidth / bytes_per_token (no run that reads every weight once per token can beat it);
// fraction_of_own_limit_paired = the median over repeats of that fraction with a 256 MB probe run
// just before each repeat (the probe and the run at the same moment of a noisy shared machine).

import ArgumentParser
import Foundation
import Neurons
import Training
import Workbench
import Engine
import Formats
import Models

public struct BenchGenerate: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Batch-1 generation speed (tokens/s) vs the memory-bandwidth limit; JSON.",
        discussion: "Without --model: a random 12-layer, 512-wide, 77-symbol SpikeGPT (seed 46). --all runs f32, f32+sparse, bf16, bf16+sparse.")

    @Option(help: "Weights of a model that generates (SpikeGPT file, LLaMA folder, ...); default: a random 12×512, vocabulary 77 SpikeGPT.")
    var model: String?
    @Option(help: "Tokens to generate per run (after the prompt).")
    var tokens: Int = 200
    @Option(help: "Weight storage: f32 or bf16.")
    var weights: String = "f32"
    @Flag(name: .customLong("sparse-ffn"), help: "Skip the zeros of ReLU² in ChannelMix's value product.")
    var sparseFFN = false
    @Flag(help: "Run all four settings (f32, f32+sparse, bf16, bf16+sparse).")
    var all = false
    @Option(help: "Threads for the matrix-vector products (1 or 2; default 2 on a machine with two CPUs).")
    var threads: Int = SpikeGPTRunner.defaultThreads
    @Option(name: .customLong("torch-threads"), help: "torch.set_num_threads for the reference (issue 9: 2).")
    var torchThreads: Int = 2
    @Option(help: "Timed runs; the best is reported.")
    var repeats: Int = 3
    @Option(help: "Prompt token ids, comma-separated.")
    var prompt: String = "0,1,2,3"
    @Flag(help: "Print JSON (the only format; accepted for scripts).")
    var json = false
    @Flag(name: .customLong("reference-torch"), help: "Also run the reference (python3) on the same weights: SpikeGPT's official recurrent code, or HF transformers for a LLaMA folder.")
    var referenceTorch = false
    @Option(name: .customLong("torch-repo"), help: "The official SpikeGPT repository: checkout, src folder, or bare git dir.")
    var torchRepo: String?
    @Option(name: .customLong("llama-cpp"), help: "Also time llama.cpp (llama-cpp-python) on this GGUF file of the same weights (LLaMA folders; Tests/Reference/bench_llama_cpp.py).")
    var llamaCpp: String?
    @Option(name: .customLong("torch-script"), help: "Path of bench_spikegpt_torch.py (default: Tests/Reference in the source tree).")
    var torchScript: String?
    @Flag(name: .customLong("bf16-dot"), help: "Bf16 row weights (a LLaMA bf16 checkpoint): activations rounded to bf16 and multiplied with AVX-512 BF16 dot products (vdpbf16ps). Changes the numbers slightly; the report gives the drift and the speed against the default, measured in the same run.")
    var bf16Dot = false
    @Option(help: "Also time the prompt pass (prefill) over this many tokens (ids 0, 1, 2, … modulo the vocabulary); 0: no.")
    var prefill: Int = 0

    public func validate() throws {
        if tokens < 1 { throw ValidationError("--tokens must be ≥ 1, got \(tokens)") }
        if SpikeGPTRunner.WeightFormat(rawValue: weights) == nil {
            throw ValidationError("--weights must be f32 or bf16, got '\(weights)'")
        }
        if !(1...2).contains(threads) { throw ValidationError("--threads must be 1 or 2, got \(threads)") }
        if torchThreads < 1 { throw ValidationError("--torch-threads must be ≥ 1, got \(torchThreads)") }
        if repeats < 1 { throw ValidationError("--repeats must be ≥ 1") }
        if parsePrompt() == nil { throw ValidationError("--prompt must be comma-separated token ids, e.g. 0,1,2, got '\(prompt)'") }
        if prefill < 0 || prefill > 8192 { throw ValidationError("--prefill must be in 0...8192, got \(prefill)") }
        if bf16Dot && !Kernels.bf16DotAvailable {
            throw ValidationError("--bf16-dot needs AVX-512 BF16 (vdpbf16ps), which this CPU lacks (or SPIKESCOPE_NO_AVX512 is set). Hint: leave --bf16-dot out")
        }
    }

    func parsePrompt() -> [Int]? {
        let ids = prompt.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return ids.isEmpty || ids.contains(nil) ? nil : ids.compactMap { $0 }
    }

    public init() {}

    public func run() throws {
        try reportingErrors(prefix: "spikescope bench generate", exitCode: 2) { try execute() }
    }

    /// Bytes of the weight files behind `path` (every shard of a sharded index).
    func weightBytes(_ path: String) -> Int {
        let fm = FileManager.default
        func size(_ p: String) -> Int { ((try? fm.attributesOfItem(atPath: p))?[.size] as? Int) ?? 0 }
        guard path.hasSuffix(".index.json") else { return size(path) }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let shards = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".safetensors") }
        return shards.reduce(0) { $0 + size(dir + "/" + $1) }
    }

    /// Opens --model, or builds the random 46M-shaped model.
    func openModel(_ opened: LoadedModel?) throws -> (SpikeGPT, String) {
        if let model {
            let loaded = try opened ?? ModelLoader.load(path: model)
            guard let gpt = loaded.model as? SpikeGPT else {
                throw CLIError("\(model) is a \(loaded.family.traits.displayName) model; bench generate needs SpikeGPT. Hint: give a SpikeGPT checkpoint")
            }
            return (gpt, loaded.weightsPath)
        }
        // The released 46M char model's shape: 12 layers, C 512, F 2048, 77 symbols, binary embedding.
        let cfg = SpikeGPTConfig(layers: 12, width: 512, vocab: 77, binaryEmbedding: true)
        let gpt = try SpikeGPT(weights: SpikeGPTGraph.initialWeights(cfg, seed: 46), config: cfg)
        return (gpt, "random 12x512 vocab 77 seed 46")
    }

    struct Timing {
        var tokensPerS: Double; var generated: [Int]; var bytesPerToken: Double; var density: Double
        /// Per repeat: tokens/s over (the bandwidth probed just before it / bytes per token); the
        /// median of these is the fraction of the limit with the probe and the run at the same
        /// moment (a shared VM's bandwidth moves by ±40% between minutes).
        var pairedFractions: [Double]
    }

    /// Best-of-`repeats` timing of `tokens` greedy steps after the prompt.
    func time(_ runner: SpikeGPTRunner, prompt: [Int]) throws -> Timing {
        runner.reset()
        _ = try runner.generateGreedy(prompt: prompt, count: 8)     // warm-up (pages, worker thread)
        var best = Double.infinity
        var generated: [Int] = []
        var paired: [Double] = []
        for _ in 0..<repeats {
            let bw = Kernels.measureReadBandwidth(megabytes: 256, threads: threads, repeats: 1)
            runner.reset()
            var greedy = Sampler()
            // The one generation loop; every sampled token is fed, as the timing always did.
            let (out, dt) = try runner.generate(prompt: prompt, count: tokens, sampler: &greedy)
            if dt < best { best = dt; generated = out }
            paired.append(Double(tokens) / dt / (bw / runner.bytesPerToken))
        }
        let density = runner.ffnInputs > 0 ? Double(runner.ffnActive) / Double(runner.ffnInputs) : 1
        return Timing(tokensPerS: Double(tokens) / best, generated: generated, bytesPerToken: runner.bytesPerToken, density: density,
                      pairedFractions: paired)
    }

    /// Logit drift of `test` against `ref` along `ref`'s own greedy path (both fed the same tokens):
    /// max |Δlogit|, mean KL(p_ref ‖ p_test), and how often the two argmaxes agree.
    func drift(ref: SpikeGPTRunner, test: SpikeGPTRunner, prompt: [Int], count: Int) throws -> [String: Any] {
        ref.reset(); test.reset()
        var maxAbs: Float = 0, kl = 0.0, agree = 0, steps = 0
        var feed = prompt
        var i = 0
        while i < feed.count {
            let a = try ref.step(token: feed[i]), b = try test.step(token: feed[i])
            for j in 0..<a.count { maxAbs = max(maxAbs, abs(a[j] - b[j])) }
            kl += Self.kl(a, b)
            if SpikeGPTRunner.argmax(a) == SpikeGPTRunner.argmax(b) { agree += 1 }
            steps += 1
            if i == feed.count - 1 && feed.count < prompt.count + count { feed.append(SpikeGPTRunner.argmax(a)) }
            i += 1
        }
        return ["tokens": steps, "max_abs_logit": Double(maxAbs), "mean_kl": kl / Double(steps),
                "argmax_agreement": Double(agree) / Double(steps)]
    }

    /// KL(softmax(p) ‖ softmax(q)) in nats, in Double.
    static func kl(_ p: UnsafeBufferPointer<Float>, _ q: UnsafeBufferPointer<Float>) -> Double {
        func logSoftmax(_ l: UnsafeBufferPointer<Float>) -> [Double] {
            let m = Double(l.max() ?? 0)
            let z = l.reduce(0.0) { $0 + exp(Double($1) - m) }
            return l.map { Double($0) - m - log(z) }
        }
        let lp = logSoftmax(p), lq = logSoftmax(q)
        var s = 0.0
        for j in lp.indices { s += exp(lp[j]) * (lp[j] - lq[j]) }
        return s
    }

    func execute() throws {
        let autotuned = KernelTuning.calibrateIfUnknown()   // a CPU tuning.c does not know: measure it first
        // Opened once: SpikeGPT goes to its runner, any other generating family to its stepper.
        let loaded = try model.map { try ModelLoader.load(path: $0) }
        if let loaded, !(loaded.model is SpikeGPT) {
            return try executeStepper(loaded, residentAfterOpenKB: ProcessMemory.residentKB(), weightFileBytes: weightBytes(loaded.weightsPath))
        }
        if bf16Dot || prefill > 0 {
            throw CLIError("--bf16-dot and --prefill apply to bf16 row weights read in place (a LLaMA folder given with --model); the SpikeGPT runner packs its bf16 weights into panels. Hint: give --model a LLaMA-family folder")
        }
        let promptIDs = parsePrompt()!
        let (gpt, source) = try openModel(loaded)
        guard promptIDs.allSatisfy({ $0 >= 0 && $0 < gpt.config.vocab }) else {
            throw CLIError("--prompt ids must be in 0..<\(gpt.config.vocab) for this model, got \(promptIDs). Hint: use small ids such as 0,1,2,3")
        }
        let bw1 = Kernels.measureReadBandwidth(threads: 1)
        let bw2 = Kernels.measureReadBandwidth(threads: 2)
        let bandwidth = max(bw1, bw2)

        let settings: [(SpikeGPTRunner.WeightFormat, Bool)] = all
            ? [(.f32, false), (.f32, true), (.bf16, false), (.bf16, true)]
            : [(SpikeGPTRunner.WeightFormat(rawValue: weights)!, sparseFFN)]
        let f32Runner = try SpikeGPTRunner(model: gpt, options: .init(weights: .f32, sparseFFN: false, threads: threads))
        let denseF32Bytes = Double(f32Runner.denseBytesPerToken)
        var results: [[String: Any]] = []
        for (fmt, sparse) in settings {
            let runner = (fmt == .f32 && !sparse) ? f32Runner
                : try SpikeGPTRunner(model: gpt, options: .init(weights: fmt, sparseFFN: sparse, threads: threads))
            let t = try time(runner, prompt: promptIDs)
            let limit = bandwidth / t.bytesPerToken
            var r: [String: Any] = [
                "weights": fmt.rawValue, "sparse_ffn": sparse,
                "tokens_per_s": t.tokensPerS, "ms_per_token": 1000 / t.tokensPerS,
                "bytes_per_token": t.bytesPerToken,
                "bandwidth_limit_tokens_per_s": limit,
                "fraction_of_own_limit": t.tokensPerS / limit,
                "fraction_of_own_limit_paired": t.pairedFractions.sorted()[t.pairedFractions.count / 2],
                "fractions_paired": t.pairedFractions,
                "vs_dense_f32_limit": t.tokensPerS / (bandwidth / denseF32Bytes),
                "relu2_density": t.density,
                "first_tokens": Array(t.generated.prefix(16)),
            ]
            if fmt == .bf16 {
                r["drift_vs_f32"] = try drift(ref: f32Runner, test: runner, prompt: promptIDs, count: tokens)
            }
            results.append(r)
        }

        var report: [String: Any] = [
            "model": source,
            "layers": gpt.config.layers, "width": gpt.config.width, "ffn_width": gpt.config.ffnWidth, "vocab": gpt.config.vocab,
            "tokens": tokens, "prompt": promptIDs, "threads": threads, "repeats": repeats,
            "bandwidth_gb_s": bandwidth / 1e9, "bandwidth_gb_s_1thread": bw1 / 1e9, "bandwidth_gb_s_2threads": bw2 / 1e9,
            "dense_f32_bytes_per_token": denseF32Bytes,
            "dense_f32_limit_tokens_per_s": bandwidth / denseF32Bytes,
            "machine": MachineInfo.current.json, "autotuned": autotuned != nil,
        ]
        if results.count == 1 { for (k, v) in results[0] { report[k] = v } } else { report["settings"] = results }

        if referenceTorch {
            let torch = try runTorch(gpt, prompt: promptIDs)
            let tps = torch["tokens_per_s"] as? Double ?? 0
            report["torch_tokens_per_s"] = tps
            report["torch_ms_per_token"] = torch["ms_per_token"]
            report["torch_version"] = torch["torch_version"]
            report["torch_threads"] = torchThreads
            let ours = results.map { $0["tokens_per_s"] as! Double }.max() ?? 0
            report["ratio"] = tps > 0 ? ours / tps : 0
            if results.count > 1 {
                report["ratios"] = Dictionary(uniqueKeysWithValues: results.map {
                    ("\($0["weights"]!)\(($0["sparse_ffn"] as! Bool) ? "+sparse" : "")", ($0["tokens_per_s"] as! Double) / max(tps, 1e-9))
                })
            }
            if let check = torch["check"] as? [String: Any] { report["torch_logit_check"] = try compareLogits(gpt, check) }
            // Greedy tokens of the official code as released (with its ÷2 rescaling) vs ours (f32).
            if let theirs = torch["tokens"] as? [Int], let mine = results.first?["first_tokens"] as? [Int] {
                report["torch_first_tokens_rescaled"] = Array(theirs.prefix(mine.count))
            }
        }
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: data, as: UTF8.self))
    }

    /// Our f32 logits on the tokens the torch check run fed, against its logits.
    func compareLogits(_ gpt: SpikeGPT, _ check: [String: Any]) throws -> [String: Any] {
        guard let fed = check["tokens"] as? [Int], let logits = check["logits"] as? [[Double]], fed.count == logits.count else {
            throw CLIError("the torch script's check output is malformed (tokens/logits). Hint: run it by hand to see its stderr")
        }
        let runner = try SpikeGPTRunner(model: gpt, options: .init(weights: .f32, threads: threads))
        var maxAbs = 0.0, maxRef = 0.0
        for (t, id) in fed.enumerated() {
            let l = try runner.step(token: id)
            for j in 0..<l.count { maxAbs = max(maxAbs, abs(Double(l[j]) - logits[t][j])); maxRef = max(maxRef, abs(logits[t][j])) }
        }
        return ["steps": fed.count, "max_abs_logit_diff": maxAbs, "max_abs_logit": maxRef,
                "note": "official model_run.py with RWKV_RESCALE_LAYER disabled, fp32"]
    }

    /// Writes the weights to a temporary safetensors file and runs the reference script on them.
    func runTorch(_ gpt: SpikeGPT, prompt: [Int]) throws -> [String: Any] {
        let script = torchScript ?? URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/Reference/bench_spikegpt_torch.py").path
        guard FileManager.default.fileExists(atPath: script) else {
            throw CLIError("the PyTorch reference script is not at \(script). Hint: give --torch-script PATH")
        }
        guard let torchRepo else {
            throw CLIError("--reference-torch needs the official SpikeGPT code. Hint: give --torch-repo (a checkout or bare git dir of ridgerchu/SpikeGPT)")
        }
        guard FileManager.default.fileExists(atPath: torchRepo) else {
            throw CLIError("the official SpikeGPT repository is not at \(torchRepo). Hint: give --torch-repo (a checkout or bare git dir of ridgerchu/SpikeGPT)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spikescope-bench-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("model.safetensors").path
        let list = gpt.weights.keys.sorted().map { (name: $0, tensor: gpt.weights[$0]!) }
        _ = try SafeTensors.write(list, to: file, metadata: ["binary_embedding": gpt.config.binaryEmbedding ? "true" : "false"])

        return try runPython(script, ["--repo", torchRepo, "--weights", file,
                                      "--prompt", prompt.map(String.init).joined(separator: ","),
                                      "--tokens", String(tokens), "--repeats", String(repeats), "--threads", String(torchThreads)],
                             hint: "check that python3 has torch and that --torch-repo is ridgerchu/SpikeGPT")
    }
}
