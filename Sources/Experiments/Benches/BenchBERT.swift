// `spikescope bench bert`: SpikeBERT inference speed (issue 9): sentences/s for one sentence of
// --tokens ids (batch 1) and tokens/s for a --batch × --seq batch, our float run beside a spiking
// run in the same process, and optionally HF transformers (Tests/Reference/bench_bert_hf.py,
// python3 + torch, 2 threads) on the same folder and ids.
// What it is not: a correctness check (SpikeBERTFastTests, SpikeBERTMiniLMTests do that).
// Build with `swift build -c release` first. Timings are the best of --runs after warm-up calls
// (the first call also calibrates α when the checkpoint has none).

import ArgumentParser
import Engine
import Foundation
import Formats
import Training
import Workbench
import Models
import Neurons

public struct BenchBERT: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bert",
        abstract: "Time SpikeBERT forward: batch-1 sentences/s and batched tokens/s (optionally vs HF transformers).",
        discussion: """
            Prints {"sentences_per_s":..,"tokens_per_s":..,"float_sentences_per_s":..,"cost_vs_float":..,...}. \
            Input ids are synthetic ([CLS], ids from a fixed formula, [SEP]); the batch has no padding. \
            With spiking on, a float run (--neuron none) of the same model is timed in the same process and \
            cost_vs_float = float sentences/s ÷ spiking sentences/s. --reference-hf adds hf_sentences_per_s, \
            hf_tokens_per_s and the ratios ours ÷ HF.
            """)

    @Option(help: "A BERT folder (config.json + model.safetensors) or its weights file.")
    var model: String

    @Option(help: "Tokens of the batch-1 sentence (2...512).")
    var tokens = 32

    @Option(help: "A sentence for the batch-1 run instead of synthetic ids, tokenized with the tokenizer beside the model (--tokens is then its length).")
    var text: String?

    @Option(help: "Timesteps T (default: the model's).")
    var timesteps: Int?

    @Option(help: "Neuron at every site: elastic, binary, signed or none (default: the model's).")
    var neuron: String?

    @Option(help: "Sequences in the tokens/s batch (0 skips it).")
    var batch = 32

    @Option(help: "Tokens per sequence in the tokens/s batch.")
    var seq = 128

    @Option(help: "Timed batch-1 runs; the best one is reported (1...1000).")
    var runs = 10

    @Option(help: "Timed batch runs; the best one is reported (1...100).")
    var batchRuns = 2

    @Option(help: "Worker threads for our kernels (default: online CPUs); HF uses the same number.")
    var threads: Int?

    @Flag(help: "Also run HF transformers (python3 Tests/Reference/bench_bert_hf.py) on the same folder.")
    var referenceHf = false

    @Flag(help: "Print only the JSON object (default: JSON plus a summary on stderr).")
    var json = false

    public func validate() throws {
        if let threads, !(1...64).contains(threads) {
            throw ValidationError("The value '\(threads)' is invalid for '--threads <threads>'. Use 1...64, e.g. --threads 2.")
        }
        guard (2...512).contains(tokens) else {
            throw ValidationError("The value '\(tokens)' is invalid for '--tokens <tokens>'. Use 2...512, e.g. --tokens 32.")
        }
        if let timesteps, !(1...64).contains(timesteps) {
            throw ValidationError("The value '\(timesteps)' is invalid for '--timesteps <timesteps>'. Use 1...64, e.g. --timesteps 4.")
        }
        if let neuron, !["elastic", "binary", "signed", "none"].contains(neuron) {
            throw ValidationError("The value '\(neuron)' is invalid for '--neuron <neuron>'. Use elastic, binary, signed or none.")
        }
        guard (0...1024).contains(batch), (2...512).contains(seq) else {
            throw ValidationError("--batch must be 0...1024 and --seq 2...512 (e.g. --batch 32 --seq 128); got \(batch) and \(seq).")
        }
        guard (1...1000).contains(runs), (1...100).contains(batchRuns) else {
            throw ValidationError("--runs must be 1...1000 and --batch-runs 1...100; got \(runs) and \(batchRuns).")
        }
    }

    public init() {}

    public func run() throws {
        if let threads { Kernels.threads = threads }
        let loaded = try ModelLoader.load(path: model)
        guard let wrapped = loaded.model as? SpikeBERTModel else {
            throw ValidationError("'\(model)' is a \(loaded.family.traits.displayName) checkpoint, not a BERT. Hint: point --model at a BERT folder with config.json.")
        }
        let bert = try wrapped.model.clone(tensors: wrapped.tensors)
        if let neuron { bert.neuron = NeuronKind(rawValue: neuron)! }
        if let timesteps { bert.steps = timesteps }
        let c = bert.config
        guard tokens <= c.maxPositions, seq <= c.maxPositions else {
            throw ValidationError("--tokens \(tokens) / --seq \(seq) exceed max_position_embeddings = \(c.maxPositions) of this model.")
        }
        let spiking = bert.neuron != .none
        var one = benchIDs(batch: 1, length: tokens, vocab: c.vocabSize)[0]
        if let text {
            let tok = try TokenizerLoader.load(path: try TokenizerLoader.find(besideModel: loaded.weightsPath))
            one = try tok.encode(text, pair: nil, addSpecialTokens: true).ids
            guard one.count <= c.maxPositions else {
                throw ValidationError("--text is \(one.count) tokens; this model takes at most \(c.maxPositions).")
            }
        }
        let many = benchIDs(batch: batch, length: seq, vocab: c.vocabSize)

        // Spiking run and its float twin, interleaved run by run so that load from other processes
        // hits both alike (the first warm-up call calibrates α when the checkpoint has none).
        let float = try bert.clone(tensors: wrapped.tensors)
        float.neuron = .none
        var s1 = Double.infinity, sb: Double? = nil
        var f1: Double? = nil, fb: Double? = nil
        if spiking {
            let pair = try bestPair(runs: runs, warmup: 2, { _ = try bert.forward(ids: one) }, { _ = try float.forward(ids: one) })
            (s1, f1) = (pair.0, pair.1)
        } else {
            s1 = try bestSeconds(runs: runs, warmup: 2) { _ = try bert.forward(ids: one) }
        }
        var rate: Double? = nil
        if spiking {
            let probe = Probe()
            _ = try bert.forward(ids: one, probe: probe)
            let sites = probe.trace.sites
            rate = sites.map { Double($0.firingRate) }.reduce(0, +) / Double(max(sites.count, 1))
        }
        if batch > 0 {
            if spiking {
                let pair = try bestPair(runs: batchRuns, warmup: 1, { _ = try bert.forwardBatch(ids: many) },
                                        { _ = try float.forwardBatch(ids: many) })
                (sb, fb) = (pair.0, pair.1)
            } else {
                sb = try bestSeconds(runs: batchRuns, warmup: 1) { _ = try bert.forwardBatch(ids: many) }
            }
        }
        let hf = referenceHf ? runHF(tokens: one.count) : nil  // a float pass costs the same for any ids of this length

        var fields: [(String, String)] = [
            ("model", jsonString(loaded.weightsPath)), ("neuron", jsonString(bert.neuron.rawValue)),
            ("timesteps", "\(spiking ? bert.steps : 1)"), ("tokens", "\(one.count)"), ("input", text == nil ? "\"synthetic\"" : "\"text\""),
            ("sentences_per_s", fmt(1 / s1, 2)), ("sentence_ms", fmt(s1 * 1e3, 3)),
            ("batch", "\(batch)"), ("seq", "\(seq)"),
            ("tokens_per_s", sb.map { fmt(Double(batch * seq) / $0, 1) } ?? "null"),
            ("batch_ms", sb.map { fmt($0 * 1e3, 1) } ?? "null"),
            ("firing_rate", rate.map { fmt($0, 4) } ?? "null"),
            ("float_sentences_per_s", f1.map { fmt(1 / $0, 2) } ?? "null"),
            ("float_tokens_per_s", fb.map { fmt(Double(batch * seq) / $0, 1) } ?? "null"),
            ("cost_vs_float", f1.map { fmt(s1 / $0, 3) } ?? "null"),
            ("batch_cost_vs_float", zip2(sb, fb).map { fmt($0 / $1, 3) } ?? "null"),
            ("threads", "\(Kernels.threads)"),
        ]
        if referenceHf {
            fields += [
                ("hf_sentences_per_s", hf?.sentences.map { fmt($0, 2) } ?? "null"),
                ("hf_tokens_per_s", hf?.tokens.map { fmt($0, 1) } ?? "null"),
                ("ratio_sentences_vs_hf", hf?.sentences.map { fmt(1 / s1 / $0, 3) } ?? "null"),
                ("ratio_tokens_vs_hf", zip2(sb, hf?.tokens).map { fmt(Double(batch * seq) / $0 / $1, 3) } ?? "null"),
            ]
            if let note = hf?.note { fields.append(("hf_note", jsonString(note))) }
        }
        fields.append(("machine", MachineInfo.current.jsonText))
        print(jsonObject(fields))
        if !json {
            var line = String(format: "bert %@ T=%d: %.1f sentences/s (%d tokens, %.2f ms)", bert.neuron.rawValue,
                              spiking ? bert.steps : 1, 1 / s1, one.count, s1 * 1e3)
            if let sb { line += String(format: ", %.0f tokens/s (%d×%d)", Double(batch * seq) / sb, batch, seq) }
            if let f1 { line += String(format: "; float %.1f sentences/s → spiking costs %.2f× float", 1 / f1, s1 / f1) }
            if let r = rate { line += String(format: "; mean firing rate %.3f", r) }
            if let h = hf?.sentences { line += String(format: "; HF %.1f sentences/s → %.2f× HF", h, 1 / s1 / h) }
            if let h = hf?.tokens, let sb { line += String(format: ", HF %.0f tokens/s → %.2f×", h, Double(batch * seq) / sb / h) }
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// HF transformers in a python3 child; never throws (a note says what went wrong).
    private func runHF(tokens: Int) -> (sentences: Double?, tokens: Double?, note: String?) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Tests/Reference/bench_bert_hf.py")
        guard FileManager.default.fileExists(atPath: script.path) else {
            return (nil, nil, "\(script.path) not found (run from a source checkout)")
        }
        var dir = URL(fileURLWithPath: model)
        var isDir: ObjCBool = false
        if !(FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir) && isDir.boolValue) { dir.deleteLastPathComponent() }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script.path, dir.path, "--tokens", "\(tokens)", "--batch", "\(max(batch, 1))", "--seq", "\(seq)",
                       "--runs", "\(runs)", "--batch-runs", "\(batchRuns)", "--threads", "\(Kernels.threads)"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return (nil, nil, "python3 could not be started: \(error.localizedDescription)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        guard let obj = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
            return (nil, nil, "bench_bert_hf.py exited with status \(p.terminationStatus) and no JSON")
        }
        if let e = obj["error"] as? String { return (nil, nil, e) }
        return (obj["sentences_per_s"] as? Double, batch > 0 ? obj["tokens_per_s"] as? Double : nil, nil)
    }
}

