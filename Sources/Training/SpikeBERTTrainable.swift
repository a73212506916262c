// SpikeBERTTrainable: SpikeBERT's training form (Models/SpikeBERT+Training.swift) as a
// `TrainableModel`, the deterministic WordPiece vocabulary of a GLUE file, GLUE data with that
// vocabulary, the files that make a trained classifier loadable (config.json, vocab.txt), and
// SpikeLM's neuron ablation (elastic vs ±1 vs {0,1}, T = 1 and T = 4).
//
// What it is: glue between the trainer and SpikeBERTGraph. Batches are `.classification` rows of
// token ids padded with [PAD] = id 0; the attention mask is (id ≠ 0), and position 0 ([CLS]) is
// always real. What it is not: MLM pre-training, sentence pairs (SST-2 is single-sentence), or
// a general WordPiece trainer (the vocabulary is whole words: no ## pieces).

import Foundation
import Engine
import Neurons
import Formats
import Models

/// A BERT vocab.txt built from the words of a text: `[PAD] [UNK] [CLS] [SEP] [MASK]` (ids 0…4)
/// then every distinct lowercased word and punctuation mark, sorted by Unicode scalars.
/// Splitting follows BERT's basic tokenizer on ASCII text: whitespace separates words and each
/// punctuation/symbol character is its own token, so `HFTokenizer.wordPiece(vocabFile:)` maps
/// every word of the text to exactly one id.
public enum BERTVocabularyBuilder {
    public static let specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    /// The basic-tokenizer pieces of `text`, lowercased.
    public static func words(_ text: String) -> [String] {
        var out: [String] = []
        var cur = ""
        for ch in text.lowercased() {
            if ch.isWhitespace {
                if !cur.isEmpty { out.append(cur); cur = "" }
            } else if ch.isPunctuation || ch.isSymbol {
                if !cur.isEmpty { out.append(cur); cur = "" }
                out.append(String(ch))
            } else {
                cur.append(ch)
            }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    /// The vocabulary (one token per line, id = line) of `sentences`.
    public static func build(sentences: [String]) -> [String] {
        var seen = Set<String>()
        for s in sentences { for w in words(s) { seen.insert(w) } }
        seen.subtract(specials)
        return specials + seen.sorted { Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) }
    }

    /// The sentences of a GLUE TSV (both sentences of a pair task), read by `Formats.GLUEFile`,
    /// the one GLUE reader: the task from the folder name, else SST-2's layout.
    public static func sentences(glue url: URL) throws -> [String] {
        let file = try GLUEFile.load(path: url.path, task: GLUETask.recognise(path: url.path) ?? .sst2)
        return file.rows.flatMap { [$0.text] + ($0.textPair.map { [$0] } ?? []) }
    }

    /// Writes `vocab` as vocab.txt (atomically).
    public static func write(_ vocab: [String], to url: URL) throws {
        try Data((vocab.joined(separator: "\n") + "\n").utf8).write(to: url, options: .atomic)
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

/// SpikeBERT as a sequence classifier for the `Trainer` (`.classification` batches only).
public final class SpikeBERTTrainable: TrainableModel {
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
    public var arch: String { "spikebert" }
    public var parameters: [String: Variable] { graph.parameters }

    public init(graph: SpikeBERTGraph) { self.graph = graph }

    /// A freshly initialised classifier (HF BERT init, α calibrated by the first batch).
    public convenience init(config: BERTConfig, neuron: NeuronKind, seed: UInt64) throws {
        try self.init(graph: SpikeBERTGraph(config: config, weights: SpikeBERTGraph.initialWeights(config: config, seed: seed), neuron: neuron))
    }

    /// 1 for real tokens, 0 for [PAD]; position 0 is always real.
    func masks(_ inputs: [[Int]]) -> [[Int]] {
        inputs.map { row in row.enumerated().map { i, id in i == 0 || id != padId ? 1 : 0 } }
    }

    public func loss(_ batch: TrainingBatch, rng: inout SeededRNG) throws -> Variable {
        guard case let .classification(inputs, labels) = batch else {
            throw TrainingError.unsupportedArchitecture("spikebert as a language model", hint: "train SpikeBERT on a GLUE TSV (--glue FILE)")
        }
        var ids = inputs
        if wordDropout > 0 {
            for b in ids.indices {
                for i in ids[b].indices where !keepIds.contains(ids[b][i]) && rng.nextUniform() < wordDropout { ids[b][i] = unkId }
            }
        }
        return try graph.loss(ids: ids, masks: masks(inputs), labels: labels)
    }

    public func evaluate(_ batch: TrainingBatch) throws -> EvalResult {
        guard case let .classification(inputs, labels) = batch else {
            throw TrainingError.unsupportedArchitecture("spikebert as a language model", hint: "train SpikeBERT on a GLUE TSV (--glue FILE)")
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
        return ["arch": "spikebert", "neuron": graph.neuron.rawValue, "T": "\(c.steps)", "layers": "\(c.layers)",
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

/// GLUE classification data tokenized with a BERT vocab.txt: `[CLS] words [SEP]`, cropped to
/// `length` (keeping [SEP]) and padded with [PAD] = 0.
public enum SpikeBERTData {
    /// - Parameters:
    ///   - train: rows to train on (all of them when `dev` is given).
    ///   - dev: held-out rows used as the validation set; nil → the last 10% of `train`.
    /// - Throws: `TrainingError.badData` for unreadable files, or labels of `dev` not in `train`.
    public static func glue(train: URL, dev: URL?, tokenizer: HFTokenizer, length: Int) throws -> ClassificationData {
        guard length >= 2 else {
            throw TrainingError.badConfig(field: "context", value: "\(length)", reason: "a BERT row needs [CLS] and [SEP]", hint: "try --context 32")
        }
        let sep = tokenizer.sepId ?? 3
        func encode(_ s: String) throws -> [Int] {
            var ids = try tokenizer.encode(s, addSpecialTokens: true).ids
            if ids.count > length { ids = Array(ids.prefix(length - 1)) + [sep] }
            return ids
        }
        var data = try ClassificationData.glue(train, encode: encode, pad: 0, length: length)
        if let dev {
            let d = try ClassificationData.glue(dev, encode: encode, pad: 0, length: length)
            // Class indices come from each file's sorted labels: they must be the same list.
            guard d.labels == data.labels || Set(d.labels).isSubset(of: data.labels) else {
                throw TrainingError.badData(path: dev.path, reason: "labels \(d.labels) differ from the training file's \(data.labels)",
                                            hint: "dev and train must use the same label column values")
            }
            let remap = d.labels.map { data.labels.firstIndex(of: $0)! }
            data.train += data.validation
            data.validation = (d.train + d.validation).map { (ids: $0.ids, label: remap[$0.label]) }
        }
        return data
    }
}

/// SpikeLM's neuron ablation on SpikeBERT: one classifier per (neuron, T) cell, each with the same
/// config, seed, data order and steps; accuracy on the validation rows.
public enum SpikeBERTAblation {
    /// Trains every cell. `config.layers/width/context/batch/steps/lr/seed` apply to every cell;
    /// heads = max(1, width/32), FFN = 4·width, `config.dropout` is the word dropout.
    public static func run(data: ClassificationData, vocabSize: Int, config: TrainerConfig,
                           cells: [(neuron: String, timesteps: Int)] = SpikeLMAblation.cells,
                           progress: (SpikeLMAblation.Row) -> Void = { _ in }) throws -> [SpikeLMAblation.Row] {
        var rows: [SpikeLMAblation.Row] = []
        for cell in cells {
            guard let neuron = NeuronKind(rawValue: cell.neuron) else {
                throw TrainingError.badConfig(field: "neuron", value: cell.neuron, reason: "is not a SpikeBERT neuron", hint: "use elastic, signed or binary")
            }
            var c = config
            c.arch = "spikebert"; c.timesteps = cell.timesteps; c.classes = data.labels.count
            c.evalEvery = 0; c.checkpointEvery = 0; c.evalBatches = Int.max
            let bc = BERTConfig(vocabSize: vocabSize, hiddenSize: c.width, layers: c.layers, heads: max(1, c.width / 32),
                                intermediateSize: 4 * c.width, maxPositions: max(c.context, 64), numLabels: data.labels.count,
                                labels: data.labels, steps: cell.timesteps)
            let model = try SpikeBERTTrainable(config: bc, neuron: neuron, seed: c.seed)
            model.wordDropout = c.dropout
            let trainer = try Trainer(model: model, data: .classification(data), config: c)
            let t0 = Date()
            try trainer.run()
            let (r, _) = try trainer.evaluate()
            let row = SpikeLMAblation.Row(neuron: cell.neuron, timesteps: cell.timesteps,
                                          accuracy: Double(r.correct) / Double(max(r.count, 1)), valLoss: r.meanLoss,
                                          seconds: Date().timeIntervalSince(t0))
            rows.append(row)
            progress(row)
        }
        return rows
    }
}
