// LlamaConfig: the hyper-parameters of a LLaMA-family decoder (LlamaForCausalLM,
// Qwen2ForCausalLM, MistralForCausalLM), read from an HF `config.json`.
//
// What it is: the fields the forward needs, each validated with the key and file named, example
// values from SmolLM-135M in the comments; rotary scaling of the kinds these configs commonly set
// ("linear", "llama3"; "default" or null = none).
// What it is not: the weights (Llama.init checks their shapes against this) or the tokenizer.

import Foundation
import Formats

public struct LlamaConfig: Sendable, Equatable, Codable {
    public enum RopeScaling: Sendable, Equatable, Codable {
        /// Positions divided by `factor`.
        case linear(factor: Double)
        /// Llama-3.1's frequency-dependent scaling.
        case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMax: Int)
    }

    /// "LlamaForCausalLM", "Qwen2ForCausalLM" or "MistralForCausalLM".
    public var architecture: String
    public var vocab: Int              // 49152
    public var hidden: Int             // 576 (C)
    public var intermediate: Int       // 1536 (F)
    public var layers: Int             // 30
    public var heads: Int              // 9
    public var kvHeads: Int            // 3 (grouped-query attention)
    public var headDim: Int            // 64
    public var rmsEps: Float           // 1e-5
    public var ropeTheta: Double       // 10000 (Qwen2: 1e6)
    public var ropeScaling: RopeScaling?
    public var tied: Bool              // tie_word_embeddings
    public var maxPositions: Int       // 2048
    public var bos: Int?
    public var eos: [Int]

    public init(architecture: String = "LlamaForCausalLM", vocab: Int, hidden: Int, intermediate: Int, layers: Int,
                heads: Int, kvHeads: Int? = nil, headDim: Int? = nil, rmsEps: Float = 1e-5, ropeTheta: Double = 10000,
                ropeScaling: RopeScaling? = nil, tied: Bool = false, maxPositions: Int = 2048, bos: Int? = nil, eos: [Int] = []) {
        self.architecture = architecture; self.vocab = vocab; self.hidden = hidden; self.intermediate = intermediate
        self.layers = layers; self.heads = heads; self.kvHeads = kvHeads ?? heads; self.headDim = headDim ?? hidden / heads
        self.rmsEps = rmsEps; self.ropeTheta = ropeTheta; self.ropeScaling = ropeScaling; self.tied = tied
        self.maxPositions = maxPositions; self.bos = bos; self.eos = eos
    }

    public static let architectures = ["LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM"]

    /// Parses `config.json` at `path`.
    /// - Throws: `ModelError.invalidConfig` naming the file, the key, the value and what is accepted.
    public init(file path: String) throws {
        let json: JSONValue
        do { json = try JSONValue.parse(file: path) } catch let e as FormatError {
            throw ModelError.invalidConfig(file: path, key: "(file)", reason: "cannot be read: \(e)", hint: "a LLaMA folder holds config.json beside the weights")
        }
        func bad(_ key: String, _ reason: String, _ hint: String = "") -> ModelError {
            .invalidConfig(file: path, key: key, reason: reason, hint: hint.isEmpty ? "check config.json against the model card" : hint)
        }
        func int(_ key: String, _ range: ClosedRange<Int>, default d: Int? = nil) throws -> Int {
            guard let v = json[key], !v.isNull else {
                if let d { return d }
                throw bad(key, "is missing")
            }
            guard let i = v.int else { throw bad(key, "is not an integer") }
            guard range.contains(i) else { throw bad(key, "is \(i)", "expected \(range.lowerBound)…\(range.upperBound)") }
            return i
        }
        func double(_ key: String, default d: Double) throws -> Double {
            guard let v = json[key], !v.isNull else { return d }
            guard let x = v.double, x.isFinite, x > 0 else { throw bad(key, "is not a positive number") }
            return x
        }
        let arch = json["architectures"]?.array?.first?.string ?? json["model_type"]?.string.map {
            ["llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "mistral": "MistralForCausalLM"][$0] ?? $0
        } ?? "LlamaForCausalLM"
        guard Self.architectures.contains(arch) else {
            throw bad("architectures", "is \(arch)", "spikescope runs \(Self.architectures.joined(separator: ", "))")
        }
        let hidden = try int("hidden_size", 1...65536)
        let heads = try int("num_attention_heads", 1...1024)
        let kv = try int("num_key_value_heads", 1...1024, default: heads)
        guard heads % kv == 0 else { throw bad("num_key_value_heads", "is \(kv), which does not divide num_attention_heads = \(heads)") }
        let headDim = try int("head_dim", 2...4096, default: hidden / heads)
        guard headDim % 2 == 0 else { throw bad("head_dim", "is \(headDim); rotary embeddings need an even head size") }
        // Rotary settings: `rope_theta` + `rope_scaling` (most released configs), or transformers
        // ≥ 5's `rope_parameters` holding both.
        let parameters = json["rope_parameters"].flatMap { $0.isNull ? nil : $0 }
        var theta = try double("rope_theta", default: 10000)
        if json["rope_theta"] == nil, let t = parameters?["rope_theta"] {
            guard let x = t.double, x.isFinite, x > 0 else { throw bad("rope_parameters.rope_theta", "is not a positive number") }
            theta = x
        }
        var scaling: RopeScaling? = nil
        if let rs = json["rope_scaling"].flatMap({ $0.isNull ? nil : $0 }) ?? parameters {
            let kind = rs["rope_type"]?.string ?? rs["type"]?.string ?? "default"
            let factor = rs["factor"]?.double ?? 1
            switch kind {
            case "default": scaling = nil
            case "linear": scaling = .linear(factor: factor)
            case "llama3":
                scaling = .llama3(factor: factor, lowFreqFactor: rs["low_freq_factor"]?.double ?? 1,
                                  highFreqFactor: rs["high_freq_factor"]?.double ?? 4,
                                  originalMax: rs["original_max_position_embeddings"]?.int ?? 8192)
            default:
                throw bad("rope_scaling", "has type \"\(kind)\"", "spikescope applies \"linear\" and \"llama3\" rotary scaling; remove rope_scaling to run without it")
            }
        }
        func ids(_ key: String) -> [Int] {
            if let i = json[key]?.int { return [i] }
            return json[key]?.array?.compactMap(\.int) ?? []
        }
        self.init(architecture: arch, vocab: try int("vocab_size", 1...1 << 22), hidden: hidden,
                  intermediate: try int("intermediate_size", 1...1 << 20), layers: try int("num_hidden_layers", 1...1024),
                  heads: heads, kvHeads: kv, headDim: headDim, rmsEps: Float(try double("rms_norm_eps", default: 1e-6)),
                  ropeTheta: theta, ropeScaling: scaling,
                  tied: json["tie_word_embeddings"]?.bool ?? false,
                  maxPositions: try int("max_position_embeddings", 1...1 << 24, default: 2048),
                  bos: ids("bos_token_id").first, eos: ids("eos_token_id"))
    }

    /// Inverse frequencies of the rotary embedding, [headDim/2], with the scaling applied.
    public var inverseFrequencies: [Double] {
        let half = headDim / 2
        var inv = (0..<half).map { 1 / pow(ropeTheta, Double(2 * $0) / Double(headDim)) }
        switch ropeScaling {
        case nil: break
        case let .linear(factor): inv = inv.map { $0 / factor }
        case let .llama3(factor, low, high, original):
            let lowWavelen = Double(original) / low, highWavelen = Double(original) / high
            inv = inv.map { f in
                let wavelen = 2 * Double.pi / f
                if wavelen < highWavelen { return f }
                if wavelen > lowWavelen { return f / factor }
                let smooth = (Double(original) / wavelen - low) / (high - low)
                return (1 - smooth) * f / factor + smooth * f
            }
        }
        return inv
    }
}
