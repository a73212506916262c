// SpikeGPT as a family: how its checkpoints are recognised and loaded (`SpikeGPTFamily`, the one
// line in `ModelRegistry.standard`), and SpikeGPT behind the workbench's `InspectableModel`.
// What it is not: the model itself (SpikeGPT.swift) or its fast runner (SpikeGPT+Fast.swift).

import Engine
import Formats
import Neurons

public struct SpikeGPTFamily: ModelFamily {
    public init() {}
    public static let traits = FamilyTraits(id: "spikegpt", displayName: "SpikeGPT", steps: .tokens, generates: true,
                                            residualSpikes: true)
    public var traits: FamilyTraits { Self.traits }
    public var neuronKinds: [NeuronKind] { [.lif, .gif, .none] }
    public var signature: String { "SpikeGPT/RWKV-4: emb.weight, blocks.N.att.*" }
    public func recognises(_ names: Set<String>) -> Bool { names.contains("emb.weight") && names.contains("blocks.0.att.key.weight") }

    /// Sizes are inferred from the shapes; `binary_embedding` comes from the file's metadata.
    public func load(_ ws: WeightSet) throws -> any InspectableModel {
        var cfg = try SpikeGPT.inferConfig(ws.tensors)
        if ws.metadata["binary_embedding"] == "true" { cfg.binaryEmbedding = true }
        return try SpikeGPT(weights: ws.tensors, config: cfg)
    }

    /// A checkpoint as a language model on its own tokens: LIF at both sites (the released
    /// SpikeGPT), or with `spec.neuron = .none` its float twin (RWKV-4, the `vanilla` variant:
    /// the teacher of distillation).
    public func fineTunable(_ model: any InspectableModel, _ spec: FineTuneSpec) throws -> (any TrainableModel)? {
        guard let gpt = model as? SpikeGPT else { return nil }
        guard spec.classes == 0 || gpt.config.classes == spec.classes else {
            throw ModelError.unsupported(what: "a new \(spec.classes)-class head on a SpikeGPT checkpoint",
                                         hint: "fine-tune it as a language model (--corpus), or train the classifier from scratch")
        }
        let variant: SpikeGPTVariant
        switch spec.neuron {
        case nil, .lif?: variant = .spikegpt
        case NeuronKind.none?: variant = .vanilla
        case let n?: throw ModelError.unsupported(what: "fine-tuning SpikeGPT with the \(n.rawValue) neuron", hint: "SpikeGPT trains lif (or none: its float twin)")
        }
        let t = SpikeGPTTrainable(graph: try SpikeGPTGraph(weights: gpt.weights, config: gpt.config, variant: variant))
        t.graph.dropout = spec.dropout
        return t
    }

    public var trainingVocabulary: TrainingVocabulary? { .characters }
    public var trainingVariants: [String] { SpikeGPTVariant.allCases.map(\.rawValue) }

    /// A char LM (or, with classes, the NLU head); dropout after each block.
    public func newTrainable(_ spec: TrainingSpec) throws -> (any TrainableModel)? {
        guard let variant = SpikeGPTVariant(rawValue: spec.variant ?? SpikeGPTVariant.spikegpt.rawValue) else {
            throw ModelError.unsupported(what: "variant '\(spec.variant ?? "")'", hint: "one of \(trainingVariants.joined(separator: ", "))")
        }
        let model = try SpikeGPTTrainable(config: SpikeGPTConfig(layers: spec.layers, width: spec.width, vocab: spec.vocab, classes: spec.classes),
                                          variant: variant, seed: spec.seed)
        model.graph.dropout = spec.dropout
        return model
    }
}

extension SpikeGPT: InspectableModel {
    public func copy() -> any InspectableModel { self }  // a value type: copying is enough

    public var summary: ModelSummary {
        ModelSummary(family: SpikeGPTFamily.traits, layers: config.layers, width: config.width, vocab: config.vocab, classes: config.classes)
    }

    public func generate(prompt: ModelInput, count: Int, sampler: inout Sampler, probe: Probe?) throws -> (tokens: [Int], run: ModelRun)? {
        var st = initialState()
        let tokens = try generate(prompt: prompt.ids, count: count, sampler: &sampler, state: &st, probe: probe)
        var run = try self.run(ModelInput(ids: prompt.ids, typeIds: prompt.typeIds), probe: nil)
        run.steps = prompt.ids.count + tokens.count
        return (tokens, run)
    }

    public var neuron: NeuronKind {
        get { controls.neuron }
        set { controls.neuron = (newValue == .none || newValue == .gif) ? newValue : .lif }
    }

    /// k of a LIF site; SpikeLLM's neuron (GIF) has no frequency control: 2.
    public func frequency(site: String) -> Float {
        if controls.neuron == .gif { return 2 }
        return siteNames.firstIndex(of: site).map { controls.lif[$0].k } ?? 2
    }

    public mutating func setFrequency(_ k: Float, site: String?) {
        if controls.neuron == .gif { return }
        for (i, name) in siteNames.enumerated() where site == nil || site == name { controls.lif[i].k = k }
    }

    /// GIF mode needs a plan calibrated on an input.
    public var needsPreparation: Bool { controls.neuron == .gif && controls.gifMasks == nil }

