// SpikeBERTWeights: the named tensors of a (spiking) BERT, checked against a BERTConfig.
//
// What it is: the mapping from HF checkpoint names (with or without the `bert.` prefix that
// BertForSequenceClassification uses) to typed fields, with every name and shape checked, plus
// SpikeLM's per-timestep amplitudes (`…act_clip_val.{t}`, `…attention.self.clip_key.{t}`,
// `…clip_value.{t}`) when the checkpoint has them.
// What it is not: a file reader (Formats reads safetensors / PyTorch files into [String: Tensor]).
//
// Shape legend: C hidden, I intermediate, V vocabulary, P max positions, Y type vocabulary, K labels.

import Foundation
import Engine

/// One nn.Linear: y = x·Wᵀ + b with W stored [out, in] (PyTorch layout).
struct LinearWeights {
    var weight: Tensor   // [out, in]
    var bias: Tensor     // [out]
    var inFeatures: Int { weight.shape[1] }
    var outFeatures: Int { weight.shape[0] }
}

/// LayerNorm γ and β, both [C].
struct NormWeights {
    var gamma: Tensor
    var beta: Tensor
}

struct LayerWeights {
    var query, key, value, attentionOut, intermediate, output: LinearWeights
    var attentionNorm, outputNorm: NormWeights
}

struct BERTWeights {
    var word, position, tokenType: Tensor      // [V, C], [P, C], [Y, C]
    var embeddingNorm: NormWeights
    var layers: [LayerWeights]
    var pooler: LinearWeights?                 // [C, C]
    var classifier: LinearWeights?             // [K, C]
    /// α per site (site name → T values) found in the checkpoint.
    var alpha: [String: [Float]]
    /// Names present but deliberately not used (buffers, the MLM head), for the UI to list.
    var ignored: [String]
}

/// The site names of layer `i`, in the order they run (checkpoint names of the spiking inputs).
func spikeBERTSiteNames(layer i: Int) -> [String] {
    let p = "encoder.layer.\(i)."
    return [p + "attention.self.query", p + "attention.self.key", p + "attention.self.value",
            p + "attention.self.key_spike", p + "attention.self.value_spike",
            p + "attention.output.dense", p + "intermediate.dense", p + "output.dense"]
}

/// Checkpoint name prefix of the α parameters of a site (SpikeLM naming).
func spikeBERTAlphaPrefix(site: String) -> String {
    if site.hasSuffix(".key_spike") { return String(site.dropLast(".key_spike".count)) + ".clip_key" }
    if site.hasSuffix(".value_spike") { return String(site.dropLast(".value_spike".count)) + ".clip_value" }
    return site + ".act_clip_val"
}

