// SpikeGPT, training form: the whole sequence in parallel on autograd Variables (SEEDS.md §1).
//
// What it is: `SpikeGPTGraph` holds every parameter as a Variable and builds the graph of a
// batch [B, T] of tokens. The recurrences that cannot be batched (WKV over tokens, LIF over
// tokens) are fused ops with hand-written backward passes (backpropagation through time).
// Also the ablation variants of SpikeGPT's Table 5 and a seeded initialisation.
// What it is not: the inference path — `SpikeGPT.forward` is faster and records traces; the
// tests check both forms give the same logits and spikes.
//
// Shape legend: B batch, T tokens, C width, F FFN width, V vocabulary.

import Foundation
import Engine
import Neurons

/// SpikeGPT's Table 5 ablations, plus the released model.
public enum SpikeGPTVariant: String, Sendable, Codable, CaseIterable {
    /// RWKV-4 without spiking neurons.
    case vanilla
    /// Heaviside (no membrane memory) after both sub-blocks.
    case heaviside
    /// LIF after the FFN only ("SpikeGPT-B").
    case lifFFN = "lif-ffn"
    /// LIF after both sub-blocks (the released SpikeGPT).
    case spikegpt
}

public final class SpikeGPTGraph {
    public let config: SpikeGPTConfig
    public var variant: SpikeGPTVariant
    /// LIF config used at every site in training (k = 2, v_th = 1, tau = 2 by default).
    public var lif = LIFConfig()
    /// Dropout after each block in training (SEEDS.md: 0.03 in the released training).
    public var dropout: Float = 0
    /// Replace the Heaviside forward by its smooth arctan stand-in (gradient checks only).
    public var smoothSpikes = false
    /// Parameters by checkpoint name.
    public private(set) var parameters: [String: Variable] = [:]
    public var parameterNames: [String] { parameters.keys.sorted() }

    public init(weights: [String: Tensor], config: SpikeGPTConfig? = nil, variant: SpikeGPTVariant = .spikegpt) throws {
        let cfg = try config ?? SpikeGPT.inferConfig(weights)
        _ = try SpikeGPT(weights: weights, config: cfg)  // validates every name and shape
        self.config = cfg
        self.variant = variant
        for (name, t) in weights {
            // time_mix tensors are [1, 1, C] in checkpoints; the graph uses [C].
            let v = name.contains("time_mix") ? try t.reshaped([t.count]) : t
            parameters[name] = Variable(v.contiguous(), requiresGrad: true, name: name)
        }
    }

