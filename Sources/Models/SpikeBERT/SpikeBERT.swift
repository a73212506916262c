// SpikeBERT: SpikeLM's spiking BERT encoder (forward / inference), with per-site tracing.
//
// What it is: BERT embeddings, post-LN encoder layers whose six linears (Q, K, V, attention
// output, FFN in, FFN out) read elastic bi-spikes of their input (SpikeLinear), K and V spiked
// again after projection, the input repeated over T timesteps and the output averaged over T;
// then the pooler and a sequence-classification head when the checkpoint has them. A plain HF
// BERT checkpoint becomes spiking on load: its α are calibrated on the first input (2·mean|m_t|)
// and frozen. `neuron = .none` bypasses every site: the float BERT (HF BertModel).
// What it is not: training (no backward), the MLM head (ignored on load), or a tokenizer.
//
// Released code (spikeLM-BERT/spike_bert.py), per layer, for every timestep t of [T, L, C]:
//   q = SpikeLinear_q(x)   k = spike_k(SpikeLinear_k(x))   v = spike_v(SpikeLinear_v(x))
//   p = softmax(q_t·k_tᵀ/√d + mask)  per head;   ctx_t = p·v_t          (real-valued)
//   a = LayerNorm(SpikeLinear_ao(ctx) + x)           residual: the layer's own input at step t
//   y = LayerNorm(SpikeLinear_out(gelu(SpikeLinear_in(a))) + a)
// The encoder output is mean_t(y) of the last layer (`hidden_states.mean(0)` in BertEncoder);
// the pooler is tanh(W·h[CLS] + b) on that mean, the classifier W·pooled + b.
// `spike_k` / `spike_v` quantise each timestep with its own α (no membrane across T); the
// SpikeLinear neurons carry the membrane across T (ElasticBiSpike.swift has the equations).
// LayerNorm uses config.layer_norm_eps everywhere (HF); the released code hard-codes 1e-12 in the
// two encoder norms, which is what BERT configs say anyway.
//
// Shape legend: T timesteps, L tokens, C hidden, I intermediate, H heads, d = C/H, K labels.

import Foundation
import Engine
import Neurons

/// What one forward pass returns.
public struct BERTOutput: Sendable {
    /// Final hidden states [L, C], averaged over the T timesteps.
    public var hidden: Tensor
    /// tanh(W·h[CLS] + b) [C] when the checkpoint has a pooler.
    public var pooled: [Float]?
    /// Classifier logits [K] when the checkpoint has a classification head.
    public var logits: [Float]?
    /// softmax(logits) when K ≥ 2 (K = 1 is regression, e.g. STS-B).
    public var probabilities: [Float]?
    /// Timesteps actually run (1 when every site is bypassed: all steps would be identical).
    public var steps: Int
}

/// SpikeLM's spiking BERT. Mutable between calls: `neuron`, `steps`, per-site frequency control.
public final class SpikeBERT {
    public let config: BERTConfig
    /// Spiking sites' neuron: `.elastic` (ternary, released), `.binary`, `.signed`, or `.none` (float BERT).
    public var neuron: NeuronKind
    /// Timesteps T. Changing it keeps checkpoint α only when T equals the checkpoint's T; otherwise
    /// the sites recalibrate on the next input.
    public var steps: Int {
        didSet { if steps != oldValue { applySteps() } }
    }
    /// Every spiking site name, in the order a forward pass runs them.
    public let siteNames: [String]
    /// Names in the checkpoint that were recognised but not used (buffers, MLM head).
    public let ignoredTensors: [String]
    /// True when the checkpoint carried SpikeLM α for every site.
    public let hasCheckpointAlpha: Bool

    /// SpikeLLM's neuron at the sites (`neuron == .gif`): the salient channels per site, from
    /// `calibrateGIF`; nil until calibrated.
    public var gifMasks: [String: SpikeLLMMask]?
    /// SpikeLLM's controls (abits, addbit, low_p).
    public var spikeLLM = SpikeLLMSettings()
    /// While calibrating GIF: each site's real input rows are collected here (output = input).
    var gifCollector: [String: [Float]]?

    public var hasPooler: Bool { weights.pooler != nil }
    public var hasClassifier: Bool { weights.classifier != nil }

    let weights: BERTWeights
    var sites: [String: ElasticBiSpike]
    /// Transposed / packed weights of the fast path, built on first use and shared by clones.
    var fast = BERTFastCache()
    /// Spike-input linears fire below this rate → event kernel, else dense GEMM (same result either way).
    var eventBelowRate = SpikeBERT.defaultEventBelowRate
    private let checkpointAlpha: [String: [Float]]