    public mutating func prepare(for input: ModelInput) throws {
        guard needsPreparation else { return }
        controls.gifMasks = try calibrateGIF(prompts: [input.ids], settings: controls.spikeLLM)
    }

    public mutating func scaleThreshold(by factor: Float, site: String?) {
        if controls.neuron == .gif { return }
        for (i, name) in siteNames.enumerated() where site == nil || site == name { controls.lif[i].vThreshold *= factor }
    }

    public var neuronChoices: [NeuronKind] { SpikeGPTFamily().neuronKinds }

    /// SpikeLLM's controls; weight quantisation (`wbits`) is the LLaMA family's only.
    public var spikeLLM: SpikeLLMSettings? {
        get { controls.spikeLLM }
        set {
            guard var s = newValue else { return }
            s.wbits = nil  // weights stay as loaded here
            guard s != controls.spikeLLM else { return }
            controls.spikeLLM = s
            controls.gifMasks = nil
        }
    }

    public var gifAverageBits: Double? {
        guard controls.neuron == .gif, let masks = controls.gifMasks else { return nil }
        return SpikeLLMQuantizer.averageBits(masks, settings: controls.spikeLLM)
    }

    public func tokenStepper(bf16: Bool) throws -> (any TokenStepper)? {
        try SpikeGPTRunner(model: self, options: .init(weights: bf16 ? .bf16 : .f32))
    }


    public var timesteps: Int? {
        get { nil }
        set { }
    }

    public func run(_ input: ModelInput, probe: Probe?) throws -> ModelRun {
        var st = initialState()
        let out = try forward(tokens: input.ids, state: &st, probe: probe)
        let V = config.vocab, C = config.width, T = input.ids.count
        let l = out.logits.values, h = out.hidden.values
        var cls: [Float]? = nil
        if config.classes > 0 { cls = try classify(tokens: input.ids).logits }
        return ModelRun(logits: (0..<T).map { Array(l[($0 * V)..<(($0 + 1) * V)]) }, classLogits: cls,
                        hidden: (0..<T).map { Array(h[($0 * C)..<(($0 + 1) * C)]) }, steps: T)
    }

    /// Which spikes each linear reads, as SpikeGPT counts its operations: a block's LIF output
    /// joins the residual that the next linears read, so the FFN's key and receptance read the
    /// attention's spikes, the next block's key/value/receptance (and finally the head) the FFN's
    /// spikes; block 0's attention reads the embedding, the attention output and the FFN value
    /// read float activations (WKV, ReLU²). With GIF, every block linear reads its own coded input.
    public var linearUses: [LinearUse] {
        let C = config.width, F = config.ffnWidth
        let gif = controls.neuron == .gif
        var uses: [LinearUse] = []
        for i in 0..<config.layers {
            let p = "blocks.\(i)."
            func use(_ n: String, _ lifSite: String?, _ inF: Int, _ outF: Int) {
                uses.append(LinearUse(name: p + n, inputSite: gif ? p + n + ".gif" : lifSite, inFeatures: inF, outFeatures: outF))
            }
            let previousFFN = i > 0 ? "blocks.\(i - 1).ffn.lif" : nil
            use("att.key", previousFFN, C, C)
            use("att.value", previousFFN, C, C)
            use("att.receptance", previousFFN, C, C)
            use("att.output", nil, C, C)
            use("ffn.key", p + "att.lif", C, F)
            use("ffn.receptance", p + "att.lif", C, C)
            use("ffn.value", nil, F, C)
        }
        uses.append(LinearUse(name: "head", inputSite: gif ? nil : "blocks.\(config.layers - 1).ffn.lif",
                              inFeatures: C, outFeatures: config.vocab))
        return uses
    }
}

/// SpikeGPT's reference forward as a `TokenStepper`: the prompt runs in the parallel form, each
/// later token in the recurrent form, every one recorded into `probe`.
final class SpikeGPTTracedStepper: TokenStepper {
    let model: SpikeGPT
    var state: SpikeGPT.State
    let probe: Probe?
    init(_ model: SpikeGPT, state: SpikeGPT.State, probe: Probe?) { self.model = model; self.state = state; self.probe = probe }
    func prime(_ prompt: [Int]) throws -> [Float] {
        Array(try model.forward(tokens: prompt, state: &state, probe: probe).logits.values.suffix(model.config.vocab))
    }
    func nextLogits(after token: Int) throws -> [Float] {
        Array(try model.step(token: token, state: &state, probe: probe).logits.values.suffix(model.config.vocab))
    }
}

extension SpikeGPT {
    /// Runs `prompt` then appends `count` sampled tokens, stopping early at `stopToken`; the probe
    /// records prompt and continuation. Returns the new tokens (the one generation loop,
    /// `TokenStepper.generate`, over the reference forward).
    public func generate(prompt: [Int], count: Int, sampler: inout Sampler, stopToken: Int? = nil,
                         state: inout State, probe: Probe? = nil) throws -> [Int] {
        let stepper = SpikeGPTTracedStepper(self, state: state, probe: probe)
        defer { state = stepper.state }
        return try stepper.generate(prompt: prompt, count: count, sampler: &sampler, stopToken: stopToken).tokens
    }
}
