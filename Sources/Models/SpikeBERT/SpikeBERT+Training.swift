// SpikeBERT, training form: SpikeLM's spiking BERT on autograd Variables (SEEDS.md §2).
//
// What it is: `SpikeBERTGraph` holds every BERT parameter and every SpikeLM amplitude α (one
// scalar per spiking site and timestep) as Variables and builds the graph of a padded batch
// [B, L] of token ids: embeddings, post-LN encoder layers with SpikeLinear at Q/K/V/attention
// output/FFN in/FFN out, K and V spiked again, the input repeated over T and the output averaged
// over T, then pooler (tanh) and classifier → class logits and a cross-entropy loss. Also the
// neuron variants of SpikeLM's ablation and a seeded BERT initialisation. Weights export in HF
// names plus SpikeLM's α names (`…act_clip_val.{t}`, `…clip_key.{t}`, `…clip_value.{t}`), so the
// inference `SpikeBERT` loads a trained checkpoint with its α.
// What it is not: the inference path — `SpikeBERT.forward` is faster, records traces and runs
// one sequence at a time; the tests check both forms give the same hidden states and logits.
// Not the MLM head (classification only).
//
// Released code (spikeLM-BERT/spiking.py, spike_bert.py), per spiking site and timestep t:
//   m_0 = x_0;  m_t = m_{t−1}·0.25·(α_{t−1} − o_{t−1}) + x_t    (SpikeLinear; α and o detached)
//   o_t = clamp(round(m_t/α_t), −1, 1)·α_t                       (Variable.spike: LSQ backward)
//   K and V: o_t = spike(k_t; α_t) per timestep, no membrane.
// The gradient flows into m_{t−1} through the constant factor 0.25·(α_{t−1} − o_{t−1}), as in the
// released code where only α and o are detached. α_t is initialised on the first batch that
// reaches the site as 2·mean|m_t| over the real (unpadded) tokens (LSQ init, Qp = 1), clamped at
// ≥ 1e-5 — the same rule as the inference neuron (ElasticBiSpike.swift), so a freshly built
// graph and a freshly loaded SpikeBERT calibrate alike. An α whose value is 0 is "not yet
// calibrated"; exportWeights leaves such α out (the inference model then calibrates its own).
// Variants (NeuronKind): .elastic ternary {−1,0,1}·α (released), .signed ±1·α (released
// input_bits = 1), .binary {0,1}·α (fires when m/α > 1/2), .none (float BERT, T = 1).
//
// Shape legend: T timesteps, B batch, L tokens, C hidden, I intermediate, H heads, d = C/H,
// K labels. Activations inside the encoder are [T, B, L, ·].

import Foundation
import Engine
import Neurons

public final class SpikeBERTGraph {
    public let config: BERTConfig
    /// Spiking sites' neuron: .elastic, .signed, .binary or .none.
    public let neuron: NeuronKind
    /// Parameters by checkpoint name (HF names without the `bert.` prefix, plus α names).
    public private(set) var parameters: [String: Variable] = [:]
    public var parameterNames: [String] { parameters.keys.sorted() }
    /// Every spiking site, in the order a forward pass runs them (inference SpikeBERT's names).
    public let siteNames: [String]

    /// Timesteps actually run (1 with `.none`: every step would be identical).
    public var timesteps: Int { neuron == .none ? 1 : config.steps }

