// SpikeGPT: the RWKV-4 language model whose two sub-blocks each end in a LIF neuron
// (SEEDS.md §1; Zhu et al., "SpikeGPT", seed 002). Inference forms only; training is in
// SpikeGPT+Training.swift.
//
// What it is: `forward(tokens:state:probe:)` runs a chunk of tokens with every linear layer
// batched over the chunk (GEMM) and the recurrences (token shift, WKV, LIF) stepped in order,
// carrying a `State`. A chunk of one token is the recurrent form the TUI steps through
// (`step`), using matrix-vector kernels. Both start from and return the same `State`, so the
// chunked and the recurrent forms agree by construction; the tests check it anyway.
// What it is not: the released inference script's fp16 rescaling (÷2 every 6 layers): with LIF
// thresholds between the layers it changes the spikes, so it is deliberately absent.
//
// Shape legend: T tokens in the chunk, C width, F FFN width (4C), V vocabulary, n layers.
//
// Block i:
//   if i == 0: x = LN0(x)
//   x = x + LIF1( TimeMix_i( LN1(x) ) )
//   x = x + LIF2( ChannelMix_i( LN2(x) ) )
// TimeMix:  xx = previous token's LN1(x) (zeros at the start)
//   xk = x·μk + xx·(1−μk) (likewise v, r);  k = Wk·xk;  v = Wv·xv;  r = σ(Wr·xr)
//   wkv = stable running-max recurrence with w = −exp(time_decay), u = time_first
//   out = Wo·(r ⊙ wkv)
// ChannelMix: k = relu(Wk·xk)²;  out = σ(Wr·xr) ⊙ (Wv·k)
// Head: logits = W_head · LN_out(x).   No biases in linear layers; LayerNorm eps 1e-5.

import Foundation
import Engine
import Neurons

/// Sizes of a SpikeGPT model. Example values: the 216M release (n 18, C 768, V 50277).
public struct SpikeGPTConfig: Sendable, Codable, Equatable {
    /// Number of blocks, e.g. 18.
    public var layers: Int
    /// Width C, e.g. 768.
    public var width: Int
    /// FFN width, 4·C in every released model.
    public var ffnWidth: Int
    /// Vocabulary size V, e.g. 50277 (GPT-NeoX BPE) or 77 (the char model).
    public var vocab: Int
    /// Heaviside of the embedding (the released 46M char model's binary embedding).
    public var binaryEmbedding: Bool = false
    /// Number of classes of the NLU head, when the checkpoint has one.
    public var classes: Int = 0

    public init(layers: Int, width: Int, ffnWidth: Int? = nil, vocab: Int, binaryEmbedding: Bool = false, classes: Int = 0) {
        self.layers = layers
        self.width = width
        self.ffnWidth = ffnWidth ?? 4 * width
        self.vocab = vocab
        self.binaryEmbedding = binaryEmbedding
        self.classes = classes
    }
}

/// Live controls of a SpikeGPT run: which neuron sits at the sites and each site's LIF config.
public struct SpikeGPTControls: Sendable, Codable, Equatable {
    /// `.lif` (the model) or `.none` (bypass: the sub-block output is added directly).
    public var neuron: NeuronKind = .lif
    /// LIF config per site, in site order (`blocks.0.att.lif`, `blocks.0.ffn.lif`, `blocks.1…`).
    public var lif: [LIFConfig]

    /// SpikeLLM coding of the linear layers' inputs (`neuron == .gif`): the salient channels per
    /// block linear, from `SpikeGPT.calibrateGIF`; nil until calibrated.
    public var gifMasks: [String: SpikeLLMMask]?
    /// SpikeLLM's controls (abits, addbit, low_p), calibrated on the input when GIF is switched on.
    public var spikeLLM = SpikeLLMSettings()
    /// Collects each linear layer's input rows (calibration for GIF / Optimal Brain Spiking).
    public var collectInputs = false

    public init(layers: Int) { lif = Array(repeating: LIFConfig(), count: 2 * layers) }
}

