// Llama: a LLaMA-family decoder (LLaMA 1–3, TinyLlama, SmolLM, Mistral, Qwen2) with SpikeLLM's
// neuron at the input of every projection (SEEDS-SPIKELLM.md; SpikeLLMQuantizer.swift).
//
// What it is: the forward over a chunk of new tokens against a KV cache (a whole prompt at once,
// or one token per call when generating: the same code), weights used where they lie (f32
// borrowed from the map, bf16 read by the bf16 kernels without a whole-model conversion).
// Per block (HF LlamaDecoderLayer):
//   n = RMSNorm(x)·w_in;  q = Wq n (+b), k = Wk n (+b), v = Wv n (+b)     (Qwen2: biases)
//   q, k ← rotary(q, k, position) (rotate-half form, the config's θ and scaling)
//   a_h = softmax(q_h·K_gᵀ/√d, causal)·V_g,  g = h / (heads / kv_heads)   (grouped-query)
//   x = x + Wo a;  n2 = RMSNorm(x)·w_post;  x = x + Wdown(silu(Wgate n2) ⊙ Wup n2)
// Head: logits = W_head · RMSNorm(x)·w_norm (W_head = the embedding when tied).
// Sites: the input of each projection, named after it ("model.layers.0.self_attn.q_proj"); with
// `--neuron gif` each input is coded per token by SpikeLLM's quantiser before the projection.
// What it is not: the attention matmul quantisers of the released code (Q·Kᵀ, P·V stay float),
// sliding-window attention (Mistral's window is not applied), or training.
//
// Shape legend: m new tokens, C hidden, F intermediate, H heads, G kv heads, d head size, V vocab.

import Foundation
import Engine
import Formats
import Neurons

/// A weight matrix [out, in] as it lies in the checkpoint.
public enum LlamaMatrix: Sendable {
    case f32(Tensor)
    case bf16(HalfTensor)

    var rows: Int { switch self { case .f32(let t): return t.shape[0]; case .bf16(let h): return h.shape[0] } }
    var cols: Int { switch self { case .f32(let t): return t.shape[1]; case .bf16(let h): return h.shape[1] } }
    /// Exact Float32 copy of rows r.
    func float32(rows r: Range<Int>) -> [Float] {
        switch self {
        case .f32(let t):
            // Only the rows asked for (an embedding row per token must not copy the whole table).
            let c = t.shape[1]
            return withExtendedLifetime(t) { Array(UnsafeBufferPointer(start: t.elementPointer + r.lowerBound * c, count: r.count * c)) }
        case .bf16(let h): return h.float32(rows: r)
        }
    }
    var dtype: String { switch self { case .f32: return "f32"; case .bf16: return "bf16" } }
}

/// One projection: W [out, in] and an optional bias.
struct LlamaLinear: Sendable {
    let name: String
    let matrix: LlamaMatrix
    let bias: [Float]?
    var outFeatures: Int { matrix.rows }
    var inFeatures: Int { matrix.cols }

    /// The batch job y = W·x for one token (no bias), `weight` overriding the matrix.
    func job(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, weight override: Tensor?) -> Kernels.GEMVJob {
        switch override.map({ LlamaMatrix.f32($0) }) ?? matrix {
        case .f32(let t):
            return Kernels.GEMVJob(kind: .f32, nOut: outFeatures, nIn: inFeatures, y: y, w: UnsafeRawPointer(t.elementPointer), x: x, partial: nil)
        case .bf16(let h):
            return Kernels.GEMVJob(kind: .bf16Rows, nOut: outFeatures, nIn: inFeatures, y: y, w: h.base, x: x, partial: nil)
        }
    }

    /// y[m, out] = x[m, in]·Wᵀ (+ b), both cores.
    func apply(_ x: UnsafePointer<Float>, rows m: Int, into y: UnsafeMutablePointer<Float>, weight override: Tensor? = nil) {
        let O = outFeatures, I = inFeatures
        let mat: LlamaMatrix = override.map { .f32($0) } ?? matrix
        if m == 1 {
            var j = job(x: x, y: y, weight: override)
            withExtendedLifetime(mat) { Kernels.gemvBatch(&j, count: 1, threads: 2) }
            if let bias { for o in 0..<O { y[o] += bias[o] } }
            return
        }
        switch mat {
        case .f32(let t):
            Kernels.gemm(transA: false, transB: true, m: m, n: O, k: I, alpha: 1, a: x, lda: I,
                         b: t.elementPointer, ldb: I, beta: 0, c: y, ldc: O)
        case .bf16(let h):
            Kernels.gemmBF16Rows(m: m, nOut: O, nIn: I, y: y, ldy: O, x: x, ldx: I, w: h.base.assumingMemoryBound(to: UInt16.self), threads: 2)
        }
        if let bias { for r in 0..<m { for o in 0..<O { y[r * O + o] += bias[o] } } }
    }
}

