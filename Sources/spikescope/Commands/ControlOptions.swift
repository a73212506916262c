// The neuron controls `inspect` and the workbench both take (--neuron, --timesteps, --k), parsed
// and range-checked once. Whether the model's family can take them is checked by the model
// (`InspectableModel.checkNeuron` / `checkTimesteps`).
import ArgumentParser
import Foundation
import Formats
import Models
import Workbench
import Neurons

struct ControlOptions: ParsableArguments {
    @Option(help: "Neuron at the spiking sites: lif, elastic, gif, binary, signed, none (what the model's family runs).")
    var neuron: String?
    // Numeric options read the next word even when it starts with '-', so that a negative value
    // gets its range error instead of "Missing value".
    @Option(parsing: .unconditional, help: "Timesteps T (families that run T timesteps).")
    var timesteps: Int?
    @Option(parsing: .unconditional, help: "Frequency control k at every site (2 = the model's own threshold).")
    var k: Float?

    @Option(parsing: .unconditional, help: "SpikeLLM (families that run it, --neuron gif): bits of an ordinary channel (levels per GIF step = 2^abits).")
    var abits: Int?
    @Option(parsing: .unconditional, help: "SpikeLLM: extra bits of a salient channel (2^addbit GIF steps).")
    var addbit: Int?
    @Option(name: .customLong("low-p"), parsing: .unconditional, help: "SpikeLLM: fraction of channels that stay ordinary (lowest saliency); 1 = uniform.")
    var lowP: Double?
    @Option(parsing: .unconditional, help: "SpikeLLM: fake-quantise the weights per output channel to this many bits (RTN).")
    var wbits: Int?
    @Option(help: "SpikeLLM: calibrate the salient channels on this text file (default: the input itself).")
    var calibration: String?

    var neuronKind: NeuronKind? { neuron.flatMap(NeuronKind.init(rawValue:)) }

    /// Whether any SpikeLLM flag was given.
    var setsSpikeLLM: Bool { abits != nil || addbit != nil || lowP != nil || wbits != nil || calibration != nil }

    /// The tokens of `--calibration` (at most the model's context), or nil when not given.
    func calibrationInput(_ opened: OpenedModel, model m: any InspectableModel) throws -> ModelInput? {
        guard let calibration else { return nil }
        let text = try String(decoding: RegularFile.read(calibration, maxBytes: 64 << 20, what: "a calibration text"), as: UTF8.self)
        var ids = try opened.codec.encode(text, nil).ids
        if let n = m.contextLength { ids = Array(ids.prefix(n)) }
        guard !ids.isEmpty else {
            throw ModelError.badInput(reason: "\(calibration) encodes to no tokens", hint: "give a calibration text with some words in it")
        }
        return ModelInput(ids: ids)
    }

    /// Applies the SpikeLLM flags to `m`, refusing them on a family without SpikeLLM's neuron.
    func applySpikeLLM(to m: inout any InspectableModel) throws {
        guard setsSpikeLLM else { return }
        guard var s = m.spikeLLM else {
            throw ModelError.unsupported(what: "--abits/--addbit/--low-p/--wbits/--calibration on \(m.summary.family.displayName)",
                                         hint: "these set SpikeLLM's neuron, which the LLaMA family runs; use --neuron gif there")
        }
        if let abits { s.abits = abits }
        if let addbit { s.addbit = addbit }
        if let lowP { s.lowP = lowP }
        if let wbits { s.wbits = wbits }
        try s.validate()
        m.spikeLLM = s
        if s.wbits != nil, m.spikeLLM?.wbits != s.wbits {
            throw ModelError.unsupported(what: "--wbits on \(m.summary.family.displayName)",
                                         hint: "weight quantisation runs on the LLaMA family; drop --wbits")
        }
    }

    func validate() throws {
        if let n = neuron, NeuronKind(rawValue: n) == nil {
            throw ValidationError("The value '\(n)' is invalid for '--neuron'. Use one of: \(NeuronKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        if let t = timesteps, !(1...BERTConfig.maxTimesteps).contains(t) {
            throw ValidationError("--timesteps must be in 1…\(BERTConfig.maxTimesteps), got \(t)")
        }
        if let k, !(k > 0) { throw ValidationError("--k must be positive, got \(k)") }
        do { try SpikeLLMSettings(abits: abits ?? 4, addbit: addbit ?? 1, lowP: lowP ?? 0.9, wbits: wbits).validate() } catch {
            throw ValidationError("\(error)")
        }
    }
}
