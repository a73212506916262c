// FineTuneSetup: a pretrained checkpoint → a ready `Trainer` that fine-tunes its spiking form
// (`spikescope train --init`, and the workbench's `b` on an opened checkpoint).
//
// What it is: opens the checkpoint with its own tokenizer (Opener), reads the data in that
// tokenizer (a GLUE TSV for a classifier — dev.tsv beside it is the held-out set — or a text
// corpus for a generator), asks the checkpoint's family for its training form and, for
// distillation, its float twin (`ModelFamily.fineTunable`), wraps them in `FineTuneObjective`, and
// writes the session so that it opens like the checkpoint: the tokenizer file and the family's
// config beside the final weights and beside every checkpoint. Nothing here names a family.
// What it is not: the loop (Trainer) or its progress display (the CLI and the TUI each have one).

import Foundation
import Engine
import Formats
import Models
import Neurons
import Training

/// What to fine-tune and how (the CLI's flags; the workbench fills it from the open model).
public struct FineTuneRequest: Sendable, Equatable {
    public var initPath: String
    /// A GLUE TSV (classification) or a text corpus (language modelling): exactly one.
    public var glue: String?
    public var corpus: String?
    public var session: String
    /// The tokenizer file; nil = the one beside the checkpoint.
    public var tokenizerPath: String?
    /// The family the caller expects (`--arch`); nil = whatever the checkpoint is.
    public var arch: String?
    public var neuron: String?
    public var timesteps: Int?
    public var dropout: Float = 0
    public var seed: UInt64 = 1
    public var steps = 300, batch = 16, context = 32
    public var lr: Float = 5e-5
    public var checkpointEvery = 0, evalEvery = 50, evalBatches = 4
    public var distill: DistillationConfig?
    public var targetRate: Double?
    public var rateWeight: Float = 1
    public init(initPath: String, session: String) { self.initPath = initPath; self.session = session }
}

/// A trainer ready to run, with what its reports need.
public struct PreparedFineTune {
    public let trainer: Trainer
    public let data: TrainingData
    /// The wrapper of a spiking student (nil when the family's training form is float only).
    public let objective: FineTuneObjective?
    /// The held-out file, when a dev.tsv was found beside the GLUE file.
    public let dev: URL?
    public let familyName: String
    public let initPath: String
}