struct LlamaBlock: Sendable {
    let inputNorm: [Float], postNorm: [Float]
    let q: LlamaLinear, k: LlamaLinear, v: LlamaLinear, o: LlamaLinear
    let gate: LlamaLinear, up: LlamaLinear, down: LlamaLinear
    var projections: [LlamaLinear] { [q, k, v, o, gate, up, down] }
}

/// Live controls: the neuron, SpikeLLM's settings and what calibration made of them.
public struct LlamaControls: Sendable {
    /// `.none` (float) or `.gif` (SpikeLLM).
    public var neuron: NeuronKind = .none
    public var spikeLLM = SpikeLLMSettings()
    /// Salient channels per site, from calibration; nil until `prepare`.
    public var masks: [String: SpikeLLMMask]? = nil
    /// Weights fake-quantised at `spikeLLM.wbits`, per projection; nil when not made (or no wbits).
    var quantizedWeights: [String: Tensor]? = nil
}

/// The KV cache of one sequence: per layer the rotated keys and the values of every position so far.
public final class LlamaCache {
    var keys: [[Float]], values: [[Float]]
    public private(set) var length = 0
    init(layers: Int) { keys = Array(repeating: [], count: layers); values = Array(repeating: [], count: layers) }
    func advance(_ m: Int) { length += m }
}

public struct Llama: Sendable {
    public let config: LlamaConfig
    public var controls = LlamaControls()
    let embedding: LlamaMatrix
    let blocks: [LlamaBlock]
    let finalNorm: [Float]
    let head: LlamaLinear
    let inverseFrequencies: [Double]

    /// Builds the model from HF tensor names, checking every shape against `config`.
    /// - Throws: `ModelError.missingTensor` / `.shapeMismatch` naming the tensor and the config key.
    public init(weights ws: WeightSet, config c: LlamaConfig) throws {
        config = c
        inverseFrequencies = c.inverseFrequencies
        func matrix(_ name: String, _ shape: [Int], _ because: String) throws -> LlamaMatrix {
            if let h = ws.half[name] {
                guard h.shape == shape else { throw ModelError.shapeMismatch(tensor: name, expected: shape, found: h.shape, because: because, hint: "config.json and the weights disagree") }
                return h.dtype == .bf16 && h.isAligned ? .bf16(h) : .f32(h.float32())
            }
            guard let t = ws[name] else { throw ModelError.missingTensor(name: name, hint: "a LLaMA-family checkpoint names it so (HF layout)") }
            guard t.shape == shape else { throw ModelError.shapeMismatch(tensor: name, expected: shape, found: t.shape, because: because, hint: "config.json and the weights disagree") }
            return .f32(t)
        }
        func vector(_ name: String, _ n: Int, _ because: String) throws -> [Float] {
            switch try matrix(name, [n], because) {
            case .f32(let t): return t.values
            case .bf16(let h): return h.float32().values
            }
        }
        func optionalVector(_ name: String, _ n: Int, _ because: String) throws -> [Float]? {
            ws.anyShape(of: name) == nil ? nil : try vector(name, n, because)
        }
        let C = c.hidden, F = c.intermediate, qW = c.heads * c.headDim, kvW = c.kvHeads * c.headDim
        embedding = try matrix("model.embed_tokens.weight", [c.vocab, C], "vocab_size × hidden_size")
        var blocks: [LlamaBlock] = []
        for i in 0..<c.layers {
            let p = "model.layers.\(i)."
            func lin(_ n: String, _ o: Int, _ inF: Int, bias: Bool = false) throws -> LlamaLinear {
                let why = "\(n) maps \(inF) to \(o) (from config.json)"
                return LlamaLinear(name: p + n, matrix: try matrix(p + n + ".weight", [o, inF], why),
                                   bias: bias ? try optionalVector(p + n + ".bias", o, why) : nil)
            }
            blocks.append(LlamaBlock(
                inputNorm: try vector(p + "input_layernorm.weight", C, "hidden_size"),
                postNorm: try vector(p + "post_attention_layernorm.weight", C, "hidden_size"),
                q: try lin("self_attn.q_proj", qW, C, bias: true), k: try lin("self_attn.k_proj", kvW, C, bias: true),
                v: try lin("self_attn.v_proj", kvW, C, bias: true), o: try lin("self_attn.o_proj", C, qW, bias: true),
                gate: try lin("mlp.gate_proj", F, C), up: try lin("mlp.up_proj", F, C), down: try lin("mlp.down_proj", C, F)))
        }
        self.blocks = blocks
        finalNorm = try vector("model.norm.weight", C, "hidden_size")
        if ws.anyShape(of: "lm_head.weight") != nil {
            head = LlamaLinear(name: "lm_head", matrix: try matrix("lm_head.weight", [c.vocab, C], "vocab_size × hidden_size"), bias: nil)
        } else if c.tied {
            head = LlamaLinear(name: "lm_head", matrix: embedding, bias: nil)
        } else {
            throw ModelError.missingTensor(name: "lm_head.weight", hint: "config.json says tie_word_embeddings is false; the head is missing from the weights")
        }
    }