public struct SpikeGPT: Sendable {
    public let config: SpikeGPTConfig
    public var controls: SpikeGPTControls

    struct Layer: Sendable {
        var ln0w: Tensor?, ln0b: Tensor?
        var ln1w: Tensor, ln1b: Tensor, ln2w: Tensor, ln2b: Tensor
        var decay: Tensor          // w = −exp(time_decay), precomputed  [C]
        var first: Tensor          // u = time_first                     [C]
        var attMixK: Tensor, attMixV: Tensor, attMixR: Tensor   // [C]
        var attK: Tensor, attV: Tensor, attR: Tensor, attO: Tensor  // [C, C]
        var ffnMixK: Tensor, ffnMixR: Tensor                      // [C]
        var ffnK: Tensor           // [F, C]
        var ffnR: Tensor           // [C, C]
        var ffnV: Tensor           // [C, F]
    }

    let emb: Tensor       // [V, C]
    let head: Tensor      // [V, C]
    let lnOutW: Tensor, lnOutB: Tensor
    let layers: [Layer]
    /// NLU head (mean-pooled hidden → tanh(W1·h + b1) → W2·… + b2), when present.
    let clsDenseW: Tensor?, clsDenseB: Tensor?, clsOutW: Tensor?, clsOutB: Tensor?

    /// The checkpoint's tensors as loaded (names of SEEDS.md §1), for saving and training.
    public let weights: [String: Tensor]

    /// Site names in order: `blocks.{i}.att.lif`, `blocks.{i}.ffn.lif` — or, with GIF-coded
    /// linear inputs (`neuron == .gif`), `blocks.{i}.att.key.gif`, … (7 per block).
    public var siteNames: [String] {
        if controls.neuron == .gif { return blockLinears.map { $0.name + ".gif" } }
        return (0..<config.layers).flatMap { ["blocks.\($0).att.lif", "blocks.\($0).ffn.lif"] }
    }

    // MARK: loading

    /// Infers the sizes of a SpikeGPT checkpoint from its tensor shapes (`.pth` files carry no config).
    public static func inferConfig(_ w: [String: Tensor]) throws -> SpikeGPTConfig {
        guard let e = w["emb.weight"], e.rank == 2 else {
            throw ModelError.missingTensor(name: "emb.weight", hint: "not a SpikeGPT/RWKV checkpoint? " + ModelError.sample(w.keys))
        }
        var n = 0
        while w["blocks.\(n).ln1.weight"] != nil { n += 1 }
        guard n > 0 else { throw ModelError.missingTensor(name: "blocks.0.ln1.weight", hint: ModelError.sample(w.keys)) }
        let ffn = w["blocks.0.ffn.key.weight"]?.shape.first ?? 4 * e.shape[1]
        let classes = w["classifier.out.weight"]?.shape.first ?? 0
        return SpikeGPTConfig(layers: n, width: e.shape[1], ffnWidth: ffn, vocab: e.shape[0], classes: classes)
    }

