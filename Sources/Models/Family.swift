// Family: the one seam through which a model family enters spikescope. A family says how to
// recognise its checkpoints, loads them into an `InspectableModel`, and describes itself
// (`FamilyTraits`) to every caller above Models — the workbench, the TUI, the report, the
// commands — which never name a family. The built-in list is `ModelRegistry.standard`: adding a
// family is one folder under Sources/Models and one line there.
// What it is not: the per-run interface (InspectableModel, in Registry.swift) or file reading.

import Engine
import Formats
import Neurons

/// What the steps of a family's trace are.
public enum StepAxis: String, Sendable, Codable, Equatable {
    /// One step per token (recurrent models such as SpikeGPT): step and token move together.
    case tokens
    /// T timesteps over the whole sequence (SpikeLM-style): step τ, and a separate token cursor.
    case timesteps
}

/// How a family describes itself to callers that must not know it.
public struct FamilyTraits: Sendable, Equatable, Codable {
    /// Short id written into reports and checkpoints ("spikegpt").
    public var id: String
    /// Name on screen ("SpikeGPT").
    public var displayName: String
    public var steps: StepAxis
    /// Whether it continues a prompt (next-token logits).
    public var generates: Bool
    /// Token pieces that continue the previous word start with this (WordPiece "##"); nil when
    /// tokens are shown as they are.
    public var continuationPrefix: String?
    /// Whether spikes of every site also feed the residual stream (energy: those additions count).
    public var residualSpikes: Bool
    /// Whether its spiking form is made by distilling its float twin (SpikeLM's recipe): the
    /// workbench's fine-tuning then uses the float twin as teacher.
    public var distillsFromFloat: Bool

    public init(id: String, displayName: String, steps: StepAxis, generates: Bool,
                continuationPrefix: String? = nil, residualSpikes: Bool = false, distillsFromFloat: Bool = false) {
        self.id = id; self.displayName = displayName; self.steps = steps; self.generates = generates
        self.continuationPrefix = continuationPrefix; self.residualSpikes = residualSpikes; self.distillsFromFloat = distillsFromFloat
    }
}

extension FamilyTraits {
    private enum CodingKeys: String, CodingKey {
        case id, displayName, steps, generates, continuationPrefix, residualSpikes, distillsFromFloat
    }

    /// Reports written before a trait existed decode with its default.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try c.decode(String.self, forKey: .id), displayName: try c.decode(String.self, forKey: .displayName),
                  steps: try c.decode(StepAxis.self, forKey: .steps), generates: try c.decode(Bool.self, forKey: .generates),
                  continuationPrefix: try c.decodeIfPresent(String.self, forKey: .continuationPrefix),
                  residualSpikes: try c.decodeIfPresent(Bool.self, forKey: .residualSpikes) ?? false,
                  distillsFromFloat: try c.decodeIfPresent(Bool.self, forKey: .distillsFromFloat) ?? false)
    }
}

/// How a family's training data is tokenized when it trains from scratch here.
public enum TrainingVocabulary: String, Sendable, Equatable {
    /// One token per character, the vocabulary built from the corpus (a char-level LM).
    case characters
    /// Whole words of the training rows as a WordPiece vocab.txt ([PAD] [UNK] [CLS] [SEP] [MASK] first).
    case words
}

/// What to build when a family trains from scratch. Fields a family does not use are ignored.
public struct TrainingSpec: Sendable, Equatable {
    public var layers: Int
    public var width: Int
    public var vocab: Int
    /// Classes of a classification head; 0 trains a language model.
    public var classes: Int = 0
    public var labels: [String] = []
    /// Tokens per training row (classification: the padded length).
    public var context: Int
    public var heads: Int?
    public var timesteps: Int?
    public var neuron: NeuronKind?
    /// One of `ModelFamily.trainingVariants`; nil = the family's own model.
    public var variant: String?
    /// The family's dropout (after blocks, or word dropout).
    public var dropout: Float = 0
    public var seed: UInt64 = 1
    public init(layers: Int, width: Int, vocab: Int, context: Int) {
        self.layers = layers; self.width = width; self.vocab = vocab; self.context = context
    }
}