    /// How each projection's weights are held ("bf16": read in place from the map; "f32").
    public var weightStorage: [String: String] {
        Dictionary(uniqueKeysWithValues: blocks.flatMap(\.projections).map { ($0.name, $0.matrix.dtype) })
    }

    /// Site names in run order (the input of each projection).
    public var siteNames: [String] { blocks.flatMap { $0.projections.map(\.name) } }

    // MARK: forward

    /// How a block treats its projections' inputs.
    enum Coding {
        case float
        /// Float, adding each input's saliency to the accumulators (calibration).
        case collect
        /// SpikeLLM-coded with these masks.
        case coded([String: SpikeLLMMask])
    }

    /// Runs `ids` (new tokens after `cache.length`) through every block; returns the final
    /// normalised hidden states [m, C]. Records sites into `probe`.
    public func forward(_ ids: [Int], cache: LlamaCache, probe: Probe?) throws -> [Float] {
        try forward(ids, cache: cache, probe: probe, streams: nil)
    }

    /// `forward`, also appending the residual stream entering each block and leaving the last to
    /// `streams` (index l: entering block l; index layers: after the last, before the final norm).
    func forward(_ ids: [Int], cache: LlamaCache, probe: Probe?, streams: UnsafeMutablePointer<[[Float]]>?) throws -> [Float] {
        var x = try embed(ids)
        let coding: Coding = controls.neuron == .gif ? .coded(controls.masks ?? [:]) : .float
        var none: [String: SaliencyAccumulator] = [:]
        for l in 0..<blocks.count {
            streams?.pointee[l] += x
            block(l, &x, rows: ids.count, cache: cache, coding: coding, saliency: &none, probe: probe)
        }
        streams?.pointee[blocks.count] += x
        cache.advance(ids.count)
        normalize(&x, rows: ids.count, weight: finalNorm)
        return x
    }

    /// Logits [m, V] of final hidden states [m, C].
    public func logits(_ hidden: [Float], rows m: Int) -> [Float] {
        var y = [Float](repeating: 0, count: m * config.vocab)
        hidden.withUnsafeBufferPointer { h in y.withUnsafeMutableBufferPointer { head.apply(h.baseAddress!, rows: m, into: $0.baseAddress!) } }
        return y
    }

    func embed(_ ids: [Int]) throws -> [Float] {
        let C = config.hidden
        var x = [Float](); x.reserveCapacity(ids.count * C)
        for (i, t) in ids.enumerated() {
            guard t >= 0, t < config.vocab else {
                throw ModelError.invalidInput(field: "token ids", reason: "id \(t) at position \(i) is outside the vocabulary 0…\(config.vocab - 1)",
                                              hint: "use the model's own tokenizer")
            }
            x += embedding.float32(rows: t..<(t + 1))
        }
        return x
    }

    func normalize(_ x: inout [Float], rows m: Int, weight w: [Float]) {
        let C = config.hidden, eps = config.rmsEps
        for r in 0..<m {
            var ss: Float = 0
            for j in 0..<C { ss += x[r * C + j] * x[r * C + j] }
            let inv = 1 / (ss / Float(C) + eps).squareRoot()
            for j in 0..<C { x[r * C + j] = w[j] * (x[r * C + j] * inv) }
        }
    }