    /// Builds the model from named tensors, checking every name and shape.
    public init(weights w: [String: Tensor], config cfg: SpikeGPTConfig? = nil) throws {
        let config = try cfg ?? SpikeGPT.inferConfig(w)
        let C = config.width, F = config.ffnWidth, V = config.vocab
        func get(_ name: String, _ shape: [Int], flatten: Bool = false) throws -> Tensor {
            guard let t = w[name] else {
                throw ModelError.missingTensor(name: name, hint: "expected shape \(shape) (C=\(C), F=\(F), V=\(V))")
            }
            let s = flatten ? [t.count] : t.shape
            guard s == shape else {
                throw ModelError.wrongShape(name: name, found: t.shape, expected: shape,
                                            hint: "C=\(C) and V=\(V) come from emb.weight")
            }
            return flatten ? try t.reshaped([t.count]).contiguous() : t.contiguous()
        }
        var layers: [Layer] = []
        for i in 0..<config.layers {
            let p = "blocks.\(i)."
            let decayRaw = try get(p + "att.time_decay", [C], flatten: true)
            layers.append(Layer(
                ln0w: i == 0 ? try get(p + "ln0.weight", [C]) : nil,
                ln0b: i == 0 ? try get(p + "ln0.bias", [C]) : nil,
                ln1w: try get(p + "ln1.weight", [C]), ln1b: try get(p + "ln1.bias", [C]),
                ln2w: try get(p + "ln2.weight", [C]), ln2b: try get(p + "ln2.bias", [C]),
                decay: decayRaw.map { -expf($0) },
                first: try get(p + "att.time_first", [C], flatten: true),
                attMixK: try get(p + "att.time_mix_k", [C], flatten: true),
                attMixV: try get(p + "att.time_mix_v", [C], flatten: true),
                attMixR: try get(p + "att.time_mix_r", [C], flatten: true),
                attK: try get(p + "att.key.weight", [C, C]), attV: try get(p + "att.value.weight", [C, C]),
                attR: try get(p + "att.receptance.weight", [C, C]), attO: try get(p + "att.output.weight", [C, C]),
                ffnMixK: try get(p + "ffn.time_mix_k", [C], flatten: true),
                ffnMixR: try get(p + "ffn.time_mix_r", [C], flatten: true),
                ffnK: try get(p + "ffn.key.weight", [F, C]), ffnR: try get(p + "ffn.receptance.weight", [C, C]),
                ffnV: try get(p + "ffn.value.weight", [C, F])))
        }
        self.config = config
        self.controls = SpikeGPTControls(layers: config.layers)
        self.emb = try get("emb.weight", [V, C])
        self.head = try get("head.weight", [V, C])
        self.lnOutW = try get("ln_out.weight", [C])
        self.lnOutB = try get("ln_out.bias", [C])
        self.layers = layers
        if config.classes > 0 {
            clsDenseW = try get("classifier.dense.weight", [C, C]); clsDenseB = try get("classifier.dense.bias", [C])
            clsOutW = try get("classifier.out.weight", [config.classes, C]); clsOutB = try get("classifier.out.bias", [config.classes])
        } else {
            clsDenseW = nil; clsDenseB = nil; clsOutW = nil; clsOutB = nil
        }
        self.weights = w
    }

    // MARK: state

    /// Everything carried from one token to the next. A value: copy it to step back.
    public struct State: Sendable, Equatable {
        /// Per layer, C values each, layer-major [n, C].
        public var attShift: [Float], ffnShift: [Float]
        public var aa: [Float], bb: [Float], pp: [Float]
        public var lifAtt: [Float], lifFfn: [Float]
        /// Tokens consumed so far.
        public var position: Int = 0

        public init(layers n: Int, width C: Int) {
            attShift = Array(repeating: 0, count: n * C); ffnShift = attShift
            aa = attShift; bb = attShift
            pp = Array(repeating: -1e30, count: n * C)  // "minus infinity" of the released code
            lifAtt = attShift; lifFfn = attShift
        }
    }

    public func initialState() -> State { State(layers: config.layers, width: config.width) }

    // MARK: forward

    public struct Output: Sendable {
        /// [T, V] next-token logits for each position of the chunk.
        public var logits: Tensor
        /// [T, C] LN_out(x): the final hidden state per token.
        public var hidden: Tensor
    }

    /// Runs a chunk of tokens from `state` (updated in place). Records LIF sites into `probe`.
    public func forward(tokens: [Int], state: inout State, probe: Probe? = nil) throws -> Output {
        let T = tokens.count, V = config.vocab
        var x = try embed(tokens)
        var scratch = Scratch(rows: T, config: config)
        for i in layers.indices { try block(i, &x, rows: T, state: &state, probe: probe, scratch: &scratch) }
        let a = finalNorm(x, rows: T)
        var logits = [Float](repeating: 0, count: T * V)
        linear(a, head, &logits, rows: T)
        state.position += T
        return Output(logits: try Tensor(shape: [T, V], values: logits), hidden: try Tensor(shape: [T, config.width], values: a))
    }

