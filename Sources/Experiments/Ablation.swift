// Ablations of the papers at small scale and equal training budget.
//
// What it is: SpikeGPT Table 5 (Zhu et al.): vanilla RWKV, Heaviside RWKV, SpikeGPT-B (LIF in the
// FFN only) and SpikeGPT (LIF after both sub-blocks), each trained with the same config, seed,
// data order and number of steps, compared on validation bits per character. And the hook for
// SpikeLM's neuron ablation (elastic bi-spiking vs ±1 vs {0,1}, at T = 1 and T = 4: accuracy),
// trained with SpikeBERT's training form (Models/SpikeBERT/SpikeBERT+Trainable.swift) on a GLUE file.
// What it is not: the papers' scale (they train on enwik8 for days); orderings may differ here.

import Foundation
import Engine
import Models
import Formats
import Neurons
import Training

public struct AblationRow: Sendable, Codable, Equatable {
    public var variant: String
    public var valLoss: Double
    public var valBPC: Double
    public var finalTrainLoss: Double
    public var seconds: Double
}

public enum SpikeGPTAblation {
    /// Trains every Table 5 variant with `config` (its `variant` is overridden) on `data`.
    /// `progress` is called after each variant.
    public static func run(data: LMData, config: TrainerConfig,
                           variants: [SpikeGPTVariant] = [.vanilla, .heaviside, .lifFFN, .spikegpt],
                           progress: (AblationRow) -> Void = { _ in }) throws -> [AblationRow] {
        var rows: [AblationRow] = []
        for v in variants {
            var c = config
            c.arch = SpikeGPTFamily.traits.id
            c.variant = v.rawValue
            c.evalEvery = 0
            c.checkpointEvery = 0
            let model = try SpikeGPTTrainable(config: SpikeGPTConfig(layers: c.layers, width: c.width, vocab: data.vocabSize),
                                              variant: v, seed: c.seed)
            let trainer = try Trainer(model: model, data: .lm(data), config: c)
            let t0 = Date()
            try trainer.run()
            let (r, _) = try trainer.evaluate()
            let last = trainer.losses.suffix(20)
            let row = AblationRow(variant: v.rawValue, valLoss: r.meanLoss, valBPC: r.meanLoss / log(2.0),
                                  finalTrainLoss: last.reduce(0, +) / Double(max(last.count, 1)),
                                  seconds: Date().timeIntervalSince(t0))
            rows.append(row)
            progress(row)
        }
        return rows
    }
}

/// SpikeLM's neuron ablation (elastic bi-spiking, ±1, {0,1}; T = 1 and T = 4; accuracy).
public enum SpikeLMAblation {
    public struct Row: Sendable, Codable, Equatable {
        /// "elastic", "signed" (±1) or "binary" ({0,1}).
        public var neuron: String
        public var timesteps: Int
        public var accuracy: Double
        /// Mean cross-entropy on the same rows (nats).
        public var valLoss: Double = .nan
        public var seconds: Double = 0
        public init(neuron: String, timesteps: Int, accuracy: Double, valLoss: Double = .nan, seconds: Double = 0) {
            self.neuron = neuron; self.timesteps = timesteps; self.accuracy = accuracy; self.valLoss = valLoss; self.seconds = seconds
        }
    }

    /// The cells of the table, in order.
    public static let cells: [(neuron: String, timesteps: Int)] =
        ["elastic", "signed", "binary"].flatMap { n in [1, 4].map { (n, $0) } }

    /// Trains one SpikeBERT classifier per cell (SpikeBERTTrainable.swift) on the GLUE file `glue`
    /// (default Examples/glue/SST-2/train.tsv) with a vocabulary built from it, and returns the
    /// accuracy on `dev.tsv` beside it (or on the last 10% of the file when there is none).
    /// `config` gives layers, width, context, batch, steps, lr and seed for every cell.
    public static func run(glue: URL?, config: TrainerConfig,
                           progress: (Row) -> Void = { _ in }) throws -> [Row] {
        let train = glue ?? URL(fileURLWithPath: "Examples/glue/SST-2/train.tsv")
        let devURL = train.deletingLastPathComponent().appendingPathComponent("dev.tsv")
        let dev = devURL.path != train.path && FileManager.default.fileExists(atPath: devURL.path) ? devURL : nil
        let vocab = BERTVocabularyBuilder.build(sentences: try BERTVocabularyBuilder.sentences(glue: train))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spikescope-ablation-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let vocabURL = dir.appendingPathComponent("vocab.txt")
        try BERTVocabularyBuilder.write(vocab, to: vocabURL)
        let tokenizer = try HFTokenizer.wordPiece(vocabFile: vocabURL.path)
        let data = try ClassificationData.glue(train: train, dev: dev, tokenizer: tokenizer, length: config.context)
        return try SpikeBERTAblation.run(data: data, vocabSize: vocab.count, config: config, progress: progress)
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
            c.arch = SpikeBERTFamily.traits.id; c.timesteps = cell.timesteps; c.classes = data.labels.count
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
