// SpikeBERTModel: SpikeBERT behind the workbench's `InspectableModel` interface.
//
// What it is: a value wrapper around the (mutable, class) SpikeBERT. Every mutation clones first
// when the instance is shared (copy on write), and `run` works on a private clone, so the UI
// thread turning controls never races a forward pass on the compute queue.
// Calibration: a BERT without checkpoint α is calibrated on the first input it is given
// (`calibrated(on:)`, SEEDS-FREQUENCY.md: α = 2·mean|m| on the first batch, then frozen); a change
// of T recalibrates on that same input.
// `<`/`>` (scaleThreshold) switch the site to threshold-only coupling and scale k: the threshold
// moves, the amplitude stays at the calibrated α (SEEDS-FREQUENCY.md's "how often" vs "how much").

import Foundation
import Engine
import Neurons
import Formats

public struct SpikeBERTModel: InspectableModel, @unchecked Sendable {
    // @unchecked: `bert` is a class, but it is never mutated while shared (copy on write below),
    // and `run` uses a private clone.
    private var bert: SpikeBERT
    public let tensors: [String: Tensor]
    /// The input α was calibrated on (recalibration after a change of T uses it again).
    public private(set) var calibrationInput: ModelInput?

    public init(_ bert: SpikeBERT, tensors: [String: Tensor]) {
        self.bert = bert
        self.tensors = tensors
    }

    /// Read access to the wrapped model (do not mutate it).
    public var model: SpikeBERT { bert }

    private mutating func unique() {
        if !isKnownUniquelyReferenced(&bert), let c = try? bert.clone(tensors: tensors) { bert = c }
    }

    public var isCalibrated: Bool { bert.siteNames.allSatisfy { (try? bert.alpha(site: $0).count) == bert.steps } }

    /// Calibrates α on `input` when the model has none for its T (or `force`).
    public mutating func calibrate(on input: ModelInput, force: Bool = false) throws {
        unique()
        if force { bert.resetCalibration() }
        if force || !isCalibrated {
            _ = try bert.forward(ids: input.ids, typeIds: input.typeIds.isEmpty ? nil : input.typeIds)
        }
        calibrationInput = input
    }

    public var needsPreparation: Bool {
        bert.neuron == .gif ? bert.gifMasks == nil : (bert.neuron != .none && !isCalibrated)
    }

    public mutating func prepare(for input: ModelInput) throws {
        guard needsPreparation else { return }
        if bert.neuron == .gif {
            unique()
            bert.gifMasks = try bert.calibrateGIF(inputs: [(input.ids, input.typeIds.isEmpty ? nil : input.typeIds)],
                                                  settings: bert.spikeLLM, weights: tensors)
            bert.neuron = .gif
            return
        }
        try calibrate(on: input)
    }

    /// SpikeLLM's controls; weight quantisation (`wbits`) is the LLaMA family's only.
    public var spikeLLM: SpikeLLMSettings? {
        get { bert.spikeLLM }
        set {
            guard var s = newValue else { return }
            s.wbits = nil  // weights stay as loaded here
            guard s != bert.spikeLLM else { return }
            unique()
            bert.spikeLLM = s
            bert.gifMasks = nil  // recalibrated on the next input
        }
    }

    public var summary: ModelSummary {
        let c = bert.config
        return ModelSummary(family: SpikeBERTFamily.traits, layers: c.layers, width: c.hiddenSize, vocab: c.vocabSize,
                            classes: bert.hasClassifier ? (c.numLabels ?? c.labels.count) : 0,
                            timesteps: bert.steps, labels: c.labels)
    }

    public var siteNames: [String] { bert.siteNames }

    public var neuron: NeuronKind {
        get { bert.neuron }
        set {
            guard [.elastic, .binary, .signed, .none, .gif].contains(newValue) else { return }
            unique(); bert.neuron = newValue
        }
    }

    public var neuronChoices: [NeuronKind] { SpikeBERTFamily().neuronKinds }

    public var gifAverageBits: Double? {
        guard bert.neuron == .gif, let masks = bert.gifMasks else { return nil }
        return SpikeLLMQuantizer.averageBits(masks, settings: bert.spikeLLM)
    }

    public var trainedTimesteps: Int? { bert.hasCheckpointAlpha ? bert.config.steps : nil }

    public func frequency(site: String) -> Float {
        if bert.neuron == .gif { return 2 }  // SpikeLLM's neuron has no frequency control
        return (try? bert.control(site: site).k) ?? 2
    }

    public mutating func setFrequency(_ k: Float, site: String?) {
        unique()
        if bert.neuron == .gif { return }
        for name in siteNames where site == nil || site == name {
            guard var c = try? bert.control(site: name) else { continue }
            c.k = k
            try? bert.setControl(c, site: name)
        }
    }

    public mutating func scaleThreshold(by factor: Float, site: String?) {
        if bert.neuron == .gif { return }
        unique()
        for name in siteNames where site == nil || site == name {
            guard var c = try? bert.control(site: name) else { continue }
            c.coupling = .thresholdOnly
            c.k *= factor
            try? bert.setControl(c, site: name)
        }
    }

    public var timesteps: Int? {
        get { bert.steps }
        set {
            guard let t = newValue, t >= 1, t <= BERTConfig.maxTimesteps, t != bert.steps else { return }
            unique()
            bert.steps = t
            if let input = calibrationInput, !isCalibrated {
                _ = try? bert.forward(ids: input.ids, typeIds: input.typeIds.isEmpty ? nil : input.typeIds)
            }
        }
    }

    public func run(_ input: ModelInput, probe: Probe?) throws -> ModelRun {
        let m = try bert.clone(tensors: tensors)
        let out = try m.forward(ids: input.ids, typeIds: input.typeIds.isEmpty ? nil : input.typeIds, probe: probe)
        let L = input.ids.count, C = bert.config.hiddenSize
        let h = out.hidden.values
        return ModelRun(logits: [], classLogits: out.logits,
                        hidden: (0..<L).map { Array(h[($0 * C)..<(($0 + 1) * C)]) }, steps: out.steps)
    }

    public var linearUses: [LinearUse] {
        let c = bert.config
        let C = c.hiddenSize, I = c.intermediateSize
        var uses: [LinearUse] = []
        let spiking = bert.neuron != .none
        for i in 0..<c.layers {
            let p = "encoder.layer.\(i)."
            for n in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
                uses.append(LinearUse(name: p + n, inputSite: spiking ? p + n : nil, inFeatures: C, outFeatures: C))
            }
            uses.append(LinearUse(name: p + "intermediate.dense", inputSite: spiking ? p + "intermediate.dense" : nil, inFeatures: C, outFeatures: I))
            uses.append(LinearUse(name: p + "output.dense", inputSite: spiking ? p + "output.dense" : nil, inFeatures: I, outFeatures: C))
        }
        return uses
    }

    public var weights: [String: Tensor] { tensors }

    public func copy() -> any InspectableModel {
        var c = self
        if let b = try? bert.clone(tensors: tensors) { c.bert = b }
        return c
    }
}