    /// The residual stream's first value for each token [T, C]: its embedding row (Heaviside of
    /// it for a binary embedding). Refuses ids outside the vocabulary.
    func embed(_ tokens: [Int]) throws -> [Float] {
        let T = tokens.count, C = config.width, V = config.vocab
        guard T > 0 else { throw ModelError.badInput(reason: "no tokens to run", hint: "give at least one token") }
        for (i, id) in tokens.enumerated() where id < 0 || id >= V {
            throw ModelError.badInput(reason: "token id \(id) at position \(i) is outside the vocabulary 0..<\(V)",
                                      hint: "was the prompt encoded with this model's tokenizer?")
        }
        var x = [Float](repeating: 0, count: T * C)
        emb.withUnsafeBufferPointer { e in
            for t in 0..<T {
                for c in 0..<C {
                    let v = e[tokens[t] * C + c]
                    x[t * C + c] = config.binaryEmbedding ? (v >= 0 ? 1 : 0) : v
                }
            }
        }
        return x
    }

    /// LN_out of the residual stream [T, C]: the hidden state the head reads.
    func finalNorm(_ x: [Float], rows T: Int) -> [Float] {
        var a = [Float](repeating: 0, count: T * config.width)
        layerNormRows(&a, x, lnOutW, lnOutB, rows: T, width: config.width)
        return a
    }

    /// Work buffers of one chunk of T rows (allocated once per chunk, shared by its blocks).
    struct Scratch {
        var a: [Float], mk: [Float], mv: [Float], mr: [Float]
        var k: [Float], v: [Float], r: [Float], y: [Float], o: [Float], s: [Float], h: [Float]
        var kf: [Float]
        init(rows T: Int, config: SpikeGPTConfig) {
            a = [Float](repeating: 0, count: T * config.width)
            mk = a; mv = a; mr = a; k = a; v = a; r = a; y = a; o = a; s = a; h = a
            kf = [Float](repeating: 0, count: T * config.ffnWidth)
        }
    }

    /// The recurrent state after every row of a chunk (`states[t]`: after row t), filled layer by
    /// layer as `block` runs with it: what a later prompt sharing the chunk's first rows resumes
    /// from.
    final class RowStates {
        var states: [State]
        init(rows: Int, template: State) { states = Array(repeating: template, count: rows) }
        /// Layer `base ..< base + C` of row t's `keyPath` array from `src[t·C ..< t·C + C]`.
        func put(_ key: WritableKeyPath<State, [Float]>, base: Int, width C: Int, rows T: Int, from src: UnsafePointer<Float>) {
            for t in 0..<T { put(key, base: base, width: C, row: t, from: src + t * C) }
        }
        /// Layer `base ..< base + C` of row `t`'s `keyPath` array from `src[0 ..< C]`.
        func put(_ key: WritableKeyPath<State, [Float]>, base: Int, width C: Int, row t: Int, from src: UnsafePointer<Float>) {
            states[t][keyPath: key].withUnsafeMutableBufferPointer { d in (d.baseAddress! + base).update(from: src, count: C) }
        }
    }

