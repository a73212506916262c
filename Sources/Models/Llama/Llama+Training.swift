// The LLaMA family's training form: the decoder of Llama.swift as a graph of Engine Variables
// (float; SpikeLLM's neuron is post-training, as released), trained as a language model
// (`.lm` batches) from scratch (char-level, `train --arch llama`) or from a checkpoint
// (`fineTunable`, e.g. the workbench's background training).
//
// What it is: the same forward as `Llama.forward` over a batch [B, L] — RMSNorm, rotary q/k
// (rotate-half), causal grouped-query attention, SwiGLU, tied or untied head — whose gradients
// the Engine records; initial weights as HF's LlamaPreTrainedModel (normal, std 0.02; norms 1).
// What it is not: the inference path (Llama.swift), a KV cache, or sliding-window attention.

import Foundation
import Engine
import Formats

public final class LlamaTrainable: TrainableModel {
    public let config: LlamaConfig
    public private(set) var parameters: [String: Variable]
    public var arch: String { LlamaFamily.traits.id }

    /// Starts from `weights` (HF names; bf16 already converted).
    public init(weights: [String: Tensor], config: LlamaConfig) throws {
        self.config = config
        var p: [String: Variable] = [:]
        for (n, t) in weights { p[n] = Variable(t.contiguous(), requiresGrad: true) }
        parameters = p
        for n in Self.names(config) where parameters[n] == nil {
            throw ModelError.missingTensor(name: n, hint: "a LLaMA-family checkpoint names it so (HF layout)")
        }
    }

    /// Fresh weights for `config` (HF's initialisation: normal std 0.02, norms 1).
    public convenience init(config: LlamaConfig, seed: UInt64) throws {
        var rng = SeededRNG(seed: seed)
        let C = config.hidden, F = config.intermediate, qW = config.heads * config.headDim, kvW = config.kvHeads * config.headDim
        var w: [String: Tensor] = [:]
        func normal(_ shape: [Int]) -> Tensor { Tensor.randomNormal(shape, std: 0.02, rng: &rng) }
        w["model.embed_tokens.weight"] = normal([config.vocab, C])
        w["model.norm.weight"] = Tensor(repeating: 1, shape: [C])
        if !config.tied { w["lm_head.weight"] = normal([config.vocab, C]) }
        for i in 0..<config.layers {
            let p = "model.layers.\(i)."
            w[p + "input_layernorm.weight"] = Tensor(repeating: 1, shape: [C])
            w[p + "post_attention_layernorm.weight"] = Tensor(repeating: 1, shape: [C])
            w[p + "self_attn.q_proj.weight"] = normal([qW, C])
            w[p + "self_attn.k_proj.weight"] = normal([kvW, C])
            w[p + "self_attn.v_proj.weight"] = normal([kvW, C])
            w[p + "self_attn.o_proj.weight"] = normal([C, qW])
            w[p + "mlp.gate_proj.weight"] = normal([F, C])
            w[p + "mlp.up_proj.weight"] = normal([F, C])
            w[p + "mlp.down_proj.weight"] = normal([C, F])
        }
        try self.init(weights: w, config: config)
    }

