// Registry: the one per-run interface the workbench and the CLI use for every model family.
//
// What it is: `InspectableModel` (run an input with a probe; turn the live controls; generate
// when the family can) and the values it trades in. What it is not: detection and loading
// (Family.swift: `ModelFamily`, `ModelRegistry`), file reading (Formats) or statistics (Workbench).

import Engine
import Neurons

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
    /// A staged run's next-token logits where it sampled (it leaves `logits` empty): rows
    /// `sampledStart ..< sampledStart + sampled.count` (the last prompt row, then each
    /// continuation token but the last).
    public var sampled: [[Float]] = []
    public var sampledStart = 0
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
    public var family: FamilyTraits
    public var layers: Int
    public var width: Int
    public var vocab: Int
    public var classes: Int
    public var timesteps: Int?
    public var labels: [String]
    public init(family: FamilyTraits, layers: Int, width: Int, vocab: Int, classes: Int = 0, timesteps: Int? = nil, labels: [String] = []) {
        self.family = family; self.layers = layers; self.width = width; self.vocab = vocab
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
    /// Continues `prompt` by `count` sampled tokens from a fresh state, recording prompt and
    /// continuation into `probe`; returns the new tokens and the run over the prompt (its
    /// `steps` count both). nil when the family does not generate (`traits.generates` false).
    func generate(prompt: ModelInput, count: Int, sampler: inout Sampler, probe: Probe?) throws -> (tokens: [Int], run: ModelRun)?
    /// Exact average bits per activation of the calibrated GIF plan, when there is one.
    var gifAverageBits: Double? { get }
    /// The T the checkpoint's amplitudes were trained for, when it carries them (nil otherwise).
    var trainedTimesteps: Int? { get }
    /// A fast batch-1 next-token stepper over fresh state (bf16 weights when `bf16`), for
    /// `inspect --generate`; nil when the family has none.
    func tokenStepper(bf16: Bool) throws -> (any TokenStepper)?
    /// SpikeLLM's neuron controls (abits, addbit, low_p, wbits) for families that run it; nil for
    /// the others. Setting them drops the calibrated masks (the next `prepare` makes new ones).
    var spikeLLM: SpikeLLMSettings? { get set }
    /// The longest input the model attends over (its context), nil when unbounded.
    var contextLength: Int? { get }
    /// Weight bytes one batch-1 decoding step reads (the bandwidth bound of `tokenStepper`), nil
    /// when the family does not say.
    var decodeBytesPerToken: Double? { get }
}


extension InspectableModel {
    public func generate(prompt: ModelInput, count: Int, sampler: inout Sampler, probe: Probe?) throws -> (tokens: [Int], run: ModelRun)? { nil }
    public var gifAverageBits: Double? { nil }
    public var trainedTimesteps: Int? { nil }
    public func tokenStepper(bf16: Bool) throws -> (any TokenStepper)? { nil }
    public var spikeLLM: SpikeLLMSettings? {
        get { nil }
        set { }
    }
    public var contextLength: Int? { nil }
    public var decodeBytesPerToken: Double? { nil }
    /// The spiking sites whose spikes also feed the residual stream (energy model).
    public var residualSites: [String] { summary.family.residualSpikes ? siteNames : [] }
    /// Refuses a neuron kind this model cannot run, listing those it can.
    public func checkNeuron(_ kind: NeuronKind) throws {
        guard neuronChoices.contains(kind) else {
            throw ModelError.unsupported(what: "neuron '\(kind.rawValue)' on \(summary.family.displayName)",
                                         hint: "\(summary.family.displayName) runs \(neuronChoices.map(\.rawValue).joined(separator: ", "))")
        }
    }
    /// Refuses `T` for a family whose steps are its tokens, or outside 1…`BERTConfig.maxTimesteps`.
    public func checkTimesteps(_ T: Int) throws {
        guard timesteps != nil else {
            throw ModelError.badInput(reason: "--timesteps applies to families that run T timesteps; \(summary.family.displayName)'s steps are its tokens",
                                      hint: "drop --timesteps")
        }
        guard (1...BERTConfig.maxTimesteps).contains(T) else {
            throw ModelError.invalidInput(field: "--timesteps", reason: "is \(T)", hint: "use 1…\(BERTConfig.maxTimesteps)")
        }
    }
    public var needsPreparation: Bool { false }
    public mutating func prepare(for input: ModelInput) throws {}
    public var neuronChoices: [NeuronKind] { [neuron] }
    /// GIF (SpikeLLM's neuron): the fraction of salient channels, 1 − low_p, while GIF runs; nil
    /// otherwise. Setting it sets low_p (the channels are recalibrated on the next input).
    public var gifOutlierFraction: Double? {
        get { neuron == .gif ? spikeLLM.map { 1 - $0.lowP } : nil }
        set {
            guard let p = newValue, var s = spikeLLM else { return }
            s.lowP = min(max(1 - p, 0), 1)
            spikeLLM = s
        }
    }
}