    /// Block `i` over a chunk of T rows: x (the residual stream [T, C]) in place, its recurrent
    /// state (token shift, WKV, LIF membranes of layer i) in `state`, its sites into `probe`.
    /// `chunk`: the rows are (part of) a prompt chunk — GEMM even for one row; `rows` (optional)
    /// collects layer i's state after every row.
    func block(_ i: Int, _ x: inout [Float], rows T: Int, state: inout State, probe: Probe?, scratch w: inout Scratch,
               chunk: Bool = false, rowStates: RowStates? = nil) throws {
        let C = config.width, F = config.ffnWidth
        let L = layers[i], base = i * C
        // GIF mode (SpikeLLM): the LIF sites are bypassed and the linear inputs are GIF-coded.
        let bypass = controls.neuron == .none || controls.neuron == .gif
        if let w0 = L.ln0w, let b0 = L.ln0b { layerNormRows(&x, x, w0, b0, rows: T, width: C) }

        // ---- TimeMix
        layerNormRows(&w.a, x, L.ln1w, L.ln1b, rows: T, width: C)
        tokenMix(w.a, L.attMixK, &w.mk, shift: state.attShift, base: base, rows: T)
        tokenMix(w.a, L.attMixV, &w.mv, shift: state.attShift, base: base, rows: T)
        tokenMix(w.a, L.attMixR, &w.mr, shift: state.attShift, base: base, rows: T)
        saveShift(w.a, &state.attShift, base: base, rows: T)
        if let rowStates { w.a.withUnsafeBufferPointer { rowStates.put(\.attShift, base: base, width: C, rows: T, from: $0.baseAddress!) } }
        // One token, plain linears: the three products in one parallel region (same bits).
        let batched = T == 1 && !chunk && controls.neuron != .gif && !controls.collectInputs
        if batched {
            w.mk.withUnsafeBufferPointer { mk in w.mv.withUnsafeBufferPointer { mv in w.mr.withUnsafeBufferPointer { mr in
                w.k.withUnsafeMutableBufferPointer { k in w.v.withUnsafeMutableBufferPointer { v in w.r.withUnsafeMutableBufferPointer { r in
                    gemvs([(L.attK, mk.baseAddress!, k.baseAddress!), (L.attV, mv.baseAddress!, v.baseAddress!),
                           (L.attR, mr.baseAddress!, r.baseAddress!)])
                } } }
            } } }
        } else {
            try layerIn("blocks.\(i).att.key", w.mk, L.attK, &w.k, rows: T, probe: probe, chunk: chunk)
            try layerIn("blocks.\(i).att.value", w.mv, L.attV, &w.v, rows: T, probe: probe, chunk: chunk)
            try layerIn("blocks.\(i).att.receptance", w.mr, L.attR, &w.r, rows: T, probe: probe, chunk: chunk)
        }
        wkvScan(w.k, w.v, L.decay, L.first, &w.y, rows: T, width: C, state: &state, base: base, rowStates: rowStates)
        for j in 0..<(T * C) { w.y[j] *= sigmoid(w.r[j]) }
        try layerIn("blocks.\(i).att.output", w.y, L.attO, &w.o, rows: T, probe: probe, chunk: chunk)
        try spikeSite(2 * i, w.o, &w.s, &w.h, rows: T, v: &state.lifAtt, base: base, bypass: bypass, probe: probe,
                      rowStates: rowStates, key: \.lifAtt)
        for j in 0..<(T * C) { x[j] += w.s[j] }

        // ---- ChannelMix
        layerNormRows(&w.a, x, L.ln2w, L.ln2b, rows: T, width: C)
        tokenMix(w.a, L.ffnMixK, &w.mk, shift: state.ffnShift, base: base, rows: T)
        tokenMix(w.a, L.ffnMixR, &w.mr, shift: state.ffnShift, base: base, rows: T)
        saveShift(w.a, &state.ffnShift, base: base, rows: T)
        if let rowStates { w.a.withUnsafeBufferPointer { rowStates.put(\.ffnShift, base: base, width: C, rows: T, from: $0.baseAddress!) } }
        if batched {
            w.mk.withUnsafeBufferPointer { mk in w.mr.withUnsafeBufferPointer { mr in
                w.kf.withUnsafeMutableBufferPointer { kf in w.r.withUnsafeMutableBufferPointer { r in
                    gemvs([(L.ffnK, mk.baseAddress!, kf.baseAddress!), (L.ffnR, mr.baseAddress!, r.baseAddress!)])
                } }
            } }
            for j in 0..<(T * F) { let q = max(w.kf[j], 0); w.kf[j] = q * q }
            try layerIn("blocks.\(i).ffn.value", w.kf, L.ffnV, &w.v, rows: T, probe: probe)
        } else {
            try layerIn("blocks.\(i).ffn.key", w.mk, L.ffnK, &w.kf, rows: T, probe: probe, chunk: chunk)
            for j in 0..<(T * F) { let q = max(w.kf[j], 0); w.kf[j] = q * q }
            try layerIn("blocks.\(i).ffn.value", w.kf, L.ffnV, &w.v, rows: T, probe: probe, chunk: chunk)
            try layerIn("blocks.\(i).ffn.receptance", w.mr, L.ffnR, &w.r, rows: T, probe: probe, chunk: chunk)
        }
        for j in 0..<(T * C) { w.o[j] = sigmoid(w.r[j]) * w.v[j] }
        try spikeSite(2 * i + 1, w.o, &w.s, &w.h, rows: T, v: &state.lifFfn, base: base, bypass: bypass, probe: probe,
                      rowStates: rowStates, key: \.lifFfn)
        for j in 0..<(T * C) { x[j] += w.s[j] }
    }

