// Ablations of the papers at small scale and equal training budget.
//
// What it is: SpikeGPT Table 5 (Zhu et al.): vanilla RWKV, Heaviside RWKV, SpikeGPT-B (LIF in the
// FFN only) and SpikeGPT (LIF after both sub-blocks), each trained with the same config, seed,
// data order and number of steps, compared on validation bits per character. And the hook for
// SpikeLM's neuron ablation (elastic bi-spiking vs ±1 vs {0,1}, at T = 1 and T = 4: accuracy),
// which needs SpikeBERT's training form: `SpikeLMAblation.run` is the place a later change fills.
// What it is not: the papers' scale (they train on enwik8 for days); orderings may differ here.

import Foundation
import Engine
import Models

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
            c.variant = v
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
    }

    /// The cells of the table, in order.
    public static let cells: [(neuron: String, timesteps: Int)] =
        ["elastic", "signed", "binary"].flatMap { n in [1, 4].map { (n, $0) } }

    /// Not yet available: needs a `TrainableModel` for SpikeBERT (its training form). A later change
    /// implements this by training one classifier per cell on the same GLUE rows and budget and
    /// returning validation accuracy; the CLI prints whatever this returns.
    public static func run(glue: URL?, config: TrainerConfig) throws -> [Row] {
        throw TrainingError.unsupportedArchitecture("spikebert", hint: "the SpikeLM ablation needs SpikeBERT's training form")
    }
}
