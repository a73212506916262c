// The LLaMA family: how HF LLaMA/Qwen2/Mistral folders are recognised and loaded (`LlamaFamily`,
// the one line in `ModelRegistry.standard`), and `Llama` behind `InspectableModel`.
// What it is not: the forward (Llama.swift) or the neuron (Common/SpikeLLMQuantizer.swift).

import Engine
import Formats
import Neurons

public struct LlamaFamily: ModelFamily {
    public init() {}
    public static let traits = FamilyTraits(id: "llama", displayName: "LLaMA", steps: .tokens, generates: true)
    public var traits: FamilyTraits { Self.traits }
    public var neuronKinds: [NeuronKind] { [.gif, .none] }
    public var signature: String { "LLaMA/Qwen2/Mistral (HF): model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight + config.json" }
    public func recognises(_ names: Set<String>) -> Bool {
        names.contains("model.embed_tokens.weight") && names.contains("model.layers.0.self_attn.q_proj.weight")
            && names.contains("model.layers.0.mlp.gate_proj.weight")
    }
    public var readsHalfPrecision: Bool { true }

    /// Sizes come from config.json beside the weights (HF folder).
    public func load(_ ws: WeightSet) throws -> any InspectableModel {
        guard let path = try ModelFiles.locate(ws.path).config else {
            throw ModelError.invalidConfig(file: ws.path, key: "(config.json)", reason: "no config.json beside the weights",
                                           hint: "a LLaMA-family checkpoint is an HF folder: config.json, model.safetensors (or shards + index), tokenizer.json")
        }
        return try Llama(weights: ws, config: LlamaConfig(file: path))
    }

    /// A checkpoint as a language model on its own tokens. The training form is the float
    /// decoder: SpikeLLM's GIF neurons and salient channels are applied at inference (they are
    /// calibrated, not trained, in SpikeLLM), so there is no spiking student to distil.
    public func fineTunable(_ model: any InspectableModel, _ spec: FineTuneSpec) throws -> (any TrainableModel)? {
        guard let llama = model as? Llama else { return nil }
        guard spec.classes == 0 else {
            throw ModelError.unsupported(what: "a classification head on the LLaMA family", hint: "fine-tune it as a language model (--corpus)")
        }
        guard spec.neuron == nil || spec.neuron == NeuronKind.none else {
            throw ModelError.unsupported(what: "training LLaMA with the \(spec.neuron!.rawValue) neuron",
                                         hint: "the LLaMA training form is float; SpikeLLM's GIF is applied when the model is opened")
        }
        return try LlamaTrainable(weights: llama.weights, config: llama.config)
    }

    public var trainingVocabulary: TrainingVocabulary? { .characters }

    /// A char-level decoder: `heads` (default width/32) with half as many kv heads when even
    /// (grouped-query attention), SwiGLU width ⌈8·width/3⌉ rounded up to 16, untied head.
    public func newTrainable(_ spec: TrainingSpec) throws -> (any TrainableModel)? {
        guard spec.classes == 0 else {
            throw ModelError.unsupported(what: "a classification head on the LLaMA family", hint: "train it as a language model (no --glue)")
        }
        return try LlamaTrainable(config: config(spec), seed: spec.seed)
    }

    public func loadableFiles(_ spec: TrainingSpec) throws -> [String: [UInt8]] {
        ["config.json": Array(try llamaConfigJSON(config(spec)))]
    }

    func config(_ spec: TrainingSpec) throws -> LlamaConfig {
        let heads = spec.heads ?? max(1, spec.width / 32)
        guard spec.width % heads == 0, (spec.width / heads) % 2 == 0 else {
            throw ModelError.invalidInput(field: "--heads", reason: "\(heads) heads do not split width \(spec.width) into even head sizes",
                                          hint: "pick heads so that width / heads is even")
        }
        let kv = heads % 2 == 0 ? heads / 2 : heads
        return LlamaConfig(vocab: spec.vocab, hidden: spec.width, intermediate: (8 * spec.width / 3 + 15) / 16 * 16, layers: spec.layers,
                           heads: heads, kvHeads: kv, rmsEps: 1e-5, ropeTheta: 10000, maxPositions: max(spec.context, 256))
    }
}

extension Llama: InspectableModel {
    public func copy() -> any InspectableModel { self }

    public var summary: ModelSummary {
        ModelSummary(family: LlamaFamily.traits, layers: config.layers, width: config.hidden, vocab: config.vocab)
    }

    public var neuron: NeuronKind {
        get { controls.neuron }
        set { controls.neuron = newValue == .gif ? .gif : .none }
    }
    public var neuronChoices: [NeuronKind] { LlamaFamily().neuronKinds }

    /// SpikeLLM has no frequency control: k stays 2 and the threshold keys do nothing.
    public func frequency(site: String) -> Float { 2 }
    public mutating func setFrequency(_ k: Float, site: String?) {}
    public mutating func scaleThreshold(by factor: Float, site: String?) {}
    public var timesteps: Int? {
        get { nil }
        set { }
    }
    public var contextLength: Int? { config.maxPositions }