    /// The recurrent form: one token.
    public func step(token: Int, state: inout State, probe: Probe? = nil) throws -> Output {
        try forward(tokens: [token], state: &state, probe: probe)
    }

    /// Class logits of the NLU head: mean over tokens of the final hidden state → MLP.
    public func classify(tokens: [Int], probe: Probe? = nil) throws -> (logits: [Float], hidden: Tensor) {
        guard clsOutW != nil else {
            throw ModelError.badInput(reason: "this SpikeGPT checkpoint has no classifier head (classifier.out.weight)",
                                      hint: "run a prompt instead, or train a classifier with 'spikescope train --glue'")
        }
        var st = initialState()
        let out = try forward(tokens: tokens, state: &st, probe: probe)
        return (classHead(hidden: out.hidden.values, rows: tokens.count) ?? [], out.hidden)
    }

    // MARK: pieces

    /// LIF site `index` over T rows (or identity when bypassed), recording into the probe.
    private func spikeSite(_ index: Int, _ x: [Float], _ s: inout [Float], _ h: inout [Float], rows T: Int,
                           v: inout [Float], base: Int, bypass: Bool, probe: Probe?,
                           rowStates: RowStates? = nil, key: WritableKeyPath<State, [Float]> = \.lifAtt) throws {
        let C = config.width
        let name = index % 2 == 0 ? "blocks.\(index / 2).att.lif" : "blocks.\(index / 2).ffn.lif"
        if bypass {
            for j in 0..<(T * C) { s[j] = x[j]; h[j] = x[j] }
            // Recorded (as a site that does not spike) only when the model runs without neurons; in
            // GIF mode the coded sites are the linears' inputs and these are not sites at all.
            if let probe, controls.neuron == .none {
                probe.record(name, neuron: .none, width: C, membrane: Array(h[0..<(T * C)]), spikes: Array(s[0..<(T * C)]), current: Array(x[0..<(T * C)]))
                // The site's controls as set (they apply again when its neuron comes back).
                let cfg = controls.lif[index]
                probe.annotate(name) { site in site.threshold = cfg.threshold; site.k = cfg.k }
            }
            return
        }
        var lif = LIF(width: C, config: controls.lif[index])
        for c in 0..<C { lif.v[c] = v[base + c] }
        x.withUnsafeBufferPointer { xp in
            s.withUnsafeMutableBufferPointer { sp in
                h.withUnsafeMutableBufferPointer { hp in
                    if let rowStates {
                        // Step by step (what `run` does), keeping the membrane after each row.
                        for t in 0..<T {
                            lif.step(xp.baseAddress! + t * C, spikes: sp.baseAddress! + t * C, charged: hp.baseAddress! + t * C)
                            lif.v.withUnsafeBufferPointer { rowStates.put(key, base: base, width: C, row: t, from: $0.baseAddress!) }
                        }
                    } else {
                        lif.run(steps: T, xp.baseAddress!, spikes: sp.baseAddress!, charged: hp.baseAddress!)
                    }
                    if let probe {
                        probe.record(name, neuron: .lif, width: C, rows: T, membrane: hp.baseAddress!,
                                     spikes: sp.baseAddress!, current: xp.baseAddress!)
                    }
                }
            }
        }
        for c in 0..<C { v[base + c] = lif.v[c] }
        if let probe {
            let cfg = controls.lif[index]
            probe.annotate(name) { site in
                site.threshold = cfg.threshold
                site.k = cfg.k
                site.layout = [site.steps]
            }
        }
    }

