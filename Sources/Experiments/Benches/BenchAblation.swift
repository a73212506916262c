// `spikescope bench ablation`: the papers' ablations at small scale, equal training budget.
// What it is not: a reproduction at the papers' scale.
import ArgumentParser
import Foundation
import Neurons
import Models
import Engine
import Formats
import Workbench
import Training

public struct BenchAblation: ParsableCommand {
    public static let configuration = CommandConfiguration(
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
    @Flag(help: "Run only the SpikeLM neuron ablation (skip SpikeGPT Table 5).") var skipSpikegpt = false
    @Option(help: "SpikeLM ablation: GLUE TSV to train on (dev.tsv beside it is the held-out set).") var glue: String = "Examples/glue/SST-2/train.tsv"
    @Option(help: "SpikeLM ablation: training steps per cell (equal budget).") var bertSteps: Int = 150
    @Option(help: "SpikeLM ablation: encoder layers.") var bertLayers: Int = 2
    @Option(help: "SpikeLM ablation: width C (heads = C/32, FFN 4C).") var bertWidth: Int = 64
    @Option(help: "SpikeLM ablation: padded sentence length.") var bertContext: Int = 16
    @Option(help: "SpikeLM ablation: sentences per batch.") var bertBatch: Int = 16
    @Option(help: "SpikeLM ablation: peak learning rate.") var bertLr: Float = 3e-3
    @Option(help: "SpikeLM ablation: word dropout (probability a word becomes [UNK]).") var bertDropout: Float = 0.1
    @Option(help: "SpikeLM ablation: comma-separated seeds; each cell is trained once per seed and averaged.") var bertSeeds: String = "1,2,3"

    public func validate() throws {
        if bertSeeds.split(separator: ",").contains(where: { UInt64($0.trimmingCharacters(in: .whitespaces)) == nil }) || bertSeeds.isEmpty {
            throw ValidationError("The value '\(bertSeeds)' is invalid for '--bert-seeds': give seeds like 1,2,3.")
        }
        for (flag, v) in [("--steps", steps), ("--layers", layers), ("--width", width), ("--context", context), ("--batch", batch),
                          ("--bert-steps", bertSteps), ("--bert-layers", bertLayers), ("--bert-width", bertWidth),
                          ("--bert-context", bertContext), ("--bert-batch", bertBatch)] where v < 1 {
            throw ValidationError("The value '\(v)' is invalid for '\(flag)': it must be at least 1.")
        }
    }

    public init() {}

    public func run() throws {
        var rows: [AblationRow] = []
        if !skipSpikegpt {
            let data: LMData
            do { data = try LMData.charCorpus(URL(fileURLWithPath: corpus)).0 } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8)); throw ExitCode(1)
            }
            var cfg = TrainerConfig()
            cfg.layers = layers; cfg.width = width; cfg.context = context; cfg.batch = batch
            cfg.steps = steps; cfg.lr = lr; cfg.evalBatches = evalBatches; cfg.seed = seed; cfg.vocab = data.vocabSize
            rows = try SpikeGPTAblation.run(data: data, config: cfg) { r in
                FileHandle.standardError.write(Data("\(r.variant): val bpc \(String(format: "%.4f", r.valBPC)) (\(Int(r.seconds)) s)\n".utf8))
            }
        }
        // SpikeLM: every (neuron, T) cell with the same config, data order and steps, once per seed.
        var spikeLM: [String: Any]
        var means: [(neuron: String, timesteps: Int, accuracy: Double, valLoss: Double)] = []
        do {
            var b = TrainerConfig()
            b.layers = bertLayers; b.width = bertWidth; b.context = bertContext; b.batch = bertBatch
            b.steps = bertSteps; b.lr = bertLr; b.dropout = bertDropout
            var perSeed: [[String: Any]] = []
            var sums: [String: (acc: Double, loss: Double, n: Int)] = [:]
            for s in bertSeeds.split(separator: ",").map({ UInt64($0.trimmingCharacters(in: .whitespaces))! }) {
                b.seed = s
                _ = try SpikeLMAblation.run(glue: URL(fileURLWithPath: glue), config: b) { r in
                    FileHandle.standardError.write(Data("spikelm seed \(s) \(r.neuron) T=\(r.timesteps): accuracy \(String(format: "%.3f", r.accuracy)), val loss \(String(format: "%.4f", r.valLoss)) (\(Int(r.seconds)) s)\n".utf8))
                    perSeed.append(["seed": s, "neuron": r.neuron, "timesteps": r.timesteps, "accuracy": r.accuracy,
                                    "val_loss": r.valLoss, "seconds": r.seconds])
                    let k = "\(r.neuron)/\(r.timesteps)"
                    let o = sums[k] ?? (0, 0, 0)
                    sums[k] = (o.acc + r.accuracy, o.loss + r.valLoss, o.n + 1)
                }
            }
            for cell in SpikeLMAblation.cells {
                if let v = sums["\(cell.neuron)/\(cell.timesteps)"] {
                    means.append((cell.neuron, cell.timesteps, v.acc / Double(v.n), v.loss / Double(v.n)))
                }
            }
            spikeLM = ["status": "ok",
                       "config": ["glue": glue, "steps": bertSteps, "layers": bertLayers, "width": bertWidth, "context": bertContext,
                                  "batch": bertBatch, "lr": bertLr, "word_dropout": bertDropout, "seeds": bertSeeds],
                       "rows": perSeed,
                       "mean": means.map { ["neuron": $0.neuron, "timesteps": $0.timesteps, "accuracy": $0.accuracy, "val_loss": $0.valLoss] }]
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
                "machine": MachineInfo.current.json,   // the ablation's seconds come from this machine's kernels
            ]
            let d = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted])
            FileHandle.standardOutput.write(d + Data("\n".utf8))
        } else {
            print("variant     val BPC   train loss")
            for r in rows { print(r.variant.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: "  %.4f   %.4f", r.valBPC, r.finalTrainLoss)) }
            print("SpikeLM ablation: \(spikeLM["status"]!)")
            if !means.isEmpty {
                print("neuron    T   accuracy  val loss   (mean over seeds \(bertSeeds))")
                for m in means {
                    print(m.neuron.padding(toLength: 8, withPad: " ", startingAt: 0) + String(format: "  %d   %.3f     %.4f", m.timesteps, m.accuracy, m.valLoss))
                }
            }
        }
    }
}