extension BERTWeights {
    /// Checks every name and shape against `config`; throws `ModelError` naming the first problems.
    init(config c: BERTConfig, tensors raw: [String: Tensor]) throws {
        // Strip the `bert.` prefix of task checkpoints (the heads `classifier.*`, `cls.*` have none).
        var t: [String: Tensor] = [:]
        for (name, value) in raw {
            let key = name.hasPrefix("bert.") ? String(name.dropFirst(5)) : name
            t[key] = value
        }
        var used = Set<String>()
        var missing: [String] = []
        let hint = "is this a BERT checkpoint of the same size as config.json?"

        func take(_ name: String, _ shape: [Int], _ because: String) throws -> Tensor? {
            guard let v = t[name] else { missing.append(name); return nil }
            used.insert(name)
            guard v.shape == shape else {
                throw ModelError.shapeMismatch(tensor: name, expected: shape, found: v.shape, because: because,
                                               hint: "a checkpoint of another size, or config.json from another model?")
            }
            return v.contiguous()
        }
        func linear(_ name: String, out: Int, in inF: Int, _ because: String) throws -> LinearWeights? {
            let w = try take(name + ".weight", [out, inF], because)
            let b = try take(name + ".bias", [out], because)
            guard let w, let b else { return nil }
            return LinearWeights(weight: w, bias: b)
        }
        func norm(_ name: String) throws -> NormWeights? {
            let g = try take(name + ".weight", [c.hiddenSize], "hidden_size from config.json")
            let b = try take(name + ".bias", [c.hiddenSize], "hidden_size from config.json")
            guard let g, let b else { return nil }
            return NormWeights(gamma: g, beta: b)
        }

        let C = c.hiddenSize, I = c.intermediateSize
        let word = try take("embeddings.word_embeddings.weight", [c.vocabSize, C], "vocab_size × hidden_size")
        let pos = try take("embeddings.position_embeddings.weight", [c.maxPositions, C], "max_position_embeddings × hidden_size")
        let typ = try take("embeddings.token_type_embeddings.weight", [c.typeVocabSize, C], "type_vocab_size × hidden_size")
        let embNorm = try norm("embeddings.LayerNorm")
        var layers: [LayerWeights] = []
        for i in 0..<c.layers {
            let p = "encoder.layer.\(i)."
            let cc = "hidden_size × hidden_size", ic = "intermediate_size × hidden_size", ci = "hidden_size × intermediate_size"
            let q = try linear(p + "attention.self.query", out: C, in: C, cc)
            let k = try linear(p + "attention.self.key", out: C, in: C, cc)
            let v = try linear(p + "attention.self.value", out: C, in: C, cc)
            let ao = try linear(p + "attention.output.dense", out: C, in: C, cc)
            let an = try norm(p + "attention.output.LayerNorm")
            let it = try linear(p + "intermediate.dense", out: I, in: C, ic)
            let o = try linear(p + "output.dense", out: C, in: I, ci)
            let on = try norm(p + "output.LayerNorm")
            if let q, let k, let v, let ao, let an, let it, let o, let on {
                layers.append(LayerWeights(query: q, key: k, value: v, attentionOut: ao, intermediate: it,
                                           output: o, attentionNorm: an, outputNorm: on))
            }
        }
        // Optional heads: the pooler (BertModel with add_pooling_layer) and the classifier.
        var pooler: LinearWeights? = nil
        if t["pooler.dense.weight"] != nil || t["pooler.dense.bias"] != nil {
            pooler = try linear("pooler.dense", out: C, in: C, "hidden_size × hidden_size")
        }
        var classifier: LinearWeights? = nil
        if let cw = t["classifier.weight"] {
            let k = c.numLabels ?? (cw.rank == 2 ? cw.shape[0] : 0)
            classifier = try linear("classifier", out: k, in: C,
                                    c.numLabels == nil ? "classes from the tensor × hidden_size" : "num_labels × hidden_size")
            if pooler == nil && classifier != nil {
                throw ModelError.missingTensors(names: ["pooler.dense.weight", "pooler.dense.bias"], total: 2,
                                                hint: "BertForSequenceClassification reads the pooled [CLS] state; the checkpoint has a classifier but no pooler")
            }
        } else if t["classifier.bias"] != nil {
            missing.append("classifier.weight")
        }
        guard missing.isEmpty, let word, let pos, let typ, let embNorm else {
            throw ModelError.missingTensors(names: Array(missing.prefix(4)), total: missing.count, hint: hint)
        }

        // SpikeLM amplitudes: `<prefix>.{t}` for t in 0..<T, scalars (shape [] or [1]).
        var alpha: [String: [Float]] = [:]
        for i in 0..<c.layers {
            for site in spikeBERTSiteNames(layer: i) {
                let prefix = spikeBERTAlphaPrefix(site: site)
                let present = (0..<c.steps).filter { t["\(prefix).\($0)"] != nil }
                if present.isEmpty { continue }
                var values: [Float] = []
                for step in 0..<c.steps {
                    let name = "\(prefix).\(step)"
                    guard let a = t[name] else { missing.append(name); continue }
                    used.insert(name)
                    guard a.count == 1 else {
                        throw ModelError.shapeMismatch(tensor: name, expected: [], found: a.shape, because: "one α per site and timestep",
                                                       hint: "SpikeLM stores each α as a scalar parameter")
                    }
                    values.append(a.contiguous().values[0])
                }
                alpha[site] = values
            }
        }
        guard missing.isEmpty else {
            throw ModelError.missingTensors(names: Array(missing.prefix(4)), total: missing.count,
                                            hint: "a SpikeLM checkpoint has one α per timestep T; is T in config.json right?")
        }

        // Everything else must be a known, deliberately ignored name.
        var ignored: [String] = []
        var unexpected: [String] = []
        for name in t.keys.sorted() where !used.contains(name) {
            if name == "embeddings.position_ids" || name == "embeddings.token_type_ids" || name.hasSuffix(".weight_clip_val")
                || name.hasPrefix("cls.") {
                ignored.append(name)   // buffers, SpikeLM's unused weight clip, the MLM/NSP head (not implemented)
            } else {
                unexpected.append(name)
            }
        }
        guard unexpected.isEmpty else {
            let h = unexpected.contains { $0.range(of: #"act_clip_val\.\d+|clip_(key|value)\.\d+"#, options: .regularExpression) != nil }
                ? "SpikeLM α for more timesteps than T = \(c.steps) in config.json?"
                : "a different architecture, or more layers than num_hidden_layers = \(c.layers)?"
            throw ModelError.unexpectedTensors(names: Array(unexpected.prefix(4)), total: unexpected.count, hint: h)
        }
        self.init(word: word, position: pos, tokenType: typ, embeddingNorm: embNorm, layers: layers,
                  pooler: pooler, classifier: classifier, alpha: alpha, ignored: ignored)
    }
}
