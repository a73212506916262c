// Registry: the one interface the workbench and the CLI use for every model family, and the
// architecture detection that picks a family from a checkpoint's tensor names.
//
// What it is: `InspectableModel` (run an input with a probe; turn the live controls) and
// `Architecture.detect(names:)`. What it is not: file reading (Formats) or statistics (Workbench).

import Engine
import Neurons

public enum Architecture: String, Sendable, Codable, CaseIterable {
    case spikegpt, spikebert

    /// Picks the family from tensor names; lists the first names when none fits.
    public static func detect<S: Sequence>(names: S) throws -> Architecture where S.Element == String {
        let set = Set(names)
        if set.contains("emb.weight") && set.contains("blocks.0.att.key.weight") { return .spikegpt }
        if set.contains(where: { $0.hasSuffix("embeddings.word_embeddings.weight") }) { return .spikebert }
        throw ModelError.unknownLayout(names: set.sorted(),
            hint: "spikescope reads SpikeGPT/RWKV-4 (emb.weight, blocks.N.att.*) and BERT/SpikeLM (embeddings.word_embeddings.weight, encoder.layer.N.*) checkpoints")
    }
}

/// What a model is given to run.
public struct ModelInput: Sendable, Equatable {
    public var ids: [Int]
    /// Token type ids (BERT pairs); empty → all zeros.
    public var typeIds: [Int]
    public init(ids: [Int], typeIds: [Int] = []) { self.ids = ids; self.typeIds = typeIds }
}

/// What a run produced (besides the trace in the probe).
public struct ModelRun: Sendable {
    /// SpikeGPT: next-token logits per position [T][V]. SpikeBERT: MLM logits when present, else empty.
    public var logits: [[Float]]
    /// Class logits of a classification head, when the model has one.
    public var classLogits: [Float]?
    /// Final hidden state per token [L][C] (SpikeBERT: mean over timesteps).
    public var hidden: [[Float]]
    /// Steps of the trace: tokens (SpikeGPT) or timesteps (SpikeBERT).
    public var steps: Int
    public init(logits: [[Float]], classLogits: [Float]? = nil, hidden: [[Float]], steps: Int) {
        self.logits = logits; self.classLogits = classLogits; self.hidden = hidden; self.steps = steps
    }

    /// A warning when the outputs hold NaN or ±Inf (NaN/Inf weights load fine, then poison every
    /// number after them), or nil when all are finite.
    public var nonFiniteWarning: String? {
        var parts: [String] = []
        func count(_ name: String, _ rows: [[Float]]) {
            let n = rows.reduce(0) { $0 + $1.reduce(0) { $0 + ($1.isFinite ? 0 : 1) } }
            if n > 0 { parts.append("\(n) in \(name)") }
        }
        count("logits", logits)
        count("class logits", classLogits.map { [$0] } ?? [])
        count("hidden states", hidden)
        guard !parts.isEmpty else { return nil }
        return "the forward produced non-finite values (NaN/Inf): " + parts.joined(separator: ", ")
            + "; the numbers shown are not meaningful. Hint: check the checkpoint for NaN/Inf weights (e.g. torch.isfinite in PyTorch), or lower k / T if values overflow"
    }
}

public struct ModelSummary: Sendable, Equatable, Codable {
    public var arch: Architecture
    public var layers: Int
    public var width: Int
    public var vocab: Int
    public var classes: Int
    public var timesteps: Int?
    public var labels: [String]
    public init(arch: Architecture, layers: Int, width: Int, vocab: Int, classes: Int = 0, timesteps: Int? = nil, labels: [String] = []) {
        self.arch = arch; self.layers = layers; self.width = width; self.vocab = vocab
        self.classes = classes; self.timesteps = timesteps; self.labels = labels
    }
}

/// One linear layer, for the energy model: which site (if any) feeds it spikes.
public struct LinearUse: Sendable, Equatable {
    public var name: String
    /// The spiking site whose spikes are this layer's input; nil → a dense (float) input.
    public var inputSite: String?
    public var inFeatures: Int
    public var outFeatures: Int
    public init(name: String, inputSite: String?, inFeatures: Int, outFeatures: Int) {
        self.name = name; self.inputSite = inputSite; self.inFeatures = inFeatures; self.outFeatures = outFeatures
    }
}

