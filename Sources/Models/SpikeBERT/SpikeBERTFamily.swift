// SpikeBERT as a family: BERT checkpoints (HF layout, with or without SpikeLM α) → SpikeBERTModel.
// The config comes from config.json beside the weights; without one, the sizes cannot all be
// inferred (heads), so the error says so.
import Foundation
import Engine
import Formats
import Neurons

public struct SpikeBERTFamily: ModelFamily {
    public init() {}
    public static let traits = FamilyTraits(id: "spikebert", displayName: "SpikeBERT", steps: .timesteps, generates: false,
                                            continuationPrefix: "##", distillsFromFloat: true)
    public var traits: FamilyTraits { Self.traits }
    public var neuronKinds: [NeuronKind] { [.elastic, .binary, .signed, .gif, .none] }
    public var signature: String { "BERT/SpikeLM: embeddings.word_embeddings.weight, encoder.layer.N.*" }
    public func recognises(_ names: Set<String>) -> Bool { names.contains(where: { $0.hasSuffix("embeddings.word_embeddings.weight") }) }

    public func load(_ ws: WeightSet) throws -> any InspectableModel {
        guard let config = (try? ModelFiles.locate(ws.path))?.config else {
            let cfgURL = URL(fileURLWithPath: ws.path).deletingLastPathComponent().appendingPathComponent("config.json")
            throw ModelError.invalidConfig(file: cfgURL.path, key: "(file)", reason: "is missing",
                                           hint: "a BERT checkpoint needs its config.json beside the weights (num_attention_heads cannot be inferred)")
        }
        let bert = try SpikeBERT(config: try BERTConfig(contentsOf: URL(fileURLWithPath: config)), weights: ws.tensors)
        return SpikeBERTModel(bert, tensors: ws.tensors)
    }

    /// A pretrained encoder (HF BERT/MiniLM, or a SpikeLM checkpoint with α) as a classifier of
    /// `spec.classes` classes: the checkpoint's pooler and head are kept when the head has that
    /// many classes, else a new head (and pooler, when missing) is drawn from `spec.seed` (HF's
    /// init: normal(0, 0.02), zero bias). α of the checkpoint are kept; missing ones calibrate on
    /// the first batch.
    public func fineTunable(_ model: any InspectableModel, _ spec: FineTuneSpec) throws -> (any TrainableModel)? {
        guard let bert = model as? SpikeBERTModel else { return nil }
        guard spec.classes > 0 else {
            throw ModelError.unsupported(what: "fine-tuning \(traits.displayName) as a language model",
                                         hint: "fine-tune it as a classifier on a GLUE TSV (--glue FILE)")
        }
        var config = bert.model.config
        config.numLabels = spec.classes
        config.labels = spec.labels
        if let t = spec.timesteps { config.steps = t }
        var weights: [String: Tensor] = [:]
        for (name, t) in bert.tensors { weights[name.hasPrefix("bert.") ? String(name.dropFirst(5)) : name] = t }
        var rng = SeededRNG(seed: spec.seed &+ 0x4EAD)
        let C = config.hiddenSize
        if weights["pooler.dense.weight"] == nil {
            weights["pooler.dense.weight"] = Tensor.randomNormal([C, C], std: 0.02, rng: &rng)
            weights["pooler.dense.bias"] = Tensor(zeros: [C])
        }
        if weights["classifier.weight"]?.shape != [spec.classes, C] {
            weights["classifier.weight"] = Tensor.randomNormal([spec.classes, C], std: 0.02, rng: &rng)
            weights["classifier.bias"] = Tensor(zeros: [spec.classes])
        }
        let neuron = spec.neuron ?? .elastic
        guard trainingNeurons.contains(neuron) else {
            throw ModelError.unsupported(what: "fine-tuning \(traits.displayName) with the \(neuron.rawValue) neuron",
                                         hint: "use one of \(trainingNeurons.map(\.rawValue).joined(separator: ", "))")
        }
        let t = SpikeBERTTrainable(graph: try SpikeBERTGraph(config: config, weights: weights, neuron: neuron))
        t.wordDropout = spec.dropout
        if let unk = spec.unknownId { t.unkId = unk }
        if let keep = spec.specialIds { t.keepIds = keep }
        return t
    }

    public var trainingVocabulary: TrainingVocabulary? { .words }
    public var trainingNeurons: [NeuronKind] { [.elastic, .signed, .binary, .none] }

    /// The BERT config a spec describes: heads default width/32, FFN 4·width, T default 4.
    public func config(_ spec: TrainingSpec) -> BERTConfig {
        BERTConfig(vocabSize: spec.vocab, hiddenSize: spec.width, layers: spec.layers, heads: spec.heads ?? max(1, spec.width / 32),
                   intermediateSize: 4 * spec.width, maxPositions: max(spec.context, 64), numLabels: spec.classes,
                   labels: spec.labels, steps: spec.timesteps ?? 4)
    }

    /// A classifier from scratch; `dropout` is word dropout (a word becomes [UNK]).
    public func newTrainable(_ spec: TrainingSpec) throws -> (any TrainableModel)? {
        let model = try SpikeBERTTrainable(config: config(spec), neuron: spec.neuron ?? .elastic, seed: spec.seed)
        model.wordDropout = spec.dropout
        return model
    }

    /// config.json (HF names plus SpikeLM's T and input_bits), so `inspect --model <session>` opens it.
    public func loadableFiles(_ spec: TrainingSpec) throws -> [String: [UInt8]] {
        ["config.json": Array(try spikeBERTConfigJSON(config(spec), neuron: spec.neuron ?? .elastic))]
    }
}

/// HF-style config.json of a trained SpikeBERT classifier (with SpikeLM's `T` and `input_bits`).
public func spikeBERTConfigJSON(_ c: BERTConfig, neuron: NeuronKind) throws -> Data {
    var id2label: [String: String] = [:], label2id: [String: Int] = [:]
    for (i, l) in c.labels.enumerated() { id2label["\(i)"] = l; label2id[l] = i }
    let bits: Int = neuron == .signed ? 1 : neuron == .none ? 32 : 2
    var obj: [String: Any] = [
        "architectures": ["BertForSequenceClassification"], "model_type": "bert",
        "vocab_size": c.vocabSize, "hidden_size": c.hiddenSize, "num_hidden_layers": c.layers,
        "num_attention_heads": c.heads, "intermediate_size": c.intermediateSize,
        "max_position_embeddings": c.maxPositions, "type_vocab_size": c.typeVocabSize,
        "layer_norm_eps": Double("\(c.layerNormEps)") ?? 1e-12, "hidden_act": c.activation == .relu ? "relu" : "gelu",
        "num_labels": c.numLabels ?? c.labels.count, "T": c.steps, "input_bits": bits,
        "spikescope_neuron": neuron.rawValue,
    ]
    if !c.labels.isEmpty { obj["id2label"] = id2label; obj["label2id"] = label2id }
    return try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted])
}
