// SpikeBERT's training form for the trainer: `SpikeBERTGraph` (SpikeBERT+Training.swift) as a
// sequence classifier on `.classification` batches of token ids padded with [PAD] = id 0; the
// attention mask is (id ≠ 0), and position 0 ([CLS]) is always real.

import Engine
import Neurons

/// SpikeBERT as a sequence classifier for the `Trainer` (`.classification` batches only).
public final class SpikeBERTTrainable: DistillableModel {
    public let graph: SpikeBERTGraph
    /// Token id of [PAD]; every other id is a real token.
    public let padId = 0
    /// Id of [UNK] and the ids word dropout never replaces ([PAD], [CLS], [SEP]): the layout of
    /// `BERTVocabularyBuilder`.
    public var unkId = 1
    public var keepIds: Set<Int> = [0, 2, 3]
    /// Word dropout in training: each real word is replaced by [UNK] with this probability
    /// (drawn from the trainer's dropout RNG). The vocabulary is built from the training file
    /// only, so held-out text is full of [UNK]; this teaches the classifier to read around them.
    public var wordDropout: Float = 0
    public var arch: String { SpikeBERTFamily.traits.id }
    public var parameters: [String: Variable] { graph.parameters }

    public init(graph: SpikeBERTGraph) { self.graph = graph }

    /// A freshly initialised classifier (HF BERT init, α calibrated by the first batch).
    public convenience init(config: BERTConfig, neuron: NeuronKind, seed: UInt64) throws {
        try self.init(graph: SpikeBERTGraph(config: config, weights: SpikeBERTGraph.initialWeights(config: config, seed: seed), neuron: neuron))
    }

    /// 1 for real tokens, 0 for [PAD]; position 0 is always real.
    public func masks(_ inputs: [[Int]]) -> [[Int]] {
        inputs.map { row in row.enumerated().map { i, id in i == 0 || id != padId ? 1 : 0 } }
    }

    public func loss(_ batch: TrainingBatch, rng: inout SeededRNG) throws -> Variable {
        let (ids, masks, labels) = try rows(batch, dropout: true, rng: &rng)
        return try graph.loss(ids: ids, masks: masks, labels: labels)
    }

    /// The ids (with word dropout drawn from `rng`), masks and labels of a classification batch.
    private func rows(_ batch: TrainingBatch, dropout: Bool, rng: inout SeededRNG) throws -> (ids: [[Int]], masks: [[Int]], labels: [Int]) {
        guard case let .classification(inputs, labels) = batch else {
            throw ModelError.unsupported(what: "training \(SpikeBERTFamily.traits.displayName) as a language model", hint: "train it on a GLUE TSV (--glue FILE)")
        }
        var ids = inputs
        if dropout && wordDropout > 0 {
            for b in ids.indices {
                for i in ids[b].indices where !keepIds.contains(ids[b][i]) && rng.nextUniform() < wordDropout { ids[b][i] = unkId }
            }
        }
        return (ids, masks(inputs), labels)
    }

    /// Task loss, class logits, every layer's output and the firing (for distillation).
    public func outputs(_ batch: TrainingBatch, training: Bool, rng: inout SeededRNG, softRate: Bool) throws -> TrainingOutputs {
        let (ids, masks, labels) = try rows(batch, dropout: training, rng: &rng)
        let e = try graph.encode(ids: ids, masks: masks, layerOutputs: true, softRate: softRate)
        let z = try graph.logits(hidden: e.final)
        return TrainingOutputs(taskLoss: try z.crossEntropy(targets: labels), logits: z, hidden: e.layers,
                               softRate: e.softRate, firingRate: e.firingRate)
    }

    /// config.json with the classes, T and neuron, so the exported checkpoint opens as it trained.
    public func loadableFiles() throws -> [String: [UInt8]] {
        ["config.json": Array(try spikeBERTConfigJSON(graph.config, neuron: graph.neuron))]
    }

    public func evaluate(_ batch: TrainingBatch) throws -> EvalResult {
        guard case let .classification(inputs, labels) = batch else {
            throw ModelError.unsupported(what: "training \(SpikeBERTFamily.traits.displayName) as a language model", hint: "train it on a GLUE TSV (--glue FILE)")
        }
        return try withNoGrad {
            let z = try graph.logits(ids: inputs, masks: masks(inputs)).value.contiguous()
            var r = EvalResult()
            r.lossSum = Double(try z.crossEntropy(targets: labels)) * Double(labels.count)
            r.count = labels.count
            let k = z.shape[1], zs = z.values
            for (i, y) in labels.enumerated() {
                let row = Array(zs[(i * k)..<((i + 1) * k)])
                if row.indices.max(by: { row[$0] < row[$1] })! == y { r.correct += 1 }
            }
            return r
        }
    }

    public func exportWeights() throws -> [String: Tensor] { graph.exportWeights() }

    public var metadata: [String: String] {
        let c = graph.config
        return ["arch": SpikeBERTFamily.traits.id, "neuron": graph.neuron.rawValue, "T": "\(c.steps)", "layers": "\(c.layers)",
                "width": "\(c.hiddenSize)", "heads": "\(c.heads)", "vocab": "\(c.vocabSize)", "classes": "\(c.numLabels ?? 0)"]
    }

    /// Firing rate per site of the inference SpikeBERT (same weights and α) on one row.
    public func firingRates(sample: [Int]) throws -> [String: Double] {
        guard graph.neuron != .none, !sample.isEmpty else { return [:] }
        let model = try SpikeBERT(config: graph.config, weights: exportWeights(), neuron: graph.neuron)
        let probe = Probe(recordCurrent: false)
        let real = sample.enumerated().filter { $0.offset == 0 || $0.element != padId }.map(\.element)
        _ = try model.forward(ids: real, probe: probe)
        var out: [String: Double] = [:]
        for s in probe.trace.sites { out[s.name] = s.firingRate }
        return out
    }
}

