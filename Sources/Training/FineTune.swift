// FineTune: the objective of fine-tuning a pretrained checkpoint into its spiking form
// (`train --init PATH`, the workbench's `b` on an opened checkpoint): the task loss, plus — with a
// teacher — distillation from the float twin, plus a firing-rate regulariser.
//
// What it is: `FineTuneObjective`, a `TrainableModel` wrapping the student's training form (any
// family's `DistillableModel`) and, optionally, the teacher (the same checkpoint with neuron none,
// never updated). Per batch:
//   L = w_task·CE(z_s, y)
//     + w_kd·τ²·(1/rows)·Σ_rows KL(softmax(z_t/τ) ‖ softmax(z_s/τ))        (logits distillation)
//     + w_hid·(1/|S|)·Σ_{l∈S} MSE(h_s^l, h_t^l)                              (hidden distillation)
//     + w_rate·max(0, r_s − R)                                                (--target-rate R)
// with z the logits the task reads (classes or next tokens), h^l the output of layer l (padding
// zeroed), S the chosen layers (all by default; the last is the final hidden state) and r_s the
// batch's measured mean firing rate over the spiking sites; its gradient is that of the smooth
// rate r̃ (`Engine/Ops/SpikeSequence.swift`), the hard count having none.
// SpikeLM's released code (spikeLM-BERT/learner.py, spike_ft-10w): its Learner keeps the slots of
// this recipe — a logits distillation at temperature 1.0, a representation MSE (MSELoss) and the
// real (task) loss, summed with weight 1 — and its released GLUE run sets the teacher to None (task
// loss only). Defaults here: every weight 1, τ = 1, all layers.
// What it is not: the loop (Trainer) or the families' graphs (Models).

import Foundation
import Engine
import Models

/// Weights of the distillation terms (see the file header).
public struct DistillationConfig: Codable, Sendable, Equatable {
    public var taskWeight: Float = 1
    public var kdWeight: Float = 1
    public var hiddenWeight: Float = 1
    public var temperature: Float = 1
    /// Layers (0-based; negative counts from the end, −1 = the last) whose outputs are
    /// matched; nil = every layer.
    public var hiddenLayers: [Int]?
    public init() {}
}

/// How a run fine-tunes a checkpoint; recorded in every checkpoint's trainer.json, and a resume
/// must ask for the same.
public struct FineTuneConfig: Codable, Sendable, Equatable {
    /// The checkpoint the run started from.
    public var initPath: String
    /// The neuron trained ("elastic"…), nil = the family's default.
    public var neuron: String?
    /// Distillation from the float twin; nil = task loss only.
    public var distill: DistillationConfig?
    /// Firing-rate target of the regulariser; nil = none.
    public var targetRate: Double?
    public var rateWeight: Float = 1
    public init(initPath: String) { self.initPath = initPath }

    /// One line for error messages ("training from scratch" for nil).
    public static func describe(_ c: FineTuneConfig?) -> String {
        guard let c else { return "training from scratch" }
        var s = "--init \(c.initPath)"
        if let n = c.neuron { s += " --neuron \(n)" }
        if let d = c.distill {
            s += " --distill (task \(d.taskWeight), kd \(d.kdWeight), hidden \(d.hiddenWeight), temperature \(d.temperature)"
            s += d.hiddenLayers.map { ", layers \($0.map(String.init).joined(separator: ","))" } ?? ""
            s += ")"
        }
        if let r = c.targetRate { s += " --target-rate \(r) (weight \(c.rateWeight))" }
        return s
    }
}

public final class FineTuneObjective: TrainableModel {
    public let student: any DistillableModel
    public let teacher: (any DistillableModel)?
    public let config: FineTuneConfig
    public private(set) var lossParts: [String: Double] = [:]

    /// - Throws: `TrainingError.badConfig` when distillation is asked without a teacher, or layers
    ///   to match that the models do not have.
    public init(student: any DistillableModel, teacher: (any DistillableModel)?, config: FineTuneConfig) throws {
        if config.distill != nil && teacher == nil {
            throw TrainingError.badConfig(field: "distill", value: "on", reason: "needs the float twin as teacher", hint: "the family has no float form to distil from")
        }
        if let r = config.targetRate, !(r >= 0 && r < 1) {
            throw TrainingError.badConfig(field: "target-rate", value: "\(r)", reason: "must be in [0, 1)", hint: "try --target-rate 0.15")
        }
        self.student = student; self.teacher = teacher; self.config = config
    }

    public var arch: String { student.arch }
    public var parameters: [String: Variable] { student.parameters }
    public func evaluate(_ batch: TrainingBatch) throws -> EvalResult { try student.evaluate(batch) }
    public func exportWeights() throws -> [String: Tensor] { try student.exportWeights() }
    public var metadata: [String: String] {
        var m = student.metadata
        m["init"] = config.initPath
        if config.distill != nil { m["distilled_from"] = "float twin of \(config.initPath)" }
        return m
    }
    public func firingRates(sample: [Int]) throws -> [String: Double] { try student.firingRates(sample: sample) }
    public func loadableFiles() throws -> [String: [UInt8]] { try student.loadableFiles() }