    /// The tensors a checkpoint of `c` must hold (biases optional).
    static func names(_ c: LlamaConfig) -> [String] {
        var n = ["model.embed_tokens.weight", "model.norm.weight"] + (c.tied ? [] : ["lm_head.weight"])
        for i in 0..<c.layers {
            let p = "model.layers.\(i)."
            n += ["input_layernorm", "post_attention_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                  "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"].map { p + $0 + ".weight" }
        }
        return n
    }

    func w(_ name: String) -> Variable { parameters[name]! }

    func rmsNorm(_ x: Variable, _ weight: Variable) throws -> Variable {
        let ms = try (x * x).mean(axis: -1, keepdims: true)
        let inv = 1 / (ms + config.rmsEps).squareRoot()
        return try (x * inv) * weight
    }

    /// cos and sin [L, d] of the rotary embedding at positions 0..<L (rotate-half layout).
    func rotary(_ L: Int) -> (Variable, Variable) {
        let d = config.headDim, half = d / 2, inv = config.inverseFrequencies
        let cos = Tensor(shape: [L, d]) { i in cosf(Float(i / d) * Float(inv[(i % d) % half])) }
        let sin = Tensor(shape: [L, d]) { i in sinf(Float(i / d) * Float(inv[(i % d) % half])) }
        return (.constant(cos), .constant(sin))
    }

    func rotate(_ x: Variable, _ cs: (Variable, Variable)) throws -> Variable {
        let half = config.headDim / 2
        let a = try x.slice(axis: 3, 0..<half), b = try x.slice(axis: 3, half..<config.headDim)
        let rotated = try Variable.concat([b * -1, a], axis: 3)
        return try (x * cs.0) + (rotated * cs.1)
    }

    /// Heads [B, G, L, d] repeated to [B, H, L, d] (head h reads kv head h / (H/G)).
    func repeatKV(_ x: Variable) throws -> Variable {
        let group = config.heads / config.kvHeads
        guard group > 1 else { return x }
        var parts: [Variable] = []
        for g in 0..<config.kvHeads {
            let s = try x.slice(axis: 1, g..<(g + 1))
            for _ in 0..<group { parts.append(s) }
        }
        return try Variable.concat(parts, axis: 1)
    }

    /// Logits [B·L, V] of a batch of equal-length rows.
    public func logits(_ inputs: [[Int]]) throws -> Variable {
        let B = inputs.count, L = inputs.first?.count ?? 0
        guard B > 0, L > 0, inputs.allSatisfy({ $0.count == L }) else {
            throw ModelError.badInput(reason: "a batch needs rows of one nonzero length", hint: "")
        }
        let H = config.heads, G = config.kvHeads, d = config.headDim
        var x = try w("model.embed_tokens.weight").embedding(ids: inputs.flatMap { $0 }, shape: [B, L])
        let cs = rotary(L)
        let mask = Variable.constant(Tensor(shape: [L, L]) { i in i % L > i / L ? -1e9 : 0 })
        let scale = 1 / Float(d).squareRoot()
        for i in 0..<config.layers {
            let p = "model.layers.\(i)."
            let n = try rmsNorm(x, w(p + "input_layernorm.weight"))
            func proj(_ name: String) throws -> Variable { try n.linear(weight: w(p + name + ".weight"), bias: parameters[p + name + ".bias"]) }
            let q = try rotate(proj("self_attn.q_proj").reshaped([B, L, H, d]).permuted([0, 2, 1, 3]), cs)
            let k = try repeatKV(rotate(proj("self_attn.k_proj").reshaped([B, L, G, d]).permuted([0, 2, 1, 3]), cs))
            let v = try repeatKV(proj("self_attn.v_proj").reshaped([B, L, G, d]).permuted([0, 2, 1, 3]))
            let scores = try q.matmul(k, transposeB: true) * scale + mask
            let a = try scores.softmax().matmul(v).permuted([0, 2, 1, 3]).reshaped([B, L, H * d])
            x = try x + a.linear(weight: w(p + "self_attn.o_proj.weight"), bias: parameters[p + "self_attn.o_proj.bias"])
            let n2 = try rmsNorm(x, w(p + "post_attention_layernorm.weight"))
            let g = try n2.linear(weight: w(p + "mlp.gate_proj.weight")), u = try n2.linear(weight: w(p + "mlp.up_proj.weight"))
            x = try x + ((g * g.sigmoid()) * u).linear(weight: w(p + "mlp.down_proj.weight"))
        }
        let h = try rmsNorm(x, w("model.norm.weight"))
        let head = parameters["lm_head.weight"] ?? w("model.embed_tokens.weight")
        return try h.linear(weight: head).reshaped([B * L, config.vocab])
    }

    public func loss(_ batch: TrainingBatch, rng: inout SeededRNG) throws -> Variable {
        guard case let .lm(inputs, targets) = batch else {
            throw ModelError.unsupported(what: "classification on the LLaMA family", hint: "train it as a language model")
        }
        return try logits(inputs).crossEntropy(targets: targets.flatMap { $0 })
    }

    public func evaluate(_ batch: TrainingBatch) throws -> EvalResult {
        try withNoGrad {
            var r = EvalResult()
            guard case let .lm(inputs, targets) = batch else { return r }
            let n = targets.reduce(0) { $0 + $1.count }
            r.lossSum = Double(try logits(inputs).value.crossEntropy(targets: targets.flatMap { $0 })) * Double(n)
            r.count = n
            return r
        }
    }

    public func exportWeights() throws -> [String: Tensor] { parameters.mapValues { $0.value } }

    public var metadata: [String: String] {
        ["arch": arch, "layers": "\(config.layers)", "width": "\(config.hidden)", "vocab": "\(config.vocab)"]
    }
}

/// HF `config.json` of a LLaMA-family model (what `LlamaConfig(file:)` reads back).
public func llamaConfigJSON(_ c: LlamaConfig) throws -> Data {
    var obj: [String: Any] = [
        "architectures": [c.architecture], "model_type": "llama",
        "vocab_size": c.vocab, "hidden_size": c.hidden, "intermediate_size": c.intermediate,
        "num_hidden_layers": c.layers, "num_attention_heads": c.heads, "num_key_value_heads": c.kvHeads,
        "head_dim": c.headDim, "rms_norm_eps": Double("\(c.rmsEps)") ?? 1e-5, "rope_theta": c.ropeTheta,
        "tie_word_embeddings": c.tied, "max_position_embeddings": c.maxPositions, "hidden_act": "silu",
    ]
    if let b = c.bos { obj["bos_token_id"] = b }
    if !c.eos.isEmpty { obj["eos_token_id"] = c.eos.count == 1 ? c.eos[0] as Any : c.eos as Any }
    return try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted])
}
