// `spikescope inspect`: run one input through a model and print the headless JSON report
// (DESIGN.md, "Headless contract"). Errors go to stderr as one line, with a non-zero exit.

import ArgumentParser
import Experiments
import Foundation
import Engine
import Neurons
import Formats
import Models
import Workbench

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Run a prompt, token ids or a GLUE row through a model; print JSON.",
        discussion: "Per spiking site: firing rate, membrane and spikes per step, α; plus logits, hidden states and energy.")

    @Option(help: "Model weights: .safetensors, .pth/.bin, or a folder (default: the embedded SpikeGPT).")
    var model: String?
    @Option(help: "Tokenizer file (default: found beside the model).")
    var tokenizer: String?
    @Option(help: "Text to run.")
    var prompt: String?
    @Option(help: "Comma-separated token ids to run, e.g. 1,2,3.")
    var tokens: String?
    @Option(help: "A GLUE file and row, FILE[:ROW] (rows count from 0; default row 0).")
    var glue: String?
    @Option(help: "GLUE task when the folder does not name it (CoLA, SST-2, MRPC, STS-B, QQP, MNLI, QNLI, RTE, WNLI).")
    var task: String?
    @OptionGroup var controls: ControlOptions
    var timesteps: Int? { controls.timesteps }
    var k: Float? { controls.k }
    @Flag(name: .customLong("no-traces"), help: "Omit the per-step membrane/spike arrays.")
    var noTraces = false
    @Option(parsing: .unconditional, help: "Append N generated tokens (models that generate; greedy unless --temperature); the trace then covers prompt + continuation.")
    var generate: Int = 0
    @Option(parsing: .unconditional, help: "Sampling temperature for --generate (0 = greedy).")
    var temperature: Float = 0
    @Option(name: .customLong("top-p"), parsing: .unconditional, help: "Nucleus mass for --generate.")
    var topP: Float = 1
    @Option(help: "Seed for sampling.")
    var seed: UInt64 = 0
    @Option(help: "Weight storage for --generate: f32, or bf16 (half the bytes read per token, fp32 accumulation).")
    var weights: String = "f32"
    @Option(name: .customLong("compare-to"), help: "Add a \"compare\" object: this run against `float` (the same model with neuron none) or a saved inspect report (FILE.json, with traces): per site Δ firing rate, cosine and relative error of its output, changed cells; output KL and top-k agreement, or Δ class probabilities.")
    var compareTo: String?
    @Flag(help: "Add \"streams\": the residual stream entering each layer and leaving the last, per token (families that keep it: SpikeGPT, SpikeBERT).")
    var streams = false
    @Flag(help: "Print JSON (the only format; accepted for scripts).")
    var json = false
    @Flag(help: "Pretty-print the JSON.")
    var pretty = false

    func validate() throws {
        let inputs = [prompt != nil, tokens != nil, glue != nil].filter { $0 }.count
        if inputs > 1 { throw ValidationError("give one of --prompt, --tokens or --glue, not \(inputs)") }
        if generate < 0 { throw ValidationError("--generate must be ≥ 0, got \(generate)") }
        if !(temperature >= 0) { throw ValidationError("--temperature must be ≥ 0, got \(temperature)") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1], got \(topP)") }
        if !["f32", "bf16"].contains(weights) {
            throw ValidationError("The value '\(weights)' is invalid for '--weights'. Use f32 or bf16.")
        }
    }

    func run() throws {
        try reportingErrors(prefix: "spikescope inspect", exitCode: 2) { try execute() }
    }

    func execute() throws {
        let opened = try DefaultModels.open(model: model, tokenizer: tokenizer)
        var m = opened.loaded.model
        if let T = timesteps {
            try m.checkTimesteps(T)
            m.timesteps = T
        }
        if let n = controls.neuronKind {
            try m.checkNeuron(n)  // a kind the family cannot run is refused, not silently replaced
            m.neuron = n
        }
        if let k { m.setFrequency(k, site: nil) }
        try controls.applySpikeLLM(to: &m)

        // Input.
        var info = InspectReport.InputInfo(text: nil, textPair: nil, label: nil, tokens: [], typeIds: [])
        var origin: String? = nil  // where the input came from, for errors about it
        if let tokens {
            let ids = try tokens.split(separator: ",").map { s -> Int in
                guard let v = Int(s.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--tokens: '\(s)' is not an integer id (expected e.g. 1,2,3)")
                }
                return v
            }
            info.tokens = ids
        } else if let glue {
            let spec = GLUERowSpec.parse(glue)
            let file = try GLUEFile.load(path: spec.path, task: task.flatMap(GLUETask.init(name:)))
            let r = spec.row ?? 0
            guard r >= 0, r < file.rows.count else {
                throw ValidationError("--glue: row \(r) is out of range; \(spec.path) has \(file.rows.count) data rows (0…\(file.rows.count - 1))")
            }
            let row = file.rows[r]
            origin = "\(spec.path) row \(r) (line \(row.line))"
            let enc = try opened.codec.encode(row.text, row.textPair)
            info = .init(text: row.text, textPair: row.textPair, label: row.label, tokens: enc.ids, typeIds: enc.typeIds)
        } else {
            let text = prompt ?? DefaultModels.defaultPrompt
            let enc = try opened.codec.encode(text, nil)
            info = .init(text: text, textPair: nil, label: nil, tokens: enc.ids, typeIds: enc.typeIds)
        }
        guard !info.tokens.isEmpty else {
            throw ModelError.badInput(reason: "the input encodes to no tokens", hint: "give a non-empty --prompt or --tokens")
        }

        // GIF: calibrate on the input itself, then run coded; compare with the float model
        // (next-token KL for a family that generates, hidden-state cosine otherwise).
        var gifNote: [String: Double] = [:]
        if let s = m.spikeLLM, m.neuron == .gif || s.wbits != nil {
            // SpikeLLM: salient channels calibrated on --calibration or the input; compared with
            // the float model (weights as loaded, no activation coding).
            let input = ModelInput(ids: info.tokens, typeIds: info.typeIds)
            let calibration = try controls.calibrationInput(opened, model: m) ?? input
            let neuron = m.neuron
            var float = m
            float.neuron = .none
            float.spikeLLM?.wbits = nil
            let reference = try float.run(input, probe: nil)
            try m.prepare(for: calibration)
            let coded = try m.run(input, probe: nil)
            if m.summary.family.generates {
                gifNote["kl_to_float"] = meanKL(reference.logits, coded.logits)
            } else {
                gifNote["cosine_to_float"] = meanCosine(reference.hidden, coded.hidden)
            }
            if neuron == .gif { gifNote["average_bits"] = m.gifAverageBits ?? 0 }
            if let s = m.spikeLLM {
                gifNote["abits"] = Double(s.abits); gifNote["addbit"] = Double(s.addbit); gifNote["low_p"] = s.lowP
                if let w = s.wbits { gifNote["wbits"] = Double(w) }
            }
        }

        var generated: InspectReport.Generated? = nil
        var generatedRate: Double? = nil
        var continuation: [Int] = []
        if generate > 0 {
            // The family's fast stepper (SpikeGPT: the recurrent runner, no per-token allocation,
            // bf16 optional) picks the tokens; the traced pass below then runs prompt + continuation.
            guard m.summary.family.generates, let runner = try m.tokenStepper(bf16: weights == "bf16") else {
                throw ValidationError("--generate needs a model that generates; \(m.summary.family.displayName) does not")
            }
            var sampler = Sampler(SamplerConfig(temperature: temperature, topP: topP, seed: seed))
            let g = try runner.generate(prompt: info.tokens, count: generate, sampler: &sampler)
            continuation = g.tokens
            let seconds = g.seconds
            generatedRate = Double(generate) / max(seconds, 1e-9)
            generated = .init(tokens: continuation, text: opened.tokenizer.map { $0.decode(continuation) })
        }
        // The trace covers every token: the prompt and, with --generate, the continuation fed back
        // in (as the workbench shows it), so `steps`, `logits` and the site arrays run over both.
        let probe = Probe()
        let typeIds = info.typeIds.isEmpty ? [] : info.typeIds + Array(repeating: 0, count: continuation.count)
        let run: ModelRun
        do { run = try m.run(ModelInput(ids: info.tokens + continuation, typeIds: typeIds), probe: probe) } catch let e as ModelError where origin != nil {
            throw CLIError("\(origin!): \(e)")
        }
        var report = InspectReport(model: m, path: opened.loaded.weightsPath, input: info, run: run, trace: probe.trace,
                                   traces: !noTraces, generated: generated)
        if let r = generatedRate { report.generated?.tokensPerSecond = r }
        if let T = timesteps, let trained = m.trainedTimesteps, trained != T {
            report.warnings = (report.warnings ?? []) + ["T \(T) is not the checkpoint's T \(trained): α was recalibrated on this input "
                                                         + "(the trained α fit T = \(trained)), so the spikes are not the trained model's"]
        }
        if !gifNote.isEmpty {
            report.gif = gifNote
        }
        let fullInput = ModelInput(ids: info.tokens + continuation, typeIds: typeIds)
        let ownStreams = streams || compareTo == "float" ? try Comparison.streams(of: m, input: fullInput) : []
        if streams {
            let rows = fullInput.ids.count
            report.streams = ownStreams.map { x in
                let C = rows > 0 ? x.count / rows : 0
                return (0..<rows).map { Array(x[($0 * C)..<(($0 + 1) * C)]) }
            }
        }
        if let compareTo {
            let baseline: ComparableRun
            if compareTo == "float" {
                var twin = m.copy()
                try twin.checkNeuron(.none)
                twin.neuron = .none
                let p = Probe()
                let r = try twin.run(fullInput, probe: p)
                baseline = ComparableRun(trace: p.trace, logits: r.logits, classLogits: r.classLogits,
                                         streams: try Comparison.streams(of: twin, input: fullInput))
            } else {
                baseline = try ComparableRun.load(report: compareTo)
            }
            report.compare = Comparison.compare(ComparableRun(trace: probe.trace, logits: run.logits, classLogits: run.classLogits,
                                                              streams: ownStreams), to: baseline)
            report.compareTo = compareTo
        }
        FileHandle.standardOutput.write(try report.json(pretty: pretty))
        FileHandle.standardOutput.write(Data("\n".utf8))
        for w in report.warnings ?? [] { FileHandle.standardError.write(Data("spikescope inspect: warning: \(w)\n".utf8)) }
    }
}