    /// out[t] = a[t]·μ + a[t−1]·(1−μ), with a[−1] = shift[base…] (the previous chunk's last row).
    private func tokenMix(_ a: [Float], _ mix: Tensor, _ out: inout [Float], shift: [Float], base: Int, rows T: Int) {
        let C = config.width
        mix.withUnsafeBufferPointer { m in
            for t in 0..<T {
                for c in 0..<C {
                    let prev = t == 0 ? shift[base + c] : a[(t - 1) * C + c]
                    out[t * C + c] = a[t * C + c] * m[c] + prev * (1 - m[c])
                }
            }
        }
    }

    /// Saves the chunk's last row as the next chunk's previous token.
    private func saveShift(_ a: [Float], _ shift: inout [Float], base: Int, rows T: Int) {
        let C = config.width
        for c in 0..<C { shift[base + c] = a[(T - 1) * C + c] }
    }
}

extension SpikeGPT {
    /// The WKV recurrence over T rows, stable running-max form (SEEDS.md §1):
    ///   ww = u + k;  p = max(pp, ww);  e1 = exp(pp − p);  e2 = exp(ww − p)
    ///   wkv = (e1·aa + e2·v) / (e1·bb + e2)
    ///   ww = pp + w;  p = max(ww, k);  e1 = exp(ww − p);  e2 = exp(k − p)
    ///   aa = e1·aa + e2·v;  bb = e1·bb + e2;  pp = p
    func wkvScan(_ k: [Float], _ v: [Float], _ w: Tensor, _ u: Tensor, _ y: inout [Float],
                 rows T: Int, width C: Int, state: inout State, base: Int, rowStates: RowStates? = nil) {
        // aa, bb, pp after every row, when asked (`rowStates`), gathered [T, C] then stored.
        var trail = rowStates == nil ? [] : [Float](repeating: 0, count: 3 * T * C)
        w.withUnsafeBufferPointer { wp in
            u.withUnsafeBufferPointer { up in
                for c in 0..<C {
                    var aa = state.aa[base + c], bb = state.bb[base + c], pp = state.pp[base + c]
                    let wc = wp[c], uc = up[c]
                    for t in 0..<T {
                        let kk = k[t * C + c], vv = v[t * C + c]
                        var ww = uc + kk
                        var p = max(pp, ww)
                        var e1 = expf(pp - p), e2 = expf(ww - p)
                        y[t * C + c] = (e1 * aa + e2 * vv) / (e1 * bb + e2)
                        ww = pp + wc
                        p = max(ww, kk)
                        e1 = expf(ww - p); e2 = expf(kk - p)
                        aa = e1 * aa + e2 * vv
                        bb = e1 * bb + e2
                        pp = p
                        if !trail.isEmpty {
                            trail[t * C + c] = aa; trail[(T + t) * C + c] = bb; trail[(2 * T + t) * C + c] = pp
                        }
                    }
                    state.aa[base + c] = aa; state.bb[base + c] = bb; state.pp[base + c] = pp
                }
            }
        }
        if let rowStates {
            trail.withUnsafeBufferPointer { tp in
                rowStates.put(\.aa, base: base, width: C, rows: T, from: tp.baseAddress!)
                rowStates.put(\.bb, base: base, width: C, rows: T, from: tp.baseAddress! + T * C)
                rowStates.put(\.pp, base: base, width: C, rows: T, from: tp.baseAddress! + 2 * T * C)
            }
        }
    }
}
