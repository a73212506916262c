// Trainable: what a model family offers the trainer — its training form (`TrainableModel`: named
// parameters as Variables, a loss on a batch, an evaluation, export in checkpoint layout) and
// the batches it trains on. It lives in Models so that each family's folder can hold its own
// training form; the Training target (the loop, AdamW, checkpoints, data) drives any of them.
// What it is not: the loop or the optimiser (Training), or the data pipeline (Training/Data.swift).

import Engine
import Neurons

/// One batch in whatever form the model trains on.
public enum TrainingBatch {
    /// inputs[b] = window[0..<N], targets[b] = window[1...N].
    case lm(inputs: [[Int]], targets: [[Int]])
    /// Token ids (padded/cropped to one length) and the class index of each row.
    case classification(inputs: [[Int]], labels: [Int])

    /// Rows (sequences) in the batch.
    public var rowCount: Int {
        switch self {
        case let .lm(inputs, _): return inputs.count
        case let .classification(inputs, _): return inputs.count
        }
    }

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
    /// Files besides the weights that make its exported checkpoint loadable (config.json…);
    /// empty when the weights say everything or the caller writes them.
    func loadableFiles() throws -> [String: [UInt8]]
    /// The parts of the newest `loss` (e.g. "task", "kd", "hidden", "rate"), for progress.
    var lossParts: [String: Double] { get }
}

extension TrainableModel {
    public func firingRates(sample: [Int]) throws -> [String: Double] { [:] }
    public func loadableFiles() throws -> [String: [UInt8]] { [:] }
    public var lossParts: [String: Double] { [:] }
}


// MARK: fine-tuning (train --init, --distill, --target-rate)

/// What one training forward of a model gives the fine-tuning objective: the task loss, the
/// logits it was computed on, the hidden state after every layer, and the firing rate.
public struct TrainingOutputs {
    /// Mean cross-entropy of the task (classes or next tokens).
    public var taskLoss: Variable
    /// The logits the task loss reads: [rows, classes] or [rows, vocabulary].
    public var logits: Variable
    /// The output of every layer in order (the embeddings are not included), each [B, L, C];
    /// padded positions are zero so that they never count in a comparison.
    public var hidden: [Variable]
    /// The smooth mean firing rate over the spiking sites (a scalar with a gradient); nil when
    /// asked not to build it or when the model has no amplitude sites.
    public var softRate: Variable?
    /// The measured mean firing rate over the spiking sites of this forward; nil without spikes.
    public var firingRate: Double?
    public init(taskLoss: Variable, logits: Variable, hidden: [Variable], softRate: Variable? = nil, firingRate: Double? = nil) {
        self.taskLoss = taskLoss; self.logits = logits; self.hidden = hidden; self.softRate = softRate; self.firingRate = firingRate
    }
}

/// A training form whose forward can be compared with a teacher's (distillation) and whose
/// firing can be regularised.
public protocol DistillableModel: TrainableModel {
    /// The forward of `batch` with its parts (graph recorded when grad mode is on).
    /// - Parameters:
    ///   - training: draw dropout from `rng` (false: the evaluation forward).
    ///   - softRate: build `TrainingOutputs.softRate` (costs one more pass over every site).
    func outputs(_ batch: TrainingBatch, training: Bool, rng: inout SeededRNG, softRate: Bool) throws -> TrainingOutputs
}

/// What to fine-tune a loaded checkpoint into (`ModelFamily.fineTunable`). Fields a family does
/// not use are ignored.
public struct FineTuneSpec: Sendable, Equatable {
    /// The neuron of the trained form; nil = the family's spiking neuron. `.none` = the float twin.
    public var neuron: NeuronKind?
    /// > 0: a classification head with this many classes (a new one unless the checkpoint has
    /// one of this size); 0: language modelling with the checkpoint's head.
    public var classes = 0
    public var labels: [String] = []
    /// Timesteps for families that run T of them; nil = the checkpoint's.
    public var timesteps: Int?
    /// Dropout in training (the family's kind: word dropout, after blocks…).
    public var dropout: Float = 0
    /// Seed of any new head.
    public var seed: UInt64 = 1
    /// The tokenizer's unknown token and the ids word dropout never replaces (pad, CLS, SEP…);
    /// nil = the family's own layout.
    public var unknownId: Int?
    public var specialIds: Set<Int>?
    public init(classes: Int = 0, labels: [String] = []) { self.classes = classes; self.labels = labels }
}
