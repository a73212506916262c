// `bench generate --model M` for families other than SpikeGPT: batch-1 greedy decoding through the
// family's `tokenStepper` (LLaMA: the KV-cached forward, weights as they lie in the map), against
// the memory-bandwidth limit (weight bytes read per token ÷ measured read bandwidth), with the
// resident memory after opening, and optionally HF transformers on the same folder
// (`--reference-torch`, Tests/Reference/bench_llama_hf.py, fp32, `--torch-threads` threads) and
// llama.cpp on a GGUF of the same weights (`--llama-cpp FILE`, Tests/Reference/bench_llama_cpp.py).

import Foundation
import Formats
import Engine
import Models

extension BenchGenerate {
    func executeStepper(_ loaded: LoadedModel, residentAfterOpenKB: Int, weightFileBytes: Int) throws {
        let m = loaded.model
        guard m.summary.family.generates, try m.tokenStepper(bf16: weights == "bf16") != nil else {
            throw CLIError("\(loaded.family.traits.displayName) has no batch-1 stepper. Hint: bench generate runs models that generate")
        }
        let promptIDs = parsePrompt()!
        guard promptIDs.allSatisfy({ $0 >= 0 && $0 < m.summary.vocab }) else {
            throw CLIError("--prompt ids must be in 0..<\(m.summary.vocab) for this model, got \(promptIDs)")
        }
        let bw = max(Kernels.measureReadBandwidth(threads: 1), Kernels.measureReadBandwidth(threads: 2))
        let prefillIDs = (0..<prefill).map { $0 % m.summary.vocab }
        /// Decoding (best of --repeats after a warm-up) and, with --prefill, the prompt pass, in the
        /// bf16 dot mode or not.
        func run(dot: Bool) throws -> (tps: Double, generated: [Int], prefillS: Double?) {
            Kernels.setBF16DotProducts(dot)
            var best = Double.infinity, generated: [Int] = []
            for r in 0...repeats {  // run 0 warms up (pages, worker thread)
                guard let stepper = try m.tokenStepper(bf16: weights == "bf16") else { break }
                var greedy = Sampler()
                let (out, dt) = try stepper.generate(prompt: promptIDs, count: r == 0 ? 4 : tokens, sampler: &greedy)
                if r > 0, dt < best { best = dt; generated = out }
            }
            var prefillBest: Double? = nil
            if !prefillIDs.isEmpty {
                for _ in 0...repeats {
                    guard let stepper = try m.tokenStepper(bf16: weights == "bf16") else { break }
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    _ = try stepper.prime(prefillIDs)
                    let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
                    prefillBest = min(prefillBest ?? .infinity, dt)
                }
            }
            return (Double(tokens) / best, generated, prefillBest)
        }
        /// Logits along `fed` (the default mode's greedy path) in both modes: the dot mode's drift.
        func drift(_ fed: [Int]) throws -> [String: Any] {
            func logits(dot: Bool) throws -> [[Float]] {
                Kernels.setBF16DotProducts(dot)
                guard let s = try m.tokenStepper(bf16: weights == "bf16") else { return [] }
                return try fed.map { try s.nextLogits(after: $0) }
            }
            let a = try logits(dot: false), b = try logits(dot: true)
            var maxAbs: Float = 0, maxRef: Float = 0, agree = 0
            for (x, y) in zip(a, b) {
                for j in x.indices { maxAbs = max(maxAbs, abs(x[j] - y[j])); maxRef = max(maxRef, abs(x[j])) }
                if x.indices.max(by: { x[$0] < x[$1] }) == y.indices.max(by: { y[$0] < y[$1] }) { agree += 1 }
            }
            return ["steps": a.count, "max_abs_logit": Double(maxAbs), "max_abs_logit_default": Double(maxRef),
                    "argmax_agreement": Double(agree) / Double(max(a.count, 1))]
        }
        let reference = bf16Dot ? try run(dot: false) : nil
        let (tps, generated, prefillS) = try run(dot: bf16Dot)
        var report: [String: Any] = [
            "model": loaded.weightsPath, "family": loaded.family.traits.id,
            "layers": m.summary.layers, "width": m.summary.width, "vocab": m.summary.vocab,
            "tokens": tokens, "prompt": promptIDs, "repeats": repeats,
            "tokens_per_s": tps, "ms_per_token": 1000 / tps, "first_tokens": Array(generated.prefix(16)),
            "bandwidth_gb_s": bw / 1e9,
            "weight_file_bytes": weightFileBytes,
            "resident_after_open_mb": Double(residentAfterOpenKB) / 1024,
            "resident_after_open_vs_files": Double(residentAfterOpenKB) * 1024 / Double(max(weightFileBytes, 1)),
            "resident_after_generate_mb": Double(ProcessMemory.residentKB()) / 1024,
            "bf16_dot": bf16Dot,
        ]
        if let prefillS {
            report["prefill_tokens"] = prefill
            report["prefill_ms"] = prefillS * 1e3
            report["prefill_tokens_per_s"] = Double(prefill) / prefillS
        }
        if let reference {
            var cmp: [String: Any] = ["tokens_per_s": reference.tps, "decode_speedup": tps / reference.tps,
                                      "first_tokens": Array(reference.generated.prefix(16))]
            if let p = reference.prefillS, let q = prefillS {
                cmp["prefill_ms"] = p * 1e3
                cmp["prefill_speedup"] = p / q
            }
            let d = try drift(Array((promptIDs + reference.generated).prefix(promptIDs.count + min(tokens, 32))))
            cmp["drift"] = d
            report["default_mode"] = cmp
            if (d["max_abs_logit"] as? Double) == 0 {   // nothing went through the bf16 row kernels
                let note = "the mode changed nothing: this model has no bf16 row weights (its weights are not stored as bf16)"
                report["bf16_dot_note"] = note
                FileHandle.standardError.write(Data("spikescope bench generate: --bf16-dot: \(note)\n".utf8))
            }
            Kernels.setBF16DotProducts(true)   // the machine block names the path that was timed
        }
        if let b = m.decodeBytesPerToken {
            report["bytes_per_token"] = b
            report["bandwidth_limit_tokens_per_s"] = bw / b
            report["fraction_of_own_limit"] = tps / (bw / b)
        }
        if referenceTorch {
            let hf = try runHF(folder: loaded.weightsPath, prompt: promptIDs)
            let ref = hf["tokens_per_s"] as? Double ?? 0
            report["hf_tokens_per_s"] = ref
            report["hf_threads"] = torchThreads
            report["hf_versions"] = hf["versions"]
            report["hf_first_tokens"] = hf["first_tokens"]
            report["ratio_vs_hf"] = ref > 0 ? tps / ref : 0
        }
        if let gguf = llamaCpp {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Tests/Reference/bench_llama_cpp.py").path
            let r = try runPython(script, ["--gguf", gguf, "--prompt", promptIDs.map(String.init).joined(separator: ","),
                                           "--tokens", String(tokens), "--repeats", String(repeats), "--threads", String(torchThreads)],
                                  hint: "pip install llama-cpp-python, and convert the folder with llama.cpp's convert_hf_to_gguf.py --outtype bf16")
            let ref = r["tokens_per_s"] as? Double ?? 0
            report["llama_cpp_tokens_per_s"] = ref
            report["llama_cpp_version"] = r["version"]
            report["llama_cpp_first_tokens"] = r["first_tokens"]
            report["ratio_vs_llama_cpp"] = ref > 0 ? tps / ref : 0
        }
        report["machine"] = MachineInfo.current.json
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// HF transformers on the same folder: greedy with its KV cache, fp32, `torchThreads` threads.
    func runHF(folder: String, prompt: [Int]) throws -> [String: Any] {
        let script = torchScript ?? URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/Reference/bench_llama_hf.py").path
        guard FileManager.default.fileExists(atPath: script) else {
            throw CLIError("the HF reference script is not at \(script). Hint: give --torch-script PATH")
        }
        let dir = URL(fileURLWithPath: folder).hasDirectoryPath ? folder : URL(fileURLWithPath: folder).deletingLastPathComponent().path
        return try runPython(script, ["--model", dir, "--prompt", prompt.map(String.init).joined(separator: ","),
                                      "--tokens", String(tokens), "--repeats", String(repeats), "--threads", String(torchThreads)])
    }
}
