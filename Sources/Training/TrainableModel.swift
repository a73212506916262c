// TrainableModel: what the trainer needs from a model, and SpikeGPT's adapter to it.
//
// What it is: a protocol (named parameters as Variables, a training loss on a batch, an
// evaluation, export in checkpoint layout) so the trainer is model-agnostic — SpikeBERT's
// training form plugs in by conforming; and `SpikeGPTTrainable`, which trains `SpikeGPTGraph`
// as a char/token language model or with its NLU head (`classLogits`).
// What it is not: the models' maths (Models/SpikeGPT+Training.swift).

import Foundation
import Engine
import Neurons
import Models

/// Sums over an evaluation pass; the trainer turns them into mean loss, BPC and accuracy.
public struct EvalResult: Sendable, Equatable {
    /// Σ of per-token (LM) or per-row (classification) cross-entropy, in nats.
    public var lossSum: Double = 0
    /// Tokens (LM) or rows (classification) counted.
    public var count = 0
    /// Rows classified correctly (classification only).
    public var correct = 0
    public init() {}
    public mutating func add(_ o: EvalResult) { lossSum += o.lossSum; count += o.count; correct += o.correct }
    public var meanLoss: Double { count == 0 ? .nan : lossSum / Double(count) }
}

/// A model the `Trainer` can optimise. Implementations are used from one thread at a time.
public protocol TrainableModel: AnyObject {
    /// Architecture tag written into checkpoint metadata ("spikegpt", "spikebert").
    var arch: String { get }
    /// Trainable parameters by checkpoint name.
    var parameters: [String: Variable] { get }
    /// Scalar training loss of `batch` (graph recorded; dropout etc. drawn from `rng`).
    func loss(_ batch: TrainingBatch, rng: inout SeededRNG) throws -> Variable
    /// Loss sums (and accuracy counts) of `batch` without recording a graph.
    func evaluate(_ batch: TrainingBatch) throws -> EvalResult
    /// Current weights in checkpoint layout.
    func exportWeights() throws -> [String: Tensor]
    /// String metadata for the checkpoint (`arch`, config, variant…).
    var metadata: [String: String] { get }
    /// Firing rate per spiking site on one token sequence; empty when not cheap or not defined.
    func firingRates(sample: [Int]) throws -> [String: Double]
}

extension TrainableModel {
    public func firingRates(sample: [Int]) throws -> [String: Double] { [:] }
}

/// SpikeGPT as a language model (`.lm` batches) or a classifier (`.classification` batches).
public final class SpikeGPTTrainable: TrainableModel {
    public let graph: SpikeGPTGraph
    public var arch: String { "spikegpt" }
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
        return ["arch": "spikegpt", "variant": graph.variant.rawValue, "layers": "\(c.layers)", "width": "\(c.width)",
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
