// `spikescope bench ablation`: the papers' ablations at small scale, equal training budget.
// What it is not: a reproduction at the papers' scale.
import ArgumentParser
import Foundation
import Training

struct BenchAblation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ablation",
        abstract: "SpikeGPT Table 5 (vanilla / Heaviside / SpikeGPT-B / SpikeGPT: validation BPC) and the SpikeLM neuron ablation.")

    @Option(help: "Text corpus (char level).") var corpus: String = "Examples/corpus/tiny-english.txt"
    @Option(help: "Training steps per variant (equal budget).") var steps: Int = 300
    @Option(help: "Blocks.") var layers: Int = 2
    @Option(help: "Width C.") var width: Int = 96
    @Option(help: "Tokens per window.") var context: Int = 64
    @Option(help: "Sequences per batch.") var batch: Int = 8
    @Option(help: "Peak learning rate.") var lr: Float = 3e-3
    @Option(help: "Validation batches.") var evalBatches: Int = 16
    @Option(help: "Seed (same for every variant).") var seed: UInt64 = 1
    @Flag(help: "Print one JSON object on stdout.") var json = false

    func validate() throws {
        for (flag, v) in [("--steps", steps), ("--layers", layers), ("--width", width), ("--context", context), ("--batch", batch)] where v < 1 {
            throw ValidationError("The value '\(v)' is invalid for '\(flag)': it must be at least 1.")
        }
    }

    func run() throws {
        let data: LMData
        do { data = try LMData.charCorpus(URL(fileURLWithPath: corpus)).0 } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8)); throw ExitCode(1)
        }
        var cfg = TrainerConfig()
        cfg.layers = layers; cfg.width = width; cfg.context = context; cfg.batch = batch
        cfg.steps = steps; cfg.lr = lr; cfg.evalBatches = evalBatches; cfg.seed = seed; cfg.vocab = data.vocabSize
        let rows = try SpikeGPTAblation.run(data: data, config: cfg) { r in
            FileHandle.standardError.write(Data("\(r.variant): val bpc \(String(format: "%.4f", r.valBPC)) (\(Int(r.seconds)) s)\n".utf8))
        }
        var spikeLM: [String: Any]
        do {
            let cells = try SpikeLMAblation.run(glue: nil, config: cfg)
            spikeLM = ["status": "ok", "rows": cells.map { ["neuron": $0.neuron, "timesteps": $0.timesteps, "accuracy": $0.accuracy] }]
        } catch {
            spikeLM = ["status": "not yet available", "reason": "\(error)",
                       "cells": SpikeLMAblation.cells.map { ["neuron": $0.neuron, "timesteps": $0.timesteps] }]
        }
        if json {
            let obj: [String: Any] = [
                "config": ["corpus": corpus, "steps": steps, "layers": layers, "width": width, "context": context,
                           "batch": batch, "lr": lr, "seed": seed, "eval_batches": evalBatches],
                "spikegpt_table5": rows.map { ["variant": $0.variant, "val_loss": $0.valLoss, "val_bpc": $0.valBPC,
                                               "final_train_loss": $0.finalTrainLoss, "seconds": $0.seconds] },
                "spikelm": spikeLM,
            ]
            let d = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted])
            FileHandle.standardOutput.write(d + Data("\n".utf8))
        } else {
            print("variant     val BPC   train loss")
            for r in rows { print(r.variant.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: "  %.4f   %.4f", r.valBPC, r.finalTrainLoss)) }
            print("SpikeLM ablation: \(spikeLM["status"]!)")
        }
    }
}
