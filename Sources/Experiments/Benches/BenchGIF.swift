// `spikescope bench gif`: what SpikeLLM's neuron (Common/SpikeLLMQuantizer.swift) does to a model,
// for any family: per abits, uniform coding (low_p 1) against the released settings with salient
// channels (addbit 1, low_p 0.9; addbit 2, low_p 0.95), as the divergence from the float model —
// mean KL of next-token distributions for a model that generates (default: the embedded SpikeGPT),
// mean cosine of the final hidden states otherwise (e.g. --model .downloads/minilm) — and the
// bits per activation. Calibrated on the first text, evaluated on all of them.

import ArgumentParser
import Foundation
import Models
import Workbench

public struct BenchGIF: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "gif", abstract: "SpikeLLM's neuron vs the float model at several abits, uniform vs salient channels; prints JSON.")

    @Option(help: "Model (default: the embedded SpikeGPT).") var model: String?
    @Option(help: "Activation bits to tabulate, comma-separated.") var abits: String = "2,3,4"
    @Flag(help: "JSON output (the only format).") var json = false

    static let texts = [
        "Once, Ada lived near the river with a small dog.",
        "A spiking neuron fires when its membrane potential crosses the threshold.",
        "Stocks rose sharply after the company reported strong quarterly earnings.",
    ]
    /// (label, addbit, low_p): uniform, and the paper's two settings.
    static let settings: [(String, Int, Double)] = [("uniform", 0, 1), ("addbit1_lowp0.9", 1, 0.9), ("addbit2_lowp0.95", 2, 0.95)]

    public init() {}

    public func run() throws {
        try reportingErrors(prefix: "spikescope bench gif", exitCode: 2) { try execute() }
    }

    func execute() throws {
        let opened = try DefaultModels.open(model: model, tokenizer: nil)
        var m = opened.loaded.model
        guard m.spikeLLM != nil, m.neuronChoices.contains(.gif) else {
            throw CLIError("\(m.summary.family.displayName) does not run SpikeLLM's neuron")
        }
        let inputs = try BenchGIF.texts.map { t -> ModelInput in
            let e = try opened.codec.encode(t, nil); return ModelInput(ids: e.ids, typeIds: e.typeIds)
        }
        let generates = m.summary.family.generates
        m.neuron = .none
        let float = try inputs.map { try m.run($0, probe: nil) }
        var rows: [[String: Any]] = []
        for a in abits.split(separator: ",").compactMap({ Int($0) }) {
            var row: [String: Any] = ["abits": a]
            for (label, addbit, lowP) in BenchGIF.settings {
                var g = m
                g.spikeLLM = SpikeLLMSettings(abits: a, addbit: addbit, lowP: lowP)
                g.neuron = .gif
                try g.prepare(for: inputs[0])
                var total = 0.0
                for (i, inp) in inputs.enumerated() {
                    let run = try g.run(inp, probe: nil)
                    total += generates ? meanKL(float[i].logits, run.logits) : meanCosine(float[i].hidden, run.hidden)
                }
                row[label + (generates ? "_kl" : "_cosine")] = total / Double(inputs.count)
                row[label + "_bits"] = g.gifAverageBits ?? 0
            }
            rows.append(row)
        }
        let out: [String: Any] = ["model": opened.loaded.weightsPath, "family": m.summary.family.id,
                                  "measure": generates ? "mean KL(float || coded) of next-token distributions" : "mean cosine of final hidden states to float",
                                  "calibration": BenchGIF.texts[0], "table": rows, "machine": MachineInfo.current.json]
        FileHandle.standardOutput.write(try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .prettyPrinted]) + Data("\n".utf8))
    }
}