/// A model family: recognises, loads and describes its checkpoints.
public protocol ModelFamily: Sendable {
    var traits: FamilyTraits { get }
    /// Neuron kinds it runs, in the order the workbench cycles through them.
    var neuronKinds: [NeuronKind] { get }
    /// What it looks for in a checkpoint, for "unknown layout" errors ("emb.weight, blocks.N.att.*").
    var signature: String { get }
    /// Whether these tensor names are this family's.
    func recognises(_ names: Set<String>) -> Bool
    /// Builds the model from a checkpoint this family recognised (`weights.path` locates files
    /// beside it, such as config.json).
    func load(_ weights: WeightSet) throws -> any InspectableModel
    /// How it tokenizes training data from scratch; nil when it cannot train from scratch here.
    var trainingVocabulary: TrainingVocabulary? { get }
    /// Neuron kinds its training form can learn with (empty: not chosen by the user).
    var trainingNeurons: [NeuronKind] { get }
    /// Named variants of its model for ablations (SpikeGPT's Table 5); empty when none.
    var trainingVariants: [String] { get }
    /// A freshly initialised training form; nil when the family has none.
    func newTrainable(_ spec: TrainingSpec) throws -> (any TrainableModel)?
    /// Files besides the weights that make a trained session loadable (name → bytes, e.g.
    /// config.json); empty when the weights say everything.
    func loadableFiles(_ spec: TrainingSpec) throws -> [String: [UInt8]]
    /// Its training form initialised from `model` (a checkpoint loaded by this family) as `spec`
    /// says — the spiking form to fine-tune, or with `spec.neuron = .none` its float twin (the
    /// teacher of distillation); nil when the family cannot fine-tune. Called on the training
    /// thread: the result is not shared.
    func fineTunable(_ model: any InspectableModel, _ spec: FineTuneSpec) throws -> (any TrainableModel)?
    /// Whether `load` takes BF16/F16 tensors as they are in the map (`WeightSet.half`); false →
    /// the loader converts them to Float32 first.
    var readsHalfPrecision: Bool { get }
}

extension ModelFamily {
    public var trainingVocabulary: TrainingVocabulary? { nil }
    public var trainingNeurons: [NeuronKind] { [] }
    public var trainingVariants: [String] { [] }
    public func newTrainable(_ spec: TrainingSpec) throws -> (any TrainableModel)? { nil }
    public func loadableFiles(_ spec: TrainingSpec) throws -> [String: [UInt8]] { [:] }
    public func fineTunable(_ model: any InspectableModel, _ spec: FineTuneSpec) throws -> (any TrainableModel)? { nil }
    public var readsHalfPrecision: Bool { false }
}

/// A list of families, tried in order.
public struct ModelRegistry: Sendable {
    public var families: [any ModelFamily]

    public init(families: [any ModelFamily]) { self.families = families }

    /// The families spikescope ships: one line each.
    public static let standard = ModelRegistry(families: [
        SpikeGPTFamily(),
        SpikeBERTFamily(),
        LlamaFamily(),
    ])

    /// The family whose checkpoints have these names.
    /// - Throws: `ModelError.unknownLayout` listing what each family looks for.
    public func detect<S: Sequence>(names: S) throws -> any ModelFamily where S.Element == String {
        let set = Set(names)
        if let f = families.first(where: { $0.recognises(set) }) { return f }
        let wanted = families.map { "\($0.traits.displayName) (\($0.signature))" }.joined(separator: " and ")
        throw ModelError.unknownLayout(names: set.sorted(), hint: "spikescope reads \(wanted) checkpoints")
    }

    /// The family with this id ("spikegpt"), or nil.
    public func family(id: String) -> (any ModelFamily)? { families.first { $0.traits.id == id } }
}