public enum FineTuneSetup {
    /// Opens, checks and builds everything (see the file header). Resuming is the caller's
    /// (`trainer.resumeFromLatest()`).
    /// - Throws: `TrainingError` naming the flag or file (family mismatch, no tokenizer, data),
    ///   `ModelError`/`FormatError` for the checkpoint, with its path.
    public static func prepare(_ r: FineTuneRequest, registry: ModelRegistry = .standard) throws -> PreparedFineTune {
        let initPath = URL(fileURLWithPath: r.initPath).standardizedFileURL.path
        guard (r.glue == nil) != (r.corpus == nil) else {
            throw TrainingError.badConfig(field: "data", value: "", reason: "needs exactly one of a GLUE TSV (classifier) or a corpus (language model)",
                                          hint: "give --glue FILE or --corpus PATH")
        }
        let opened = try Opener.open(model: initPath, tokenizer: r.tokenizerPath)
        let family = opened.loaded.family
        let name = family.traits.displayName
        if let arch = r.arch, arch != family.traits.id {
            throw TrainingError.badConfig(field: "arch", value: arch, reason: "but \(initPath) is a \(name) checkpoint (\(family.traits.id))",
                                          hint: "leave --arch out with --init, or give a \(arch) checkpoint")
        }
        guard let tokenizer = opened.tokenizer, let tokenizerPath = opened.tokenizerPath else {
            throw TrainingError.badData(path: initPath, reason: "has no tokenizer beside it (looked for \(TokenizerLoader.candidateNames.joined(separator: ", ")))",
                                        hint: "fine-tuning keeps the checkpoint's tokenizer: put the one it was trained with beside the weights")
        }
        let summary = opened.loaded.model.summary
        if let t = r.timesteps, family.traits.steps != .timesteps {
            throw TrainingError.badConfig(field: "timesteps", value: "\(t)", reason: "applies to families that run T timesteps; \(name) runs one step per token",
                                          hint: "leave --timesteps out")
        }
        guard tokenizer.vocabSize <= summary.vocab else {
            throw TrainingError.badData(path: tokenizerPath, reason: "has \(tokenizer.vocabSize) ids but the model's embedding has \(summary.vocab) rows",
                                        hint: "use the tokenizer the checkpoint was trained with")
        }

        // Data in the checkpoint's own tokens.
        let data: TrainingData
        var spec = FineTuneSpec()
        var dev: URL?
        if let glue = r.glue {
            let trainURL = URL(fileURLWithPath: glue)
            let devURL = trainURL.deletingLastPathComponent().appendingPathComponent("dev.tsv")
            dev = devURL.standardizedFileURL.path != trainURL.standardizedFileURL.path && FileManager.default.fileExists(atPath: devURL.path) ? devURL : nil
            let d = try ClassificationData.glue(train: trainURL, dev: dev, tokenizer: tokenizer, length: r.context)
            spec = FineTuneSpec(classes: d.labels.count, labels: d.labels)
            data = .classification(d)
        } else {
            data = .lm(try LMData.tokenizedCorpus(URL(fileURLWithPath: r.corpus!), tokenizer: tokenizer))
        }
        if let n = r.neuron {
            guard let kind = NeuronKind(rawValue: n) else {
                throw TrainingError.badConfig(field: "neuron", value: n, reason: "is not a neuron kind",
                                              hint: "one of \(NeuronKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            spec.neuron = kind
        }
        spec.timesteps = r.timesteps
        spec.dropout = r.dropout
        spec.seed = r.seed
        spec.unknownId = tokenizer.unkId
        spec.specialIds = Set([tokenizer.padId ?? 0, tokenizer.clsId, tokenizer.sepId, tokenizer.eosId].compactMap { $0 })
        guard let trainable = try family.fineTunable(opened.loaded.model, spec) else {
            throw TrainingError.badConfig(field: "init", value: initPath, reason: "\(name) has no fine-tuning form in spikescope",
                                          hint: "fine-tune it elsewhere and open the checkpoint")
        }
        var ft = FineTuneConfig(initPath: initPath)
        ft.neuron = r.neuron; ft.distill = r.distill; ft.targetRate = r.targetRate; ft.rateWeight = r.rateWeight
        let model: any TrainableModel
        var objective: FineTuneObjective?
        if let student = trainable as? any DistillableModel {
            var teacher: (any DistillableModel)?
            if r.distill != nil {
                var t = spec
                t.neuron = NeuronKind.none; t.dropout = 0
                teacher = try family.fineTunable(opened.loaded.model, t) as? any DistillableModel
            }
            objective = try FineTuneObjective(student: student, teacher: teacher, config: ft)
            model = objective!
        } else {
            if r.distill != nil || r.targetRate != nil {
                throw TrainingError.badConfig(field: r.distill != nil ? "distill" : "target-rate", value: "on",
                                              reason: "\(name)'s training form here is float: it has no spiking student to distil or regularise",
                                              hint: "fine-tune it without --distill and --target-rate")
            }
            model = trainable
        }

        // The session opens like the checkpoint (the workbench's r loads the checkpoints).
        let sessionURL = URL(fileURLWithPath: r.session)
        let checkpointsURL = sessionURL.appendingPathComponent("checkpoints")
        try FileManager.default.createDirectory(at: checkpointsURL, withIntermediateDirectories: true)
        var files = try model.loadableFiles()
        // A family whose training form writes no config keeps the checkpoint's own (LLaMA's has
        // fields such as rope scaling that only the original says exactly).
        if files["config.json"] == nil, let config = (try? ModelFiles.locate(opened.loaded.weightsPath))?.config {
            files["config.json"] = Array(try Data(contentsOf: URL(fileURLWithPath: config)))
        }
        files[URL(fileURLWithPath: tokenizerPath).lastPathComponent] = Array(try Data(contentsOf: URL(fileURLWithPath: tokenizerPath)))
        for dir in [sessionURL, checkpointsURL] {
            for (file, bytes) in files { try AtomicWrite.write(to: dir.appendingPathComponent(file).path) { try $0.write(bytes) } }
        }

        var cfg = TrainerConfig()
        cfg.arch = family.traits.id
        cfg.layers = summary.layers; cfg.width = summary.width; cfg.vocab = summary.vocab
        cfg.classes = spec.classes; cfg.timesteps = family.traits.steps == .timesteps ? (r.timesteps ?? summary.timesteps) : nil
        cfg.steps = r.steps; cfg.batch = r.batch; cfg.context = r.context; cfg.lr = r.lr
        cfg.checkpointEvery = r.checkpointEvery; cfg.evalEvery = r.evalEvery; cfg.evalBatches = r.evalBatches
        cfg.seed = r.seed; cfg.dropout = r.dropout
        cfg.fineTune = ft
        // α not in the checkpoint are calibrated on the first training rows (not on whatever
        // batch is measured first), the same in every run of these flags.
        switch data {
        case let .classification(d):
            let rows = Array(d.train.prefix(r.batch))
            _ = try model.evaluate(.classification(inputs: rows.map(\.ids), labels: rows.map(\.label)))
        case let .lm(d):
            let n = min(r.context, d.train.count - 1)
            _ = try model.evaluate(.lm(inputs: [d.train.prefix(n).map(Int.init)], targets: [d.train.dropFirst().prefix(n).map(Int.init)]))
        }
        let trainer = try Trainer(model: model, data: data, config: cfg, checkpoints: try CheckpointStore.forSession(sessionURL))
        trainer.charLevel = false
        return PreparedFineTune(trainer: trainer, data: data, objective: objective, dev: dev, familyName: name, initPath: initPath)
    }
}