    /// Every projection and the head once, plus one embedding row.
    public var decodeBytesPerToken: Double? {
        func bytes(_ m: LlamaMatrix) -> Double { Double(m.rows * m.cols) * (m.dtype == "bf16" ? 2 : 4) }
        let rows = blocks.flatMap(\.projections).reduce(0.0) { $0 + bytes($1.matrix) } + bytes(head.matrix)
        return rows + bytes(embedding) / Double(config.vocab)
    }

    public var spikeLLM: SpikeLLMSettings? {
        get { controls.spikeLLM }
        set {
            guard let s = newValue, s != controls.spikeLLM else { return }
            if s.wbits != controls.spikeLLM.wbits { controls.quantizedWeights = nil }
            controls.spikeLLM = s
            controls.masks = nil
        }
    }

    /// GIF needs masks calibrated on an input; `wbits` needs the quantised weights.
    public var needsPreparation: Bool {
        (controls.neuron == .gif && controls.masks == nil)
            || (controls.spikeLLM.wbits != nil && controls.quantizedWeights == nil)
    }

    public mutating func prepare(for input: ModelInput) throws {
        try controls.spikeLLM.validate()
        makeQuantizedWeights()
        if controls.neuron == .gif && controls.masks == nil { try calibrate(on: [input.ids]) }
    }

    /// Bits per activation averaged over every coded channel.
    public var gifAverageBits: Double? {
        guard controls.neuron == .gif, let masks = controls.masks else { return nil }
        return SpikeLLMQuantizer.averageBits(masks, settings: controls.spikeLLM)
    }

    public func run(_ input: ModelInput, probe: Probe?) throws -> ModelRun {
        guard !input.ids.isEmpty else { throw ModelError.badInput(reason: "no tokens", hint: "give at least one token") }
        let m = input.ids.count, C = config.hidden, V = config.vocab
        let h = try forward(input.ids, cache: LlamaCache(layers: config.layers), probe: probe)
        let l = logits(h, rows: m)
        return ModelRun(logits: (0..<m).map { Array(l[($0 * V)..<(($0 + 1) * V)]) },
                        hidden: (0..<m).map { Array(h[($0 * C)..<(($0 + 1) * C)]) }, steps: m)
    }

    public func generate(prompt: ModelInput, count: Int, sampler: inout Sampler, probe: Probe?) throws -> (tokens: [Int], run: ModelRun)? {
        let stepper = LlamaStepper(self, probe: probe)
        let out = try stepper.generate(prompt: prompt.ids, count: count, sampler: &sampler, stopToken: config.eos.first)
        var run = try self.run(prompt, probe: nil)
        run.steps = prompt.ids.count + out.tokens.count
        return (out.tokens, run)
    }

    public func tokenStepper(bf16: Bool) throws -> (any TokenStepper)? { LlamaStepper(self, probe: nil) }

    public var linearUses: [LinearUse] {
        let gif = controls.neuron == .gif
        return blocks.flatMap { $0.projections }.map {
            LinearUse(name: $0.name, inputSite: gif ? $0.name : nil, inFeatures: $0.inFeatures, outFeatures: $0.outFeatures)
        } + [LinearUse(name: "lm_head", inputSite: nil, inFeatures: config.hidden, outFeatures: config.vocab)]
    }

    /// Every tensor as Float32 (bf16 converted: a full copy, for saving only).
    public var weights: [String: Tensor] {
        func t(_ m: LlamaMatrix) -> Tensor {
            switch m { case .f32(let t): return t; case .bf16(let h): return h.float32() }
        }
        func v(_ x: [Float]) -> Tensor { Tensor(x) }
        var w: [String: Tensor] = ["model.embed_tokens.weight": t(embedding), "model.norm.weight": v(finalNorm)]
        for (i, b) in blocks.enumerated() {
            w["model.layers.\(i).input_layernorm.weight"] = v(b.inputNorm)
            w["model.layers.\(i).post_attention_layernorm.weight"] = v(b.postNorm)
            for p in b.projections {
                w[p.name + ".weight"] = t(p.matrix)
                if let bias = p.bias { w[p.name + ".bias"] = v(bias) }
            }
        }
        if !config.tied { w["lm_head.weight"] = t(head.matrix) }
        return w
    }
}

/// Batch-1 decoding over a KV cache: the prompt in one chunk, then one token per call; every
/// chunk recorded into `probe` when given.
public final class LlamaStepper: TokenStepper {
    let model: Llama
    let cache: LlamaCache
    let probe: Probe?
    public init(_ model: Llama, probe: Probe?) {
        self.model = model; self.probe = probe; cache = LlamaCache(layers: model.config.layers)
    }
    public var position: Int { cache.length }

    public func prime(_ prompt: [Int]) throws -> [Float] {
        guard !prompt.isEmpty else { throw ModelError.badInput(reason: "no prompt tokens", hint: "give at least one token") }
        let h = try model.forward(prompt, cache: cache, probe: probe)
        return model.logits(Array(h.suffix(model.config.hidden)), rows: 1)
    }

    public func nextLogits(after token: Int) throws -> [Float] {
        guard cache.length < model.config.maxPositions else {
            throw ModelError.badInput(reason: "the sequence reached the model's context of \(model.config.maxPositions) tokens",
                                      hint: "use a shorter prompt or fewer new tokens")
        }
        return model.logits(try model.forward([token], cache: cache, probe: probe), rows: 1)
    }
}