    /// Builds the model from HF-named tensors (`bert.` prefix optional).
    /// - Parameters:
    ///   - neuron: default from `input_bits` (1 → `.signed`, 32 → `.none`, else `.elastic`).
    /// - Throws: `ModelError` naming the first missing / unexpected tensors or the first wrong shape.
    /// - Cost: no copy of contiguous tensors.
    public init(config: BERTConfig, weights tensors: [String: Tensor], neuron: NeuronKind? = nil) throws {
        guard config.steps >= 1 else {
            throw ModelError.invalidConfig(file: "config.json", key: "T", reason: "is \(config.steps), expected ≥ 1",
                                           hint: "SpikeLM uses T = 1 or 4")
        }
        self.config = config
        let weights = try BERTWeights(config: config, tensors: tensors)
        self.weights = weights
        switch neuron ?? (config.inputBits == 1 ? .signed : config.inputBits == 32 ? NeuronKind.none : .elastic) {
        case .lif, .gif:
            throw ModelError.unsupported(what: "a \(neuron!.rawValue) neuron in SpikeBERT",
                                         hint: "SpikeBERT runs elastic, binary, signed or none")
        case let n: self.neuron = n
        }
        self.steps = config.steps
        var names: [String] = []
        for i in 0..<config.layers { names += spikeBERTSiteNames(layer: i) }
        self.siteNames = names
        self.ignoredTensors = weights.ignored
        self.checkpointAlpha = weights.alpha
        self.hasCheckpointAlpha = names.allSatisfy { weights.alpha[$0] != nil }
        var s: [String: ElasticBiSpike] = [:]
        for name in names {
            let kv = name.hasSuffix(".key_spike") || name.hasSuffix(".value_spike")
            s[name] = ElasticBiSpike(steps: config.steps, alpha: weights.alpha[name] ?? [], recurrent: !kv)
        }
        self.sites = s
    }

    private func applySteps() {
        for name in siteNames {
            sites[name]!.steps = steps
            if let a = checkpointAlpha[name], a.count == steps { sites[name]!.alpha = a } else if !sites[name]!.isCalibrated {
                sites[name]!.alpha = []
            }
        }
    }

    // MARK: run-time controls

    /// The frequency control in force at `site`.
    public func control(site: String) throws -> FrequencyControl { try neuronAt(site).control }

    /// Sets the frequency control of one site, or of every site when `site` is nil.
    public func setControl(_ control: FrequencyControl, site: String? = nil) throws {
        guard control.k > 0, control.k.isFinite else {
            throw ModelError.invalidInput(field: "k", reason: "is \(control.k), expected a positive number",
                                          hint: "k = 2 is the released behaviour; larger k → fewer spikes")
        }
        if let site {
            _ = try neuronAt(site)
            sites[site]!.control = control
        } else {
            for n in siteNames { sites[n]!.control = control }
        }
    }

    /// α per timestep at `site` (k = 2 scale): from the checkpoint, or calibrated; empty before calibration.
    public func alpha(site: String) throws -> [Float] { try neuronAt(site).alpha }

