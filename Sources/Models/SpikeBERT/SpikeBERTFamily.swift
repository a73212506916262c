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
        let dir = URL(fileURLWithPath: ws.path).deletingLastPathComponent()
        let cfgURL = dir.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: cfgURL.path) else {
            throw ModelError.invalidConfig(file: cfgURL.path, key: "(file)", reason: "is missing",
                                           hint: "a BERT checkpoint needs its config.json beside the weights (num_attention_heads cannot be inferred)")
        }
        let config = try BERTConfig(contentsOf: cfgURL)
        let bert = try SpikeBERT(config: config, weights: ws.tensors)
        return SpikeBERTModel(bert, tensors: ws.tensors)
    }

    /// The classifier's training form from the open model's weights and α; it trains elastic
    /// bi-spikes (or the float model when the neuron is `none`).
    public func trainable(continuing model: any InspectableModel) throws -> (any TrainableModel)? {
        guard let bert = model as? SpikeBERTModel else { return nil }
        return SpikeBERTTrainable(graph: try SpikeBERTGraph(config: bert.model.config, weights: bert.tensors,
                                                            neuron: bert.neuron == .none ? .none : .elastic))
    }
}
