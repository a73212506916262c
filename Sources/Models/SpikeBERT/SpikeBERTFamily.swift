// SpikeBERT as a family: BERT checkpoints (HF layout, with or without SpikeLM α) → SpikeBERTModel.
// The config comes from config.json beside the weights; without one, the sizes cannot all be
// inferred (heads), so the error says so.
import Foundation
import Formats
import Neurons

public struct SpikeBERTFamily: ModelFamily {
    public init() {}
    public static let traits = FamilyTraits(id: "spikebert", displayName: "SpikeBERT", steps: .timesteps, generates: false,
                                            continuationPrefix: "##")
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

    /// The classifier's training form from the open model's weights and α; it trains elastic
    /// bi-spikes (or the float model when the neuron is `none`).
    public func trainable(continuing model: any InspectableModel) throws -> (any TrainableModel)? {
        guard let bert = model as? SpikeBERTModel else { return nil }
        return SpikeBERTTrainable(graph: try SpikeBERTGraph(config: bert.model.config, weights: bert.tensors,
                                                            neuron: bert.neuron == .none ? .none : .elastic))
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