    /// Sets α per timestep at `site` (count must be T).
    public func setAlpha(_ alpha: [Float], site: String) throws {
        _ = try neuronAt(site)
        guard alpha.count == steps, alpha.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw ModelError.invalidInput(field: "alpha at \(site)", reason: "has \(alpha.count) values \(alpha.prefix(4)), expected \(steps) positive numbers",
                                          hint: "one α per timestep T")
        }
        sites[site]!.alpha = alpha
    }

    /// Forgets every α (checkpoint ones too): the next input recalibrates all sites.
    public func resetCalibration() {
        for n in siteNames { sites[n]!.alpha = [] }
    }

    /// The neuron (config and α) of one site.
    public func neuronAt(_ site: String) throws -> ElasticBiSpike {
        guard let n = sites[site] else {
            let near = siteNames.first { $0.hasSuffix(site) || site.hasSuffix($0) } ?? siteNames.first ?? ""
            throw ModelError.invalidInput(field: "site", reason: "'\(site)' is not a spiking site of this model",
                                          hint: "sites look like '\(near)'")
        }
        return n
    }

    // MARK: forward

    /// Runs one sequence (the fast path, SpikeBERT+Fast.swift).
    /// - Parameters:
    ///   - ids: token ids [L] (1 ≤ L ≤ max_position_embeddings).
    ///   - typeIds: token type ids [L] (0 for sentence A, 1 for B); nil = all 0.
    ///   - mask: attention mask [L] of 0/1; 0 marks padding, which no token attends to. nil = all 1.
    ///   - probe: records every site's membrane, spikes and current as T·L rows (timestep-major).
    /// - Throws: `ModelError.invalidInput` for ids/type ids out of range, wrong lengths, or a mask without a 1.
    /// - Cost: T·L·(4C² + 2CI) multiply-adds in the linears (T = 1 with `.none`; spike inputs cost
    ///   ∝ their nonzeros when sparse), plus T·H·L²·2d in attention.
    public func forward(ids: [Int], typeIds: [Int]? = nil, mask: [Int]? = nil, probe: Probe? = nil) throws -> BERTOutput {
        try validate(ids: ids, typeIds: typeIds, mask: mask)
        try checkNeuron()
        return forwardFast(ids: [ids], typeIds: typeIds.map { [$0] }, masks: mask.map { [$0] }, probe: probe)[0]
    }

    /// Throws for neurons SpikeBERT does not run (set after init).
    func checkNeuron() throws {
        if neuron == .gif && gifMasks == nil && gifCollector == nil {
            throw ModelError.unsupported(what: "a gif neuron without a calibrated plan",
                                         hint: "calibrate first (SpikeBERTModel.prepare / calibrateGIF)")
        }
        if neuron == .lif {
            throw ModelError.unsupported(what: "a \(neuron.rawValue) neuron in SpikeBERT",
                                         hint: "SpikeBERT runs elastic, binary, signed or none")
        }
    }

    /// Runs the spiking neuron of `site` over T timesteps of `rows` tokens: the single place where a
    /// site's neuron runs (both paths). `input` and `out` are [T, rows, width], not aliased.
    func runSite(_ site: String, _ input: UnsafePointer<Float>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>,
                 variant: ElasticBiSpike.Variant, steps T: Int, valid: [Bool], probe: Probe?) {
        if neuron == .gif {
            runGIF(site, input, rows: rows * T, width: width, into: out, valid: valid, probe: probe)
            return
        }
        sites[site]!.variant = variant
        sites[site]!.steps = T
        sites[site]!.run(input, rows: rows, width: width, into: out, validRows: valid, site: site, probe: probe)
    }

    /// The straightforward implementation (one GEMM per linear and timestep block, scalar
    /// attention): the reference the fast path is tested against. Same contract as `forward`.
    func forwardReference(ids: [Int], typeIds: [Int]? = nil, mask: [Int]? = nil, probe: Probe? = nil) throws -> BERTOutput {
        let c = config
        let L = ids.count, C = c.hiddenSize, I = c.intermediateSize
        try validate(ids: ids, typeIds: typeIds, mask: mask)
        try checkNeuron()
        let valid = (mask ?? [Int](repeating: 1, count: L)).map { $0 != 0 }
        let spiking = neuron != .none
        let variant = neuron.alphabet ?? .ternary
        let T = spiking && neuron != .gif ? steps : 1  // GIF neurons carry their own steps
        let rows = T * L

        let x = Buffer(rows * C), q = Buffer(rows * C), k = Buffer(rows * C), v = Buffer(rows * C)
        let ctx = Buffer(rows * C), a = Buffer(rows * C), inter = Buffer(rows * I)
        let spikes = Buffer(rows * max(C, I))
        defer { [x, q, k, v, ctx, a, inter, spikes].forEach { $0.free() } }

        // Embeddings: e[l] = LN(word[ids[l]] + type[typeIds[l]] + pos[l]), repeated over T.
        let w = weights
        let wp = ptr(w.word), tp = ptr(w.tokenType), pp = ptr(w.position)
        for l in 0..<L {
            let row = x.p + l * C
            let wr = wp + ids[l] * C, tr = tp + (typeIds?[l] ?? 0) * C, pr = pp + l * C
            for j in 0..<C { row[j] = (wr[j] + tr[j]) + pr[j] }
        }
        layerNorm(x.p, residual: nil, rows: L, width: C, w.embeddingNorm, out: x.p)
        for t in 1..<max(T, 1) { (x.p + t * L * C).update(from: x.p, count: L * C) }

        // One SpikeLinear: o = spike(input) across T at `site`, then y = o·Wᵀ + b.
        func spikeLinear(_ site: String, _ lin: LinearWeights, _ input: UnsafeMutablePointer<Float>,
                         _ out: UnsafeMutablePointer<Float>) {
            let inF = lin.inFeatures, outF = lin.outFeatures
            var src = UnsafePointer(input)
            if spiking {
                runSite(site, input, rows: L, width: inF, into: spikes.p, variant: variant, steps: T, valid: valid, probe: probe)
                src = UnsafePointer(spikes.p)
            }
            Tensor.gemm(rows, outF, inF, src, ptr(lin.weight), true, out)
            addBias(out, rows: rows, lin.bias)
        }
        // The extra spike on K or V (per-timestep α, no membrane), in place through `spikes`.
        func spikeInPlace(_ site: String, _ buf: UnsafeMutablePointer<Float>) {
            guard spiking else { return }
            runSite(site, buf, rows: L, width: C, into: spikes.p, variant: variant, steps: T, valid: valid, probe: probe)
            buf.update(from: spikes.p, count: rows * C)
        }

        for (i, lw) in w.layers.enumerated() {
            let p = "encoder.layer.\(i)."
            spikeLinear(p + "attention.self.query", lw.query, x.p, q.p)
            spikeLinear(p + "attention.self.key", lw.key, x.p, k.p)
            spikeLinear(p + "attention.self.value", lw.value, x.p, v.p)
            spikeInPlace(p + "attention.self.key_spike", k.p)
            spikeInPlace(p + "attention.self.value_spike", v.p)
            attention(q: q.p, k: k.p, v: v.p, out: ctx.p, steps: T, tokens: L, valid: valid)
            spikeLinear(p + "attention.output.dense", lw.attentionOut, ctx.p, a.p)
            layerNorm(a.p, residual: x.p, rows: rows, width: C, lw.attentionNorm, out: a.p)      // a = LN(ao + x)
            spikeLinear(p + "intermediate.dense", lw.intermediate, a.p, inter.p)
            activate(inter.p, count: rows * I)
            spikeLinear(p + "output.dense", lw.output, inter.p, x.p)
            layerNorm(x.p, residual: a.p, rows: rows, width: C, lw.outputNorm, out: x.p)         // y = LN(out + a)
        }

        // hidden = mean_t y_t  [L, C]
        var hidden = Tensor(zeros: [L, C])
        hidden.withUnsafeMutableBufferPointer { h in
            let hp = h.baseAddress!
            hp.update(from: x.p, count: L * C)
            for t in 1..<max(T, 1) {
                let src = x.p + t * L * C
                for j in 0..<(L * C) { hp[j] += src[j] }
            }
            if T > 1 {
                let s = 1 / Float(T)
                for j in 0..<(L * C) { hp[j] *= s }
            }
        }
        return heads(hidden: hidden, steps: T)
    }

    /// The pooler and classifier on the mean hidden states [L, C].
    func heads(hidden: Tensor, steps T: Int) -> BERTOutput {
        let C = config.hiddenSize, w = weights
        var out = BERTOutput(hidden: hidden, pooled: nil, logits: nil, probabilities: nil, steps: T)
        if let pooler = w.pooler {
            // pooled = tanh(W·h[CLS] + b)
            var pooled = [Float](repeating: 0, count: C)
            hidden.withUnsafeBufferPointer { h in
                pooled.withUnsafeMutableBufferPointer { pb in
                    Tensor.gemm(1, C, C, h.baseAddress!, ptr(pooler.weight), true, pb.baseAddress!)
                    addBias(pb.baseAddress!, rows: 1, pooler.bias)
                    for j in 0..<C { pb[j] = tanhf(pb[j]) }
                }
            }
            out.pooled = pooled
            if let cls = w.classifier {
                let K = cls.outFeatures
                var logits = [Float](repeating: 0, count: K)
                pooled.withUnsafeBufferPointer { pb in
                    logits.withUnsafeMutableBufferPointer { lb in
                        Tensor.gemm(1, K, C, pb.baseAddress!, ptr(cls.weight), true, lb.baseAddress!)
                        addBias(lb.baseAddress!, rows: 1, cls.bias)
                    }
                }
                out.logits = logits
                if K >= 2 {
                    let mx = logits.max()!
                    let e = logits.map { expf($0 - mx) }
                    let z = e.reduce(0, +)
                    out.probabilities = e.map { $0 / z }
                }
            }
        }
        return out
    }

    /// Runs a batch ([B, L] with per-row padding masks) as one: every linear sees all B·T·L rows;
    /// sequences of different lengths run in groups of equal length. Each row's result equals
    /// `forward` on that row alone. With uncalibrated sites, the first row calibrates α and the
    /// others reuse it.
    public func forwardBatch(ids: [[Int]], typeIds: [[Int]]? = nil, masks: [[Int]]? = nil) throws -> [BERTOutput] {
        if let typeIds, typeIds.count != ids.count {
            throw ModelError.invalidInput(field: "typeIds", reason: "has \(typeIds.count) rows for \(ids.count) sequences", hint: "one row per sequence")
        }
        if let masks, masks.count != ids.count {
            throw ModelError.invalidInput(field: "masks", reason: "has \(masks.count) rows for \(ids.count) sequences", hint: "one row per sequence")
        }
        for b in ids.indices { try validate(ids: ids[b], typeIds: typeIds?[b], mask: masks?[b]) }
        try checkNeuron()
        if ids.isEmpty { return [] }
        // Equal lengths run together, in order of first appearance (the first row still runs first).
        var groups: [Int: [Int]] = [:], order: [Int] = []
        for b in ids.indices {
            if groups[ids[b].count] == nil { order.append(ids[b].count) }
            groups[ids[b].count, default: []].append(b)
        }
        var outs = [BERTOutput?](repeating: nil, count: ids.count)
        for len in order {
            let g = groups[len]!
            let res = forwardFast(ids: g.map { ids[$0] }, typeIds: typeIds.map { t in g.map { t[$0] } },
                                  masks: masks.map { m in g.map { m[$0] } }, probe: nil)
            for (i, b) in g.enumerated() { outs[b] = res[i] }
        }
        return outs.map { $0! }
    }

    func validate(ids: [Int], typeIds: [Int]?, mask: [Int]?) throws {
        let c = config, L = ids.count
        guard L >= 1, L <= c.maxPositions else {
            throw ModelError.invalidInput(field: "ids", reason: "has \(L) tokens, expected 1…\(c.maxPositions)",
                                          hint: "truncate to max_position_embeddings = \(c.maxPositions)")
        }
        if let bad = ids.firstIndex(where: { $0 < 0 || $0 >= c.vocabSize }) {
            throw ModelError.invalidInput(field: "ids", reason: "token \(bad) is id \(ids[bad]), outside 0..<\(c.vocabSize)",
                                          hint: "was the text tokenized with this model's vocab.txt?")
        }
        if let typeIds {
            guard typeIds.count == L else {
                throw ModelError.invalidInput(field: "typeIds", reason: "has \(typeIds.count) entries for \(L) tokens", hint: "one type id per token")
            }
            if let bad = typeIds.firstIndex(where: { $0 < 0 || $0 >= c.typeVocabSize }) {
                throw ModelError.invalidInput(field: "typeIds", reason: "token \(bad) has type \(typeIds[bad]), outside 0..<\(c.typeVocabSize)",
                                              hint: "0 for the first sentence, 1 for the second")
            }
        }
        if let mask {
            guard mask.count == L else {
                throw ModelError.invalidInput(field: "mask", reason: "has \(mask.count) entries for \(L) tokens", hint: "one 0/1 per token")
            }
            guard mask.allSatisfy({ $0 == 0 || $0 == 1 }), mask.contains(1) else {
                throw ModelError.invalidInput(field: "mask", reason: "must hold 0/1 values with at least one 1, got \(mask.prefix(8))\(mask.count > 8 ? "…" : "")",
                                              hint: "1 marks a real token, 0 padding")
            }
        }
    }
}

/// A raw scratch buffer, freed explicitly (forward's `defer`).
private struct Buffer {
    let p: UnsafeMutablePointer<Float>
    init(_ n: Int) {
        p = .allocate(capacity: max(n, 1))
        p.initialize(repeating: 0, count: max(n, 1))
    }
    func free() { p.deallocate() }
}

// MARK: - copying (the workbench turns controls on copies; weights stay shared)

extension SpikeBERT {
    /// An independent model with the same weights (shared, read-only), neuron, T, and every site's
    /// α and frequency control. Changing the copy's controls or calibration leaves this one alone.
    public func clone(tensors: [String: Tensor]) throws -> SpikeBERT {
        let c = try SpikeBERT(config: config, weights: tensors, neuron: NeuronKind.none)
        c.neuron = neuron  // (gif is set after init: it needs a plan, copied below)
        c.steps = steps
        c.sites = sites
        c.gifMasks = gifMasks
        c.spikeLLM = spikeLLM
        c.fast = fast
        c.eventBelowRate = eventBelowRate
        return c
    }
}
