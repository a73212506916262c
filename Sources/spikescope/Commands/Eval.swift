// `spikescope eval`: the perplexity of a text under a model (float, or its spiking form), as
// SpikeLLM reports it; prints JSON.

import ArgumentParser
import Experiments
import Foundation
import Formats
import Models
import Workbench

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Perplexity of a text file under a model (families that generate); print JSON.",
        discussion: """
        The text is tokenized with the model's tokenizer and cut into consecutive windows of the
        model's context (or --context), each run from a fresh state; the mean NLL of every
        predicted token and exp of it (perplexity) are printed. With --neuron gif (SpikeLLM), the
        salient channels are calibrated on --calibration, or on the first window of the text.
        """)

    @Option(help: "Model weights: a file or folder (default: the embedded SpikeGPT).")
    var model: String?
    @Option(help: "Tokenizer file (default: found beside the model).")
    var tokenizer: String?
    @Option(help: "The text to score (UTF-8).")
    var text: String
    @Option(parsing: .unconditional, help: "Tokens per window (default: the model's context, at most 512).")
    var context: Int?
    @Option(parsing: .unconditional, help: "Score at most this many tokens of the text.")
    var limit: Int?
    @OptionGroup var controls: ControlOptions
    @Flag(help: "Print JSON (the only format; accepted for scripts).")
    var json = false

    func validate() throws {
        if let c = context, c < 2 { throw ValidationError("--context must be ≥ 2, got \(c)") }
        if let l = limit, l < 2 { throw ValidationError("--limit must be ≥ 2, got \(l)") }
    }

    func run() throws {
        try reportingErrors(prefix: "spikescope eval", exitCode: 2) { try execute() }
    }

    func execute() throws {
        let opened = try DefaultModels.open(model: model, tokenizer: tokenizer)
        var m = opened.loaded.model
        guard m.summary.family.generates else {
            throw ModelError.unsupported(what: "perplexity on \(m.summary.family.displayName)", hint: "it does not predict the next token; use inspect")
        }
        if let n = controls.neuronKind { try m.checkNeuron(n); m.neuron = n }
        if let T = controls.timesteps { try m.checkTimesteps(T); m.timesteps = T }
        if let k = controls.k { m.setFrequency(k, site: nil) }
        try controls.applySpikeLLM(to: &m)
        let raw = try RegularFile.read(text, maxBytes: 256 << 20, what: "a text to score")
        var ids = try opened.codec.encode(String(decoding: raw, as: UTF8.self), nil).ids
        if let limit { ids = Array(ids.prefix(limit)) }
        let window = context ?? min(m.contextLength ?? 512, 512)
        if let ctx = m.contextLength, window > ctx {
            throw ValidationError("--context \(window) exceeds the model's context of \(ctx) tokens")
        }
        let t0 = Date()
        if m.needsPreparation {
            let calibration = try controls.calibrationInput(opened, model: m) ?? ModelInput(ids: Array(ids.prefix(window)))
            try m.prepare(for: calibration)
        }
        let r = try Perplexity.evaluate(m, ids: ids, window: window)
        var fields: [(String, String)] = [
            ("model", jsonString(opened.loaded.weightsPath)),
            ("family", jsonString(m.summary.family.id)),
            ("neuron", jsonString(m.neuron.rawValue)),
            ("text", jsonString(text)),
            ("tokens", "\(r.tokens)"),
            ("windows", "\(r.windows)"),
            ("context", "\(window)"),
            ("mean_nll", fmt(r.meanNLL, 6)),
            ("perplexity", fmt(r.perplexity, 4)),
        ]
        if m.neuron == .gif, let bits = m.gifAverageBits { fields.append(("average_bits", fmt(bits, 4))) }
        if let s = m.spikeLLM, m.neuron == .gif || s.wbits != nil {
            fields.append(("spikellm", jsonObject([("abits", "\(s.abits)"), ("addbit", "\(s.addbit)"), ("low_p", "\(s.lowP)"),
                                                   ("wbits", s.wbits.map(String.init) ?? "null")])))
        }
        fields.append(("seconds", fmt(Date().timeIntervalSince(t0), 3)))
        print(jsonObject(fields))
    }
}
