// `spikescope sweep`: one control over a grid, each run against the float twin — per site firing
// rate, energy and output cosine to float; for the model pJ and output divergence. Prints JSON.

import ArgumentParser
import Experiments
import Foundation
import Neurons
import Models
import Workbench

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Tabulate firing rate, energy and divergence from float over a grid of one control; print JSON.",
        discussion: """
        Give exactly one grid, LO:HI:N (N evenly spaced values, both ends included):
          --k 0.5:4:8          frequency control k at every site
          --timesteps 1:8:8    T (families that run timesteps)
          --abits 2:8:7        SpikeLLM's bits per ordinary channel (--neuron gif)
          --low-p 0.5:1:6      SpikeLLM's share of ordinary channels (--neuron gif)
        Each value runs the input once; the float twin (neuron none) runs it once as the baseline.
        Energy: ACs = spikes × fan-out of the layers they feed, pJ = 4.6·MAC + 0.9·AC (45 nm).
        """)

    @Option(help: "Model weights or folder (default: the embedded SpikeGPT).") var model: String?
    @Option(help: "Tokenizer file (default: found beside the model).") var tokenizer: String?
    @Option(help: "Text to run.") var prompt: String?
    @Option(help: "Comma-separated token ids to run instead of --prompt.") var tokens: String?
    @Option(help: "Neuron at the sites (default: the model's).") var neuron: String?
    @Option(help: "Grid of k, LO:HI:N.") var k: String?
    @Option(help: "Grid of T, LO:HI:N (integers).") var timesteps: String?
    @Option(help: "Grid of SpikeLLM abits, LO:HI:N (integers).") var abits: String?
    @Option(name: .customLong("low-p"), help: "Grid of SpikeLLM low_p, LO:HI:N.") var lowP: String?
    @Flag(help: "Print JSON (the only format; accepted for scripts).") var json = false
    @Flag(help: "Pretty-print the JSON.") var pretty = false

    /// The one grid given, as (control, values).
    func grid() throws -> (SweepControl, [Double]) {
        let given: [(SweepControl, String)] = [(.k, k), (.timesteps, timesteps), (.abits, abits), (.lowP, lowP)].compactMap { c, v in v.map { (c, $0) } }
        guard given.count == 1 else {
            throw ValidationError("give exactly one grid (--k, --timesteps, --abits or --low-p), got \(given.count)")
        }
        let (control, spec) = given[0]
        let parts = spec.split(separator: ":").map(String.init)
        guard parts.count == 3, let lo = Double(parts[0]), let hi = Double(parts[1]), let n = Int(parts[2]), n >= 1, n <= 64,
              lo.isFinite, hi.isFinite else {
            throw ValidationError("--\(control.rawValue.replacingOccurrences(of: "_", with: "-")) must look like LO:HI:N with N in 1…64, got '\(spec)'")
        }
        return (control, Sweep.grid(lo, hi, n, integer: control == .timesteps || control == .abits))
    }

    func validate() throws {
        _ = try grid()
        if prompt != nil && tokens != nil { throw ValidationError("give --prompt or --tokens, not both") }
        if let neuron, NeuronKind(rawValue: neuron) == nil {
            throw ValidationError("The value '\(neuron)' is invalid for '--neuron'. Use one of: \(NeuronKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
    }

    func run() throws {
        try reportingErrors(prefix: "spikescope sweep", exitCode: 2) { try execute() }
    }

    func execute() throws {
        let (control, values) = try grid()
        let opened = try DefaultModels.open(model: model, tokenizer: tokenizer)
        var m = opened.loaded.model
        if let n = neuron.flatMap(NeuronKind.init(rawValue:)) { try m.checkNeuron(n); m.neuron = n }
        let input: ModelInput
        if let tokens {
            input = ModelInput(ids: try tokens.split(separator: ",").map { s in
                guard let v = Int(s.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--tokens: '\(s)' is not an integer id") }
                return v
            })
        } else {
            let enc = try opened.codec.encode(prompt ?? DefaultModels.defaultPrompt, nil)
            input = ModelInput(ids: enc.ids, typeIds: enc.typeIds)
        }
        guard !input.ids.isEmpty else { throw ModelError.badInput(reason: "the input encodes to no tokens", hint: "give a non-empty --prompt") }
        if m.needsPreparation { try m.prepare(for: input) }
        let result = try Sweep.run(model: m, input: input, control: control, values: values)
        let enc = JSONEncoder()
        enc.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        FileHandle.standardOutput.write(try enc.encode(result) + Data("\n".utf8))
    }
}