/// [CLS] = 101, then 1000 + ((b·131 + i)·7919) mod (vocab − 1000), then [SEP] = 102 (same formula in
/// bench_bert_hf.py). Needs vocab > 1000 (BERT vocabularies have 30522).
func benchIDs(batch: Int, length: Int, vocab: Int) -> [[Int]] {
    let span = max(vocab - 1000, 1)
    return (0..<batch).map { b in
        (0..<length).map { i in
            i == 0 ? min(101, vocab - 1) : i == length - 1 ? min(102, vocab - 1) : min(1000 + ((b * 131 + i) * 7919) % span, vocab - 1)
        }
    }
}

private func zip2(_ a: Double?, _ b: Double?) -> (Double, Double)? {
    guard let a, let b else { return nil }
    return (a, b)
}

/// Best wall times of `a` and `b`, called alternately `runs` times each after `warmup` rounds.
private func bestPair(runs: Int, warmup: Int, _ a: () throws -> Void, _ b: () throws -> Void) throws -> (Double, Double) {
    for _ in 0..<warmup { try a(); try b() }
    var best = (Double.infinity, Double.infinity)
    for _ in 0..<max(runs, 1) {
        best.0 = min(best.0, try bestSeconds(runs: 1, warmup: 0, a))
        best.1 = min(best.1, try bestSeconds(runs: 1, warmup: 0, b))
    }
    return best
}

/// Best wall time (seconds) of `runs` calls after `warmup` untimed ones.
private func bestSeconds(runs: Int, warmup: Int, _ body: () throws -> Void) throws -> Double {
    for _ in 0..<warmup { try body() }
    let clock = ContinuousClock()
    var best = Double.infinity
    for _ in 0..<max(runs, 1) {
        let start = clock.now
        try body()
        let d = clock.now - start
        best = min(best, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
    }
    return best
}