    public func loss(_ batch: TrainingBatch, rng: inout SeededRNG) throws -> Variable {
        let s = try student.outputs(batch, training: true, rng: &rng, softRate: config.targetRate != nil)
        var parts: [String: Double] = ["task": Double(s.taskLoss.value.item)]
        var total = s.taskLoss
        if let d = config.distill, let teacher {
            var quiet = SeededRNG(seed: 0)  // the teacher has no dropout: nothing is drawn
            let t = try withNoGrad { try teacher.outputs(batch, training: false, rng: &quiet, softRate: false) }
            total = total * d.taskWeight
            if d.kdWeight != 0 {
                let kd = try FineTuneObjective.distillationKL(student: s.logits, teacher: t.logits.value, temperature: d.temperature)
                parts["kd"] = Double(kd.value.item)
                total = try total + kd * d.kdWeight
            }
            if d.hiddenWeight != 0 {
                let layers = (d.hiddenLayers ?? Array(s.hidden.indices)).map { $0 < 0 ? s.hidden.count + $0 : $0 }
                guard s.hidden.count == t.hidden.count, layers.allSatisfy(s.hidden.indices.contains) else {
                    throw TrainingError.badConfig(field: "hidden-layers", value: "\(layers)",
                                                  reason: "the student has \(s.hidden.count) layers and the teacher \(t.hidden.count)",
                                                  hint: "name layers 0…\(s.hidden.count - 1)")
                }
                var sum: Variable?
                for l in layers {
                    let m = try Variable.mse(s.hidden[l], t.hidden[l].detached())
                    sum = try sum.map { try $0 + m } ?? m
                }
                if let sum {
                    let h = sum * (1 / Float(layers.count))
                    parts["hidden"] = Double(h.value.item)
                    total = try total + h * d.hiddenWeight
                }
            }
        }
        if config.targetRate != nil && s.softRate == nil {
            throw TrainingError.badConfig(field: "target-rate", value: "\(config.targetRate!)",
                                          reason: "\(student.arch)'s training form has no smooth firing rate to regularise",
                                          hint: "fine-tune it without --target-rate (the rate is still reported)")
        }
        if let r = config.targetRate, let soft = s.softRate {
            // The measured rate decides (the smooth one runs above it: a hinge on it would stay on
            // past R and make R meaningless); the smooth rate gives the direction.
            let measured = s.firingRate ?? Double(soft.value.item)
            let over = Swift.max(0, measured - r)
            parts["rate_penalty"] = over
            if over > 0 { total = try total + (soft - soft.value.item + Float(over)) * config.rateWeight }
        }
        if let f = s.firingRate { parts["firing_rate"] = f }
        lossParts = parts
        return total
    }

    // MARK: measurements

    /// Mean over the real tokens of `rows` (classification rows padded with id 0) of the cosine
    /// between the student's and the teacher's final hidden states; nil without a teacher.
    public func teacherCosine(rows: [[Int]], batch: Int) throws -> Double? {
        guard let teacher else { return nil }
        var sum = 0.0, n = 0
        try forEachChunk(rows, batch: batch) { b in
            var quiet = SeededRNG(seed: 0)
            let (s, t) = try withNoGrad {
                (try student.outputs(b, training: false, rng: &quiet, softRate: false), try teacher.outputs(b, training: false, rng: &quiet, softRate: false))
            }
            guard let hs = s.hidden.last?.value.contiguous(), let ht = t.hidden.last?.value.contiguous() else { return }
            let C = hs.shape.last ?? 1, a = hs.values, c = ht.values
            for r in 0..<(a.count / C) {
                let x = a[(r * C)..<((r + 1) * C)], y = c[(r * C)..<((r + 1) * C)]
                if x.allSatisfy({ $0 == 0 }) && y.allSatisfy({ $0 == 0 }) { continue }  // a padded position: zero in both
                sum += cosine(x, y)
                n += 1
            }
        }
        return n == 0 ? nil : sum / Double(n)
    }

    /// The student's mean firing rate (mean over sites, real tokens) over `rows`, weighted by
    /// rows; nil for a model without spikes.
    public func meanFiringRate(rows: [[Int]], batch: Int) throws -> Double? {
        var sum = 0.0, n = 0
        try forEachChunk(rows, batch: batch) { b in
            var quiet = SeededRNG(seed: 0)
            guard let f = try withNoGrad({ try student.outputs(b, training: false, rng: &quiet, softRate: false) }).firingRate else { return }
            sum += f * Double(b.rowCount); n += b.rowCount
        }
        return n == 0 ? nil : sum / Double(n)
    }

    private func forEachChunk(_ rows: [[Int]], batch: Int, _ body: (TrainingBatch) throws -> Void) throws {
        var i = 0
        while i < rows.count {
            let chunk = Array(rows[i..<Swift.min(i + Swift.max(batch, 1), rows.count)])
            try body(.classification(inputs: chunk, labels: [Int](repeating: 0, count: chunk.count)))
            i += chunk.count
        }
    }

    /// τ²·(1/rows)·Σ_rows KL(softmax(t/τ) ‖ softmax(s/τ)) for student logits s and teacher
    /// logits t [rows, K] (the gradient flows into s only).
    public static func distillationKL(student s: Variable, teacher t: Tensor, temperature tau: Float) throws -> Variable {
        guard s.shape == t.shape, s.shape.count == 2 else {
            throw TrainingError.badConfig(field: "distill", value: "\(s.shape) vs \(t.shape)", reason: "student and teacher logits differ in shape",
                                          hint: "distil from the same checkpoint's float twin")
        }
        let rows = Float(Swift.max(s.shape[0], 1))
        let scaledT = t.map { $0 / tau }
        let pT = scaledT.softmaxLastAxis()
        let logPT = scaledT.logSoftmaxLastAxis()
        // Σ p_t·log p_t (constant), so that the value is the KL itself.
        var entropyPart = 0.0
        let pv = pT.contiguous().values, lv = logPT.contiguous().values
        for i in pv.indices where pv[i] > 0 { entropyPart += Double(pv[i]) * Double(lv[i]) }
        let logPS = (s * (1 / tau)).logSoftmax()
        let cross = try (Variable(pT) * logPS).sum()
        return (Float(entropyPart) - cross) * (tau * tau / rows)
    }
}