    /// Builds the graph from HF-named tensors (`bert.` prefix optional); α tensors are optional.
    /// - Throws: `ModelError` for missing/unexpected tensors or wrong shapes (the inference
    ///   model's checks), a config without labels, an unsupported activation or neuron.
    public init(config: BERTConfig, weights raw: [String: Tensor], neuron: NeuronKind = .elastic) throws {
        guard [.elastic, .signed, .binary, NeuronKind.none].contains(neuron) else {
            throw ModelError.unsupported(what: "a \(neuron.rawValue) neuron in SpikeBERT",
                                         hint: "SpikeBERT trains elastic, signed, binary or none")
        }
        guard config.activation != .geluTanh else {
            throw ModelError.unsupported(what: "hidden_act gelu_new in SpikeBERT training",
                                         hint: "train with hidden_act = gelu or relu")
        }
        guard config.steps >= 1 else {
            throw ModelError.invalidConfig(file: "config.json", key: "T", reason: "is \(config.steps), expected ≥ 1",
                                           hint: "SpikeLM uses T = 1 or 4")
        }
        // Same checks as inference: every name and shape (and heads present).
        let checked = try BERTWeights(config: config, tensors: raw)
        guard checked.pooler != nil, checked.classifier != nil else {
            throw ModelError.missingTensors(names: ["pooler.dense.weight", "classifier.weight"], total: 2,
                                            hint: "training a classifier needs the pooler and the head; build with initialWeights(config:seed:)")
        }
        self.config = config
        self.neuron = neuron
        var names: [String] = []
        for i in 0..<config.layers { names += spikeBERTSiteNames(layer: i) }
        self.siteNames = names
        for (name, t) in raw {
            let key = name.hasPrefix("bert.") ? String(name.dropFirst(5)) : name
            if key == "embeddings.position_ids" || key == "embeddings.token_type_ids" || key.hasSuffix(".weight_clip_val")
                || key.hasPrefix("cls.") { continue }
            if SpikeBERTGraph.isAlphaName(key) { continue }   // α are added below, one [1] tensor per site and step
            parameters[key] = Variable(t.contiguous(), requiresGrad: true, name: key)
        }
        // α per site and timestep (none for the float model: nothing would train or export them).
        for site in names where neuron != .none {
            for t in 0..<config.steps {
                let name = "\(spikeBERTAlphaPrefix(site: site)).\(t)"
                let value = checked.alpha[site].map { $0[t] } ?? 0
                parameters[name] = Variable(Tensor([value]), requiresGrad: true, name: name)
            }
        }
    }

    /// The name of the α parameter of `site` at timestep `t`.
    public func alphaName(site: String, step t: Int) -> String { "\(spikeBERTAlphaPrefix(site: site)).\(t)" }