/// Every model family the workbench inspects.
public protocol InspectableModel: Sendable {
    var summary: ModelSummary { get }
    var siteNames: [String] { get }
    /// Neuron kind in force at the spiking sites.
    var neuron: NeuronKind { get set }
    /// Frequency control k at `site` (SEEDS-FREQUENCY.md).
    func frequency(site: String) -> Float
    /// Sets k at one site, or at every site when `site` is nil.
    mutating func setFrequency(_ k: Float, site: String?)
    /// Multiplies the base threshold at one site (or all) by `factor` (the `<`/`>` keys).
    mutating func scaleThreshold(by factor: Float, site: String?)
    /// Timesteps T (SpikeBERT); nil for models whose steps are tokens.
    var timesteps: Int? { get set }
    /// Runs one input from a fresh state, recording into `probe`.
    func run(_ input: ModelInput, probe: Probe?) throws -> ModelRun
    /// The linear layers and where their inputs come from (energy model).
    var linearUses: [LinearUse] { get }
    /// Named tensors (for saving and for training to start from).
    var weights: [String: Tensor] { get }
    /// An independent copy whose controls can change without touching this one (weights shared).
    func copy() -> any InspectableModel
    /// Whether `prepare(for:)` would change the model (e.g. α not yet calibrated).
    var needsPreparation: Bool { get }
    /// Readies the model for inputs like `input` (SpikeBERT: calibrates α on it when absent).
    mutating func prepare(for input: ModelInput) throws
    /// Neuron kinds this model can run, in the order the workbench cycles through them.
    var neuronChoices: [NeuronKind] { get }
    /// GIF allocation: the fraction of salient channels given more steps (0 = uniform); nil when
    /// the model is not GIF-coded.
    var gifOutlierFraction: Double? { get set }
}

extension InspectableModel {
    public var needsPreparation: Bool { false }
    public mutating func prepare(for input: ModelInput) throws {}
    public var neuronChoices: [NeuronKind] { [neuron] }
    public var gifOutlierFraction: Double? {
        get { nil }
        set { }
    }
}

extension SpikeGPT: InspectableModel {
    public func copy() -> any InspectableModel { self }  // a value type: copying is enough

    public var summary: ModelSummary {
        ModelSummary(arch: .spikegpt, layers: config.layers, width: config.width, vocab: config.vocab, classes: config.classes)
    }

    public var neuron: NeuronKind {
        get { controls.neuron }
        set { controls.neuron = (newValue == .none || newValue == .gif) ? newValue : .lif }
    }

    public func frequency(site: String) -> Float {
        if controls.neuron == .gif { return controls.gifSettings.k }  // one k for every GIF site
        return siteNames.firstIndex(of: site).map { controls.lif[$0].k } ?? 2
    }

    public mutating func setFrequency(_ k: Float, site: String?) {
        if controls.neuron == .gif {
            controls.gifSettings.k = k
            controls.gif?.base.k = k
            return
        }
        for (i, name) in siteNames.enumerated() where site == nil || site == name { controls.lif[i].k = k }
    }

    /// GIF mode needs a plan calibrated on an input.
    public var needsPreparation: Bool { controls.neuron == .gif && controls.gif == nil }

    public mutating func prepare(for input: ModelInput) throws {
        guard needsPreparation else { return }
        let g = controls.gifSettings
        controls.gif = try calibrateGIF(prompts: [input.ids], base: g.base, bits: g.bits, outlierFraction: g.outlierFraction)
    }

    public mutating func scaleThreshold(by factor: Float, site: String?) {
        if controls.neuron == .gif { setFrequency(controls.gifSettings.k * factor, site: nil); return }
        for (i, name) in siteNames.enumerated() where site == nil || site == name { controls.lif[i].vThreshold *= factor }
    }

    public var neuronChoices: [NeuronKind] { [.lif, .gif, .none] }

    public var gifOutlierFraction: Double? {
        get { controls.neuron == .gif ? controls.gifSettings.outlierFraction : nil }
        set { if let p = newValue { setGIFOutlierFraction(p) } }
    }

    /// Switches GIF allocation between uniform and saliency-based (Optimal Brain Spiking) at the
    /// same budget; the plan is recalibrated on the next input.
    public mutating func setGIFOutlierFraction(_ p: Double) {
        controls.gifSettings.outlierFraction = p
        controls.gif = nil
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

    public var linearUses: [LinearUse] {
        let C = config.width, F = config.ffnWidth
        var uses: [LinearUse] = []
        for i in 0..<config.layers {
            let p = "blocks.\(i)."
            for n in ["att.key", "att.value", "att.receptance", "att.output", "ffn.receptance"] {
                uses.append(LinearUse(name: p + n, inputSite: nil, inFeatures: C, outFeatures: C))
            }
            uses.append(LinearUse(name: p + "ffn.key", inputSite: nil, inFeatures: C, outFeatures: F))
            uses.append(LinearUse(name: p + "ffn.value", inputSite: nil, inFeatures: F, outFeatures: C))
        }
        uses.append(LinearUse(name: "head", inputSite: nil, inFeatures: C, outFeatures: config.vocab))
        return uses
    }
}
