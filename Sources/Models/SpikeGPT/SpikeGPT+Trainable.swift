// SpikeGPT's training form for the trainer: `SpikeGPTGraph` (SpikeGPT+Training.swift) as a
// char/token language model (`.lm` batches) or with its NLU head (`.classification` batches).

import Engine
import Neurons

/// SpikeGPT as a language model (`.lm` batches) or a classifier (`.classification` batches).
public final class SpikeGPTTrainable: DistillableModel {
    public let graph: SpikeGPTGraph
    public var arch: String { SpikeGPTFamily.traits.id }
    public var parameters: [String: Variable] { graph.parameters }

    public init(graph: SpikeGPTGraph) { self.graph = graph }

    public convenience init(config: SpikeGPTConfig, variant: SpikeGPTVariant, seed: UInt64) throws {
        try self.init(graph: SpikeGPTGraph(weights: SpikeGPTGraph.initialWeights(config, seed: seed), config: config, variant: variant))
    }

    public func loss(_ batch: TrainingBatch, rng: inout SeededRNG) throws -> Variable {
        switch batch {
        case let .lm(inputs, targets):
            return try graph.loss(inputs, targets: targets, training: true, rng: &rng)
        case let .classification(inputs, labels):
            return try graph.classLogits(inputs, training: true, rng: &rng).crossEntropy(targets: labels)
        }
    }

    /// Task loss, logits ([B·T, V] next tokens or [B, classes]), the stream after every block
    /// and the firing rate. SpikeGPT's LIF has no smooth rate here (`softRate` is nil).
    public func outputs(_ batch: TrainingBatch, training: Bool, rng: inout SeededRNG, softRate: Bool) throws -> TrainingOutputs {
        switch batch {
        case let .lm(inputs, targets):
            let e = try graph.encode(inputs, training: training, rng: &rng, layerOutputs: true)
            let z = try e.final.linear(weight: graph.parameters["head.weight"]!).reshaped([-1, graph.config.vocab])
            return TrainingOutputs(taskLoss: try z.crossEntropy(targets: targets.flatMap { $0 }), logits: z, hidden: e.layers, firingRate: e.firingRate)
        case let .classification(inputs, labels):
            let e = try graph.encode(inputs, training: training, rng: &rng, layerOutputs: true)
            let z = try graph.classLogits(hidden: e.final)
            return TrainingOutputs(taskLoss: try z.crossEntropy(targets: labels), logits: z, hidden: e.layers, firingRate: e.firingRate)
        }
    }

    public func evaluate(_ batch: TrainingBatch) throws -> EvalResult {
        var rng = SeededRNG(seed: 0)  // unused: no dropout outside training
        return try withNoGrad {
            var r = EvalResult()
            switch batch {
            case let .lm(inputs, targets):
                let l = try graph.loss(inputs, targets: targets, training: false, rng: &rng)
                let n = targets.reduce(0) { $0 + $1.count }
                r.lossSum = Double(l.value.item) * Double(n); r.count = n
            case let .classification(inputs, labels):
                let z = try graph.classLogits(inputs, training: false, rng: &rng).value
                r.lossSum = Double(try z.crossEntropy(targets: labels)) * Double(labels.count)
                r.count = labels.count
                let k = z.shape[1], zs = z.contiguous().values
                for (i, y) in labels.enumerated() {
                    let row = zs[(i * k)..<((i + 1) * k)]
                    if row.indices.max(by: { row[$0] < row[$1] })! - i * k == y { r.correct += 1 }
                }
            }
            return r
        }
    }

    public func exportWeights() throws -> [String: Tensor] { try graph.exportWeights() }

    public var metadata: [String: String] {
        let c = graph.config
        return ["arch": SpikeGPTFamily.traits.id, "variant": graph.variant.rawValue, "layers": "\(c.layers)", "width": "\(c.width)",
                "ffn_width": "\(c.ffnWidth)", "vocab": "\(c.vocab)", "classes": "\(c.classes)"]
    }

    /// Runs the inference model (which has LIF at both sites) with a probe; only for the
    /// `.spikegpt` variant, where the inference form matches the trained one.
    public func firingRates(sample: [Int]) throws -> [String: Double] {
        guard graph.variant == .spikegpt, !sample.isEmpty else { return [:] }
        let model = try SpikeGPT(weights: exportWeights(), config: graph.config)
        let probe = Probe(recordCurrent: false)
        var state = model.initialState()
        _ = try model.forward(tokens: sample, state: &state, probe: probe)
        var out: [String: Double] = [:]
        for s in probe.trace.sites { out[s.name] = s.firingRate }
        return out
    }
}