    /// The current weights in HF names (no `bert.` prefix) with the calibrated α; α still 0
    /// (never reached by a batch) are left out.
    public func exportWeights() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (name, p) in parameters {
            if SpikeBERTGraph.isAlphaName(name) && p.value.contiguous().values[0] == 0 { continue }
            out[name] = p.value
        }
        // A site exports all T α or none (the loader reads them per site).
        for site in siteNames {
            let ns = (0..<config.steps).map { alphaName(site: site, step: $0) }
            if ns.contains(where: { out[$0] == nil }) { ns.forEach { out[$0] = nil } }
        }
        return out
    }

    func p(_ name: String) -> Variable { parameters[name]! }

    /// True for SpikeLM α names (`…act_clip_val.{t}`, `…clip_key.{t}`, `…clip_value.{t}`).
    public static func isAlphaName(_ name: String) -> Bool {
        name.range(of: #"(act_clip_val|clip_key|clip_value)\.\d+$"#, options: .regularExpression) != nil
    }

    // MARK: forward

    /// Final hidden states mean_t(y_t) of a padded batch: [B, L, C].
    /// - Parameters:
    ///   - ids: B rows of L token ids (equal lengths).
    ///   - typeIds: token type ids, same shape; nil = all 0.
    ///   - masks: 1 for real tokens, 0 for padding (no token attends to padding); nil = all 1.
    /// - Throws: `ModelError.invalidInput` for ragged rows, ids out of range or a row without a real token.
    public func hidden(ids: [[Int]], typeIds: [[Int]]? = nil, masks: [[Int]]? = nil) throws -> Variable {
        try encode(ids: ids, typeIds: typeIds, masks: masks).final
    }

    /// What one encoder pass gives fine-tuning: the final hidden states mean_t(y_t) [B, L, C],
    /// the output of every layer (mean over T, padded positions zeroed) [B, L, C] each, and the
    /// firing of the spiking sites (mean over sites of each site's rate over real tokens).
    public struct Encoded {
        public var final: Variable
        public var layers: [Variable]
        /// Mean over sites of the smooth rate (`Variable.softFiringRate`); nil unless asked.
        public var softRate: Variable?
        /// Mean over sites of the measured rate; nil for the float model.
        public var firingRate: Double?
    }

    /// The encoder pass of `hidden`, with its parts (see `Encoded`).
    /// - Parameters:
    ///   - layerOutputs: keep every layer's output (else `layers` is empty).
    ///   - softRate: build the smooth firing rate (one more pass over every site's membrane).
    public func encode(ids: [[Int]], typeIds: [[Int]]? = nil, masks: [[Int]]? = nil,
                       layerOutputs: Bool = false, softRate: Bool = false) throws -> Encoded {
        let c = config
        let B = ids.count, L = ids.first?.count ?? 0, C = c.hiddenSize, H = c.heads, d = c.headSize
        try validate(ids: ids, typeIds: typeIds, masks: masks)
        let T = timesteps
        let maskRows = masks ?? [[Int]](repeating: [Int](repeating: 1, count: L), count: B)
        let valid = maskRows.flatMap { $0.map { $0 != 0 } }

        // e = LN(word[ids] + type[typeIds] + pos[0..<L]), then repeated over T: [T, B, L, C].
        let types = typeIds ?? [[Int]](repeating: [Int](repeating: 0, count: L), count: B)
        let wordE = try p("embeddings.word_embeddings.weight").embedding(ids: ids.flatMap { $0 }, shape: [B, L])
        let typeE = try p("embeddings.token_type_embeddings.weight").embedding(ids: types.flatMap { $0 }, shape: [B, L])
        let posE = try p("embeddings.position_embeddings.weight").embedding(ids: Array(0..<L), shape: [L])
        let e = try (wordE + typeE) + posE
        let x0 = try layerNorm(e, "embeddings.LayerNorm")
        var x = T == 1 ? try x0.reshaped([1, B, L, C]) : try Variable.stack([Variable](repeating: x0, count: T), axis: 0)

        // Additive attention mask: 0 for real keys, −1e9 for padding (exp underflows to exactly 0,
        // which is what the inference path's "skip padded keys" gives).
        let maskBias = Variable(try Tensor(shape: [1, B, 1, 1, L], values: maskRows.flatMap { $0.map { $0 != 0 ? 0 : -1e9 } }))
        let scale = 1 / Float(d).squareRoot()
        let keep = Variable(try Tensor(shape: [B, L, 1], values: valid.map { $0 ? 1 : 0 }))
        var layers: [Variable] = []
        var firing = FiringTally(softRate: softRate)

        for i in 0..<c.layers {
            let pre = "encoder.layer.\(i)."
            // q = SpikeLinear_q(x);  k = spike_k(SpikeLinear_k(x));  v = spike_v(SpikeLinear_v(x))
            let q = try spikeLinear(x, pre + "attention.self.query", valid: valid, firing: &firing)
            let k = try spikeSequence(try spikeLinear(x, pre + "attention.self.key", valid: valid, firing: &firing),
                                      site: pre + "attention.self.key_spike", recurrent: false, valid: valid, firing: &firing)
            let v = try spikeSequence(try spikeLinear(x, pre + "attention.self.value", valid: valid, firing: &firing),
                                      site: pre + "attention.self.value_spike", recurrent: false, valid: valid, firing: &firing)
            // per head: p = softmax(q·kᵀ/√d + mask);  ctx = p·v      [T, B, H, L, d]
            func heads(_ z: Variable) throws -> Variable { try z.reshaped([T, B, L, H, d]).permuted([0, 1, 3, 2, 4]) }
            let scores = try Variable.matmul(try heads(q), try heads(k), transposeB: true) * scale
            let probs = try (scores + maskBias).softmax()
            let ctx = try Variable.matmul(probs, try heads(v)).permuted([0, 1, 3, 2, 4]).reshaped([T, B, L, C])
            // a = LN(SpikeLinear_ao(ctx) + x);  y = LN(SpikeLinear_out(act(SpikeLinear_in(a))) + a)
            let a = try layerNorm(try spikeLinear(ctx, pre + "attention.output.dense", valid: valid, firing: &firing) + x,
                                  pre + "attention.output.LayerNorm")
            var inter = try spikeLinear(a, pre + "intermediate.dense", valid: valid, firing: &firing)
            inter = c.activation == .relu ? inter.relu() : inter.gelu()
            x = try layerNorm(try spikeLinear(inter, pre + "output.dense", valid: valid, firing: &firing) + a, pre + "output.LayerNorm")
            if layerOutputs && i < c.layers - 1 { layers.append(try x.mean(axis: 0) * keep) }
        }
        // hidden = mean_t y_t
        let final = try x.mean(axis: 0)
        if layerOutputs { layers.append(try final * keep) }
        return Encoded(final: final, layers: layers, softRate: try firing.softMean(), firingRate: firing.mean)
    }

    /// Sums over the spiking sites of one pass (`Encoded`'s rates).
    struct FiringTally {
        let softRate: Bool
        var soft: [Variable] = []
        var rates: [Double] = []
        var mean: Double? { rates.isEmpty ? nil : rates.reduce(0, +) / Double(rates.count) }
        func softMean() throws -> Variable? {
            guard var sum = soft.first else { return nil }
            for v in soft.dropFirst() { sum = try sum + v }
            return sum * (1 / Float(soft.count))
        }
    }

    /// Class logits [B, K]: tanh(W_p·h[CLS] + b_p) → W_c·pooled + b_c.
    public func logits(ids: [[Int]], typeIds: [[Int]]? = nil, masks: [[Int]]? = nil) throws -> Variable {
        try logits(hidden: try hidden(ids: ids, typeIds: typeIds, masks: masks))
    }

    /// Class logits [B, K] of final hidden states h [B, L, C] (`encode(…).final`).
    public func logits(hidden h: Variable) throws -> Variable {
        let B = h.shape[0], C = config.hiddenSize
        let cls = try h.slice(axis: 1, 0..<1).reshaped([B, C])
        let pooled = try cls.linear(weight: p("pooler.dense.weight"), bias: p("pooler.dense.bias")).hyperbolicTangent()
        return try pooled.linear(weight: p("classifier.weight"), bias: p("classifier.bias"))
    }

    /// Mean cross-entropy of the class logits against `labels` (one per row).
    public func loss(ids: [[Int]], typeIds: [[Int]]? = nil, masks: [[Int]]? = nil, labels: [Int]) throws -> Variable {
        let K = parameters["classifier.bias"]!.value.count
        guard labels.count == ids.count, labels.allSatisfy({ $0 >= 0 && $0 < K }) else {
            throw ModelError.invalidInput(field: "labels", reason: "has \(labels.count) labels \(labels.prefix(8)) for \(ids.count) rows and \(K) classes",
                                          hint: "one class index 0..<\(K) per row")
        }
        return try logits(ids: ids, typeIds: typeIds, masks: masks).crossEntropy(targets: labels)
    }

    // MARK: pieces

    private func layerNorm(_ x: Variable, _ name: String) throws -> Variable {
        try x.layerNorm(weight: p(name + ".weight"), bias: p(name + ".bias"), eps: config.layerNormEps)
    }

    /// SpikeLinear: y = spike(x over T; site)·Wᵀ + b, x [T, B, L, F].
    private func spikeLinear(_ x: Variable, _ site: String, valid: [Bool], firing: inout FiringTally) throws -> Variable {
        let o = try spikeSequence(x, site: site, recurrent: true, valid: valid, firing: &firing)
        return try o.linear(weight: p(site + ".weight"), bias: p(site + ".bias"))
    }

    /// The spiking site over T (x [T, B, L, F]); identity with `.none`. See the file header.
    private func spikeSequence(_ x: Variable, site: String, recurrent: Bool, valid: [Bool], firing: inout FiringTally) throws -> Variable {
        guard neuron != .none else { return x }
        // m_t = m_{t−1}·0.25·(α_{t−1} − o_{t−1}) + x_t, o_t = spike(m_t; α_t), α_t calibrated on the
        // first batch as max(2·mean|m_t| over real tokens, 1e-5): one fused op (Engine's spikeSequence).
        let alphas = (0..<x.shape[0]).map { p(alphaName(site: site, step: $0)) }
        let r = try x.spikeSequence(alphas: alphas, kind: neuron.alphabet ?? .ternary, recurrent: recurrent,
                                    resetFactor: ElasticBiSpike.resetFactor, validRows: valid, softRate: firing.softRate)
        firing.rates.append(r.cells == 0 ? 0 : Double(r.fired) / Double(r.cells))
        if let soft = r.softRate { firing.soft.append(soft) }
        return r.spikes
    }

    private func validate(ids: [[Int]], typeIds: [[Int]]?, masks: [[Int]]?) throws {
        let c = config
        guard let L = ids.first?.count, L >= 1, L <= c.maxPositions, ids.allSatisfy({ $0.count == L }) else {
            throw ModelError.invalidInput(field: "ids", reason: "needs B ≥ 1 rows of one length 1…\(c.maxPositions), got lengths \(ids.map(\.count).prefix(8))",
                                          hint: "pad every row to the longest (mask 0 on padding)")
        }
        for (b, row) in ids.enumerated() {
            if let bad = row.firstIndex(where: { $0 < 0 || $0 >= c.vocabSize }) {
                throw ModelError.invalidInput(field: "ids", reason: "row \(b) token \(bad) is id \(row[bad]), outside 0..<\(c.vocabSize)",
                                              hint: "was the text tokenized with this model's vocab.txt?")
            }
        }
        if let typeIds {
            guard typeIds.count == ids.count, typeIds.allSatisfy({ $0.count == L }),
                  typeIds.allSatisfy({ $0.allSatisfy { $0 >= 0 && $0 < c.typeVocabSize } }) else {
                throw ModelError.invalidInput(field: "typeIds", reason: "must be \(ids.count) rows of \(L) ids in 0..<\(c.typeVocabSize)",
                                              hint: "0 for the first sentence, 1 for the second")
            }
        }
        if let masks {
            guard masks.count == ids.count, masks.allSatisfy({ $0.count == L && $0.contains(1) && $0.allSatisfy { $0 == 0 || $0 == 1 } }) else {
                throw ModelError.invalidInput(field: "masks", reason: "must be \(ids.count) rows of \(L) 0/1 values, each with a 1",
                                              hint: "1 marks a real token, 0 padding")
            }
        }
    }

    // MARK: initialisation

    /// A seeded BERT initialisation (HF `BertPreTrainedModel._init_weights`: normal(0, 0.02) for
    /// linears and embeddings, zero biases, LayerNorm γ = 1, β = 0) with pooler and classifier.
    /// α are left for the first batch to calibrate.
    /// - Throws: `ModelError.invalidConfig` when the config has no `num_labels`.
    public static func initialWeights(config c: BERTConfig, seed: UInt64, std: Float = 0.02) throws -> [String: Tensor] {
        guard let K = c.numLabels, K >= 1 else {
            throw ModelError.invalidConfig(file: "config.json", key: "num_labels", reason: "is missing",
                                           hint: "a classifier needs num_labels (or id2label)")
        }
        var rng = SeededRNG(seed: seed)
        let C = c.hiddenSize, I = c.intermediateSize
        var w: [String: Tensor] = [:]
        func normal(_ shape: [Int]) -> Tensor { Tensor.randomNormal(shape, std: std, rng: &rng) }
        func linear(_ name: String, out: Int, in inF: Int) {
            w[name + ".weight"] = normal([out, inF]); w[name + ".bias"] = Tensor(zeros: [out])
        }
        func norm(_ name: String) {
            w[name + ".weight"] = Tensor(repeating: 1, shape: [C]); w[name + ".bias"] = Tensor(zeros: [C])
        }
        w["embeddings.word_embeddings.weight"] = normal([c.vocabSize, C])
        w["embeddings.position_embeddings.weight"] = normal([c.maxPositions, C])
        w["embeddings.token_type_embeddings.weight"] = normal([c.typeVocabSize, C])
        norm("embeddings.LayerNorm")
        for i in 0..<c.layers {
            let pre = "encoder.layer.\(i)."
            for n in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
                linear(pre + n, out: C, in: C)
            }
            linear(pre + "intermediate.dense", out: I, in: C)
            linear(pre + "output.dense", out: C, in: I)
            norm(pre + "attention.output.LayerNorm")
            norm(pre + "output.LayerNorm")
        }
        linear("pooler.dense", out: C, in: C)
        linear("classifier", out: K, in: C)
        return w
    }
}
