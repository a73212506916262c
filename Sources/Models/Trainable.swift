// Trainable: what a model family offers the trainer — its training form (`TrainableModel`: named
// parameters as Variables, a loss on a batch, an evaluation, export in checkpoint layout) and
// the batches it trains on. It lives in Models so that each family's folder can hold its own
// training form; the Training target (the loop, AdamW, checkpoints, data) drives any of them.
// What it is not: the loop or the optimiser (Training), or the data pipeline (Training/Data.swift).

import Engine

/// One batch in whatever form the model trains on.
public enum TrainingBatch {
    /// inputs[b] = window[0..<N], targets[b] = window[1...N].
    case lm(inputs: [[Int]], targets: [[Int]])
    /// Token ids (padded/cropped to one length) and the class index of each row.
    case classification(inputs: [[Int]], labels: [Int])

    /// Tokens processed by one forward pass (for tokens/s).
    public var tokenCount: Int {
        switch self {
        case let .lm(inputs, _): return inputs.reduce(0) { $0 + $1.count }
        case let .classification(inputs, _): return inputs.reduce(0) { $0 + $1.count }
        }
    }
}

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
    /// The family id written into checkpoint metadata (`FamilyTraits.id`).
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