    /// The current weights, in checkpoint layout (time_mix as [1, 1, C]).
    public func exportWeights() throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (name, p) in parameters {
            out[name] = name.contains("time_mix") ? try p.value.reshaped([1, 1, p.value.count]) : p.value
        }
        return out
    }

    func p(_ name: String) -> Variable { parameters[name]! }

    /// Hidden states LN_out(x) for a batch of equal-length sequences: [B, T, C].
    public func hidden(_ batch: [[Int]], training: Bool = false, rng: inout SeededRNG) throws -> Variable {
        try encode(batch, training: training, rng: &rng).final
    }

    /// What one pass gives fine-tuning: the hidden states LN_out(x) [B, T, C], the residual
    /// stream after every block (with `layerOutputs`) [B, T, C] each, and the mean over spiking
    /// sites of each site's firing rate (nil for the vanilla variant).
    public func encode(_ batch: [[Int]], training: Bool = false, rng: inout SeededRNG,
                       layerOutputs: Bool = false) throws -> (final: Variable, layers: [Variable], firingRate: Double?) {
        var layers: [Variable] = []
        var rates: [Double] = []
        let B = batch.count, T = batch.first?.count ?? 0
        guard B > 0, T > 0, batch.allSatisfy({ $0.count == T }) else {
            throw ModelError.badInput(reason: "a training batch needs B ≥ 1 sequences of one length T ≥ 1",
                                      hint: "pad or crop the sequences to the context length")
        }
        let C = config.width
        var x = try p("emb.weight").embedding(ids: batch.flatMap { $0 }, shape: [B, T])
        if config.binaryEmbedding { x = x.heaviside(alpha: lif.surrogateAlpha) }
        for i in 0..<config.layers {
            let q = "blocks.\(i)."
            if i == 0 { x = try x.layerNorm(weight: p(q + "ln0.weight"), bias: p(q + "ln0.bias")) }
            // TimeMix
            let a = try x.layerNorm(weight: p(q + "ln1.weight"), bias: p(q + "ln1.bias"))
            let aShift = try SpikeGPTGraph.shiftTokens(a, B: B, T: T, C: C)
            let k = try mix(a, aShift, q + "att.time_mix_k").linear(weight: p(q + "att.key.weight"))
            let v = try mix(a, aShift, q + "att.time_mix_v").linear(weight: p(q + "att.value.weight"))
            let r = try mix(a, aShift, q + "att.time_mix_r").linear(weight: p(q + "att.receptance.weight")).sigmoid()
            let wkv = try Variable.wkv(timeDecay: p(q + "att.time_decay"), timeFirst: p(q + "att.time_first"), k: k, v: v)
            let att = try (r * wkv).linear(weight: p(q + "att.output.weight"))
            let attOut = try spike(att, site: .att)
            if attOut !== att { rates.append(SpikeGPTGraph.rate(attOut.value)) }
            x = try x + attOut
            // ChannelMix
            let b = try x.layerNorm(weight: p(q + "ln2.weight"), bias: p(q + "ln2.bias"))
            let bShift = try SpikeGPTGraph.shiftTokens(b, B: B, T: T, C: C)
            let kk = try mix(b, bShift, q + "ffn.time_mix_k").linear(weight: p(q + "ffn.key.weight")).relu().square()
            let rr = try mix(b, bShift, q + "ffn.time_mix_r").linear(weight: p(q + "ffn.receptance.weight")).sigmoid()
            let ffn = try rr * kk.linear(weight: p(q + "ffn.value.weight"))
            let ffnOut = try spike(ffn, site: .ffn)
            if ffnOut !== ffn { rates.append(SpikeGPTGraph.rate(ffnOut.value)) }
            x = try x + ffnOut
            if training && dropout > 0 { x = try x.dropout(p: dropout, training: true, rng: &rng) }
            if layerOutputs { layers.append(x) }
        }
        let final = try x.layerNorm(weight: p("ln_out.weight"), bias: p("ln_out.bias"))
        return (final, layers, rates.isEmpty ? nil : rates.reduce(0, +) / Double(rates.count))
    }

    /// The fraction of non-zero cells (spikes) of a site's output.
    static func rate(_ o: Tensor) -> Double {
        let c = o.contiguous()
        return c.withUnsafeBufferPointer { p in Double(p.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }) / Double(max(p.count, 1)) }
    }

    /// Next-token logits [B, T, V].
    public func logits(_ batch: [[Int]], training: Bool = false, rng: inout SeededRNG) throws -> Variable {
        try hidden(batch, training: training, rng: &rng).linear(weight: p("head.weight"))
    }

    /// Mean cross-entropy of predicting `targets` (same shape as `batch`).
    public func loss(_ batch: [[Int]], targets: [[Int]], training: Bool = false, rng: inout SeededRNG) throws -> Variable {
        let l = try logits(batch, training: training, rng: &rng)
        return try l.reshaped([-1, config.vocab]).crossEntropy(targets: targets.flatMap { $0 })
    }

    /// Class logits [B, classes]: mean over T of the hidden state → tanh(dense) → out.
    public func classLogits(_ batch: [[Int]], training: Bool = false, rng: inout SeededRNG) throws -> Variable {
        guard parameters["classifier.out.weight"] != nil else {
            throw ModelError.missingTensor(name: "classifier.out.weight", hint: "initialise with classes > 0")
        }
        return try classLogits(hidden: try hidden(batch, training: training, rng: &rng))
    }

    /// Class logits [B, classes] of hidden states [B, T, C] (`encode(…).final`).
    public func classLogits(hidden: Variable) throws -> Variable {
        guard parameters["classifier.out.weight"] != nil else {
            throw ModelError.missingTensor(name: "classifier.out.weight", hint: "initialise with classes > 0")
        }
        let h = try hidden.mean(axis: 1)
        let z = try h.linear(weight: p("classifier.dense.weight"), bias: p("classifier.dense.bias")).hyperbolicTangent()
        return try z.linear(weight: p("classifier.out.weight"), bias: p("classifier.out.bias"))
    }

    enum Site { case att, ffn }

    private func spike(_ x: Variable, site: Site) throws -> Variable {
        switch (variant, site) {
        case (.vanilla, _), (.lifFFN, .att): return x
        case (.heaviside, _):
            if smoothSpikes { return try Variable.lifSequence(x, config: lif, memory: false, smooth: true) }
            return (x - lif.threshold).heaviside(alpha: lif.surrogateAlpha)
        case (.lifFFN, .ffn), (.spikegpt, _):
            return try Variable.lifSequence(x, config: lif, memory: true, smooth: smoothSpikes)
        }
    }

    private func mix(_ a: Variable, _ shifted: Variable, _ name: String) throws -> Variable {
        let m = p(name)
        return try a * m + shifted * (1 - m)
    }

    /// xx[:, t] = a[:, t − 1], zeros at t = 0: the token shift (a [B, T, C]).
    static func shiftTokens(_ a: Variable, B: Int, T: Int, C: Int) throws -> Variable {
        if T == 1 { return Variable(Tensor(zeros: [B, 1, C])) }
        let head = Variable(Tensor(zeros: [B, 1, C]))
        return try Variable.concat([head, a.slice(axis: 1, 0..<(T - 1))], axis: 1)
    }

    // MARK: initialisation

    /// A seeded random initialisation in the official layout (small-model variant of RWKV-4's
    /// init: decay spread over channels, mixes ramped over layers, small output projections).
    public static func initialWeights(_ cfg: SpikeGPTConfig, seed: UInt64) -> [String: Tensor] {
        var rng = SeededRNG(seed: seed)
        let C = cfg.width, F = cfg.ffnWidth, V = cfg.vocab, n = cfg.layers
        var w: [String: Tensor] = [:]
        func normal(_ shape: [Int], _ std: Float) -> Tensor { Tensor.randomNormal(shape, std: std, rng: &rng) }
        w["emb.weight"] = Tensor.randomUniform([V, C], -1e-4 * 1000, 1e-4 * 1000, rng: &rng)
        w["head.weight"] = normal([V, C], 0.5 / Float(C).squareRoot())
        w["ln_out.weight"] = Tensor(repeating: 1, shape: [C]); w["ln_out.bias"] = Tensor(zeros: [C])
        for i in 0..<n {
            let q = "blocks.\(i)."
            let ratio0to1 = n > 1 ? Float(i) / Float(n - 1) : 0
            let ratio1to0 = 1 - Float(i) / Float(n)
            if i == 0 { w[q + "ln0.weight"] = Tensor(repeating: 1, shape: [C]); w[q + "ln0.bias"] = Tensor(zeros: [C]) }
            for ln in ["ln1", "ln2"] { w[q + ln + ".weight"] = Tensor(repeating: 1, shape: [C]); w[q + ln + ".bias"] = Tensor(zeros: [C]) }
            // decay_speed[c] = −5 + 8·(c/(C−1))^(0.7 + 1.3·ratio0to1)  (RWKV-4's spread)
            w[q + "att.time_decay"] = Tensor(shape: [C]) { c in
                -5 + 8 * powf(Float(c) / Float(max(C - 1, 1)), 0.7 + 1.3 * ratio0to1)
            }
            w[q + "att.time_first"] = Tensor(shape: [C]) { c in logf(0.3) + Float((c + 1) % 3 - 1) * 0.5 }
            let ramp = Tensor(shape: [1, 1, C]) { c in Float(c) / Float(C) }
            w[q + "att.time_mix_k"] = ramp.map { powf($0, ratio1to0) }
            w[q + "att.time_mix_v"] = ramp.map { powf($0, ratio1to0) + 0.3 * ratio0to1 }
            w[q + "att.time_mix_r"] = ramp.map { powf($0, 0.5 * ratio1to0) }
            w[q + "ffn.time_mix_k"] = ramp.map { powf($0, ratio1to0) }
            w[q + "ffn.time_mix_r"] = ramp.map { powf($0, ratio1to0) }
            let s = 1 / Float(C).squareRoot()
            w[q + "att.key.weight"] = normal([C, C], s); w[q + "att.value.weight"] = normal([C, C], s)
            w[q + "att.receptance.weight"] = normal([C, C], s)
            // Output projections start large enough that the LIF (threshold 1) fires at all.
            w[q + "att.output.weight"] = normal([C, C], 2 * s)
            w[q + "ffn.key.weight"] = normal([F, C], s)
            w[q + "ffn.receptance.weight"] = normal([C, C], s)
            w[q + "ffn.value.weight"] = normal([C, F], 2 / Float(F).squareRoot())
        }
        if cfg.classes > 0 {
            w["classifier.dense.weight"] = normal([C, C], 1 / Float(C).squareRoot())
            w["classifier.dense.bias"] = Tensor(zeros: [C])
            w["classifier.out.weight"] = normal([cfg.classes, C], 1 / Float(C).squareRoot())
            w["classifier.out.bias"] = Tensor(zeros: [cfg.classes])
        }
        return w
    }
}