    /// Applies the projections `lins` (all reading x [m, in]) to x, coding each one's input first
    /// as `coding` says; one token (decoding) runs them as one batch over both cores.
    func project(_ lins: [LlamaLinear], _ x: [Float], rows m: Int, coding: Coding, saliency: inout [String: SaliencyAccumulator],
                 probe: Probe?) -> [[Float]] {
        var inputs: [[Float]] = []
        var weights: [Tensor?] = []
        for lin in lins {
            let I = lin.inFeatures, O = lin.outFeatures
            // Calibration measures the float layer (weights as loaded), as the released `static` does.
            var w = controls.quantizedWeights?[lin.name]
            switch coding {
            case .float:
                if let probe { probe.record(lin.name, neuron: .none, width: I, membrane: x, spikes: x, current: nil) }
                inputs.append(x)
            case .collect:
                w = nil
                // The released `add_batch`: x ⊙ (x·Wᵀ·W) with the weights as loaded.
                var acc = saliency[lin.name] ?? SaliencyAccumulator(channels: I)
                let W = lin.matrix.float32(rows: 0..<O)
                W.withUnsafeBufferPointer { acc.add(x: x, rows: m, weight: $0.baseAddress!, out: O) }
                saliency[lin.name] = acc
                inputs.append(x)
            case .coded(let masks):
                inputs.append(SpikeLLMQuantizer.codeAndRecord(x, rows: m, width: I, mask: masks[lin.name], settings: controls.spikeLLM,
                                                              site: lin.name, probe: probe))
            }
            weights.append(w)
        }
        guard m == 1, lins.count > 1 else {
            return zip(lins, zip(inputs, weights)).map { lin, iw in
                var y = [Float](repeating: 0, count: m * lin.outFeatures)
                iw.0.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { lin.apply(xp.baseAddress!, rows: m, into: $0.baseAddress!, weight: iw.1) } }
                return y
            }
        }
        // One token: every product in one batch (the worker thread is woken once, not per product).
        let flatX = inputs.flatMap { $0 }
        var flatY = [Float](repeating: 0, count: lins.reduce(0) { $0 + $1.outFeatures })
        flatX.withUnsafeBufferPointer { xp in
            flatY.withUnsafeMutableBufferPointer { yp in
                var jobs: [Kernels.GEMVJob] = []
                var xo = 0, yo = 0
                for (lin, w) in zip(lins, weights) {
                    jobs.append(lin.job(x: xp.baseAddress! + xo, y: yp.baseAddress! + yo, weight: w))
                    xo += lin.inFeatures; yo += lin.outFeatures
                }
                withExtendedLifetime(weights) { jobs.withUnsafeBufferPointer { Kernels.gemvBatch($0.baseAddress!, count: jobs.count, threads: 2) } }
            }
        }
        var out: [[Float]] = []
        var yo = 0
        for lin in lins {
            var y = Array(flatY[yo..<(yo + lin.outFeatures)])
            if let b = lin.bias { for o in 0..<y.count { y[o] += b[o] } }
            out.append(y)
            yo += lin.outFeatures
        }
        return out
    }

    /// Block l on x [m, C] in place, appending its keys/values to `cache` (positions from cache.length).
    func block(_ l: Int, _ x: inout [Float], rows m: Int, cache: LlamaCache, coding: Coding,
               saliency: inout [String: SaliencyAccumulator], probe: Probe?) {
        let b = blocks[l], C = config.hidden, H = config.heads, G = config.kvHeads
        var n = x
        normalize(&n, rows: m, weight: b.inputNorm)
        let qkv = project([b.q, b.k, b.v], n, rows: m, coding: coding, saliency: &saliency, probe: probe)
        var q = qkv[0], k = qkv[1]
        let v = qkv[2]
        let start = cache.length
        rotate(&q, rows: m, heads: H, start: start)
        rotate(&k, rows: m, heads: G, start: start)
        cache.keys[l] += k
        cache.values[l] += v
        let a = attention(layer: l, q: q, rows: m, start: start, cache: cache)
        let o = project([b.o], a, rows: m, coding: coding, saliency: &saliency, probe: probe)[0]
        for i in 0..<(m * C) { x[i] += o[i] }
        var n2 = x
        normalize(&n2, rows: m, weight: b.postNorm)
        let gu = project([b.gate, b.up], n2, rows: m, coding: coding, saliency: &saliency, probe: probe)
        let g = gu[0], u = gu[1]
        var act = [Float](repeating: 0, count: g.count)
        for i in 0..<g.count { act[i] = g[i] / (1 + expf(-g[i])) * u[i] }
        let dn = project([b.down], act, rows: m, coding: coding, saliency: &saliency, probe: probe)[0]
        for i in 0..<(m * C) { x[i] += dn[i] }
    }

    /// Rotary embedding (HF rotate-half form) of rows [m, heads·d] at positions start…start+m−1.
    func rotate(_ x: inout [Float], rows m: Int, heads: Int, start: Int) {
        let d = config.headDim, half = d / 2
        for r in 0..<m {
            let pos = Float(start + r)
            for i in 0..<half {
                let angle = pos * Float(inverseFrequencies[i])
                let c = cosf(angle), s = sinf(angle)
                for h in 0..<heads {
                    let base = r * heads * d + h * d
                    let a = x[base + i], b = x[base + i + half]
                    x[base + i] = a * c - b * s
                    x[base + i + half] = b * c + a * s
                }
            }
        }
    }

    /// Causal grouped-query attention of the m new queries over the cache; [m, H·d].
    func attention(layer l: Int, q: [Float], rows m: Int, start: Int, cache: LlamaCache) -> [Float] {
        let H = config.heads, G = config.kvHeads, d = config.headDim, group = H / G
        let kvW = G * d, qW = H * d
        let scale = 1 / Float(d).squareRoot()
        var out = [Float](repeating: 0, count: m * qW)
        let keys = cache.keys[l], values = cache.values[l]
        out.withUnsafeMutableBufferPointer { op in
            let o = op.baseAddress!
            q.withUnsafeBufferPointer { qp in keys.withUnsafeBufferPointer { kp in values.withUnsafeBufferPointer { vp in
                // Split the heads over the cores only when there is enough work: one decoded token's
                // attention is microseconds, less than waking the pool (which then spins against
                // the GEMV worker on a 2-core machine).
                Kernels.parallelFor(H, parallel: m * (start + m) * d * H >= 1 << 19) { h in
                    let g = h / group
                    var scores = [Float](repeating: 0, count: start + m)
                    for r in 0..<m {
                        let n = start + r + 1
                        let qh = qp.baseAddress! + r * qW + h * d
                        var mx = -Float.infinity
                        for j in 0..<n {
                            let kj = kp.baseAddress! + j * kvW + g * d
                            var s: Float = 0
                            for i in 0..<d { s += qh[i] * kj[i] }
                            scores[j] = s * scale
                            mx = max(mx, scores[j])
                        }
                        var sum: Float = 0
                        for j in 0..<n { scores[j] = expf(scores[j] - mx); sum += scores[j] }
                        let oh = o + r * qW + h * d
                        for j in 0..<n {
                            let p = scores[j] / sum, vj = vp.baseAddress! + j * kvW + g * d
                            for i in 0..<d { oh[i] += p * vj[i] }
                        }
                    }
                }
            } } }
        }
        return out
    }

    // MARK: calibration

    /// SpikeLLM's calibration as the released pipeline runs it: block by block, each block's
    /// saliency measured on the float block whose input comes from the already coded blocks
    /// before it; then that block is coded and its output feeds the next.
    public mutating func calibrate(on prompts: [[Int]]) throws {
        try controls.spikeLLM.validate()
        makeQuantizedWeights()
        var masks: [String: SpikeLLMMask] = [:]
        var saliency: [String: SaliencyAccumulator] = [:]
        var states = try prompts.map { try embed($0) }
        var none: [String: SaliencyAccumulator] = [:]
        for l in 0..<blocks.count {
            for (i, ids) in prompts.enumerated() {
                var probeX = states[i]
                block(l, &probeX, rows: ids.count, cache: LlamaCache(layers: blocks.count), coding: .collect, saliency: &saliency, probe: nil)
            }
            for lin in blocks[l].projections {
                masks[lin.name] = SpikeLLMQuantizer.mask(saliency: saliency[lin.name]?.mean ?? [], lowP: controls.spikeLLM.lowP)
            }
            for (i, ids) in prompts.enumerated() {
                block(l, &states[i], rows: ids.count, cache: LlamaCache(layers: blocks.count), coding: .coded(masks), saliency: &none, probe: nil)
            }
        }
        controls.masks = masks
    }

    /// Fake-quantises every projection's weights at `wbits` (nil → drops them).
    public mutating func makeQuantizedWeights() {
        guard let bits = controls.spikeLLM.wbits, bits < 16 else { controls.quantizedWeights = nil; return }
        if controls.quantizedWeights != nil { return }
        var q: [String: Tensor] = [:]
        for b in blocks {
            for lin in b.projections {
                let w = SpikeLLMQuantizer.quantizeWeightRows(lin.matrix.float32(rows: 0..<lin.outFeatures), out: lin.outFeatures, in: lin.inFeatures, bits: bits)
                q[lin.name] = Tensor(shape: [lin.outFeatures, lin.inFeatures]) { dst in for i in 0..<w.count { dst[i] = w[i] } }
            }
        }
        controls.quantizedWeights = q
    }
}
