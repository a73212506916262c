// `spikescope train --init PATH`: fine-tunes a pretrained checkpoint into its spiking form, with
// the checkpoint's own tokenizer, optional distillation from its float twin and a firing-rate
// regulariser (Training/FineTune.swift). The family comes from the checkpoint (the registry's
// seam); nothing here names one.
import ArgumentParser
import Foundation
import Engine
import Models
import Neurons
import Formats
import Training
import Workbench

extension Train {
    func validateFineTune() throws {
        if layers != nil || width != nil || heads != nil {
            throw ValidationError("--layers, --width and --heads come from the checkpoint with --init; leave them out.")
        }
        if corpus == nil && glue == nil {
            throw ValidationError("Give the data: --glue FILE (a classifier on a GLUE TSV) or --corpus PATH (a language model, tokenized with the checkpoint's tokenizer).")
        }
        if corpus != nil && glue != nil { throw ValidationError("--corpus and --glue conflict: fine-tune a language model or a classifier, not both.") }
        if let t = timesteps, !(1...BERTConfig.maxTimesteps).contains(t) {
            throw ValidationError("The value '\(t)' is invalid for '--timesteps': it must be in 1…\(BERTConfig.maxTimesteps) (SpikeLM uses 1 or 4).")
        }
        for (flag, v) in [("--steps", steps), ("--context", context), ("--batch", batch)] where v < 1 {
            throw ValidationError("The value '\(v)' is invalid for '\(flag)': it must be at least 1.")
        }
        if checkpointEvery < 0 { throw ValidationError("The value '\(checkpointEvery)' is invalid for '--checkpoint-every': use 0 (no checkpoints) or more.") }
        if !(lr > 0) { throw ValidationError("The value '\(lr)' is invalid for '--lr': it must be positive, e.g. 5e-5.") }
        if !distill && (hiddenLayers != nil) { throw ValidationError("--hidden-layers chooses what --distill matches: add --distill.") }
        if let r = targetRate, !(r >= 0 && r < 1) { throw ValidationError("The value '\(r)' is invalid for '--target-rate': it must be in [0, 1), e.g. 0.15.") }
        if !(temperature > 0) { throw ValidationError("The value '\(temperature)' is invalid for '--temperature': it must be positive (SpikeLM: 1).") }
        if let n = neuron, NeuronKind(rawValue: n) == nil {
            throw ValidationError("The value '\(n)' is invalid for '--neuron': use one of \(NeuronKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        _ = try parsedHiddenLayers()
    }

    /// --hidden-layers as indices ("last" = −1); nil = all.
    func parsedHiddenLayers() throws -> [Int]? {
        guard let hiddenLayers, hiddenLayers != "all" else { return nil }
        let parts = hiddenLayers.split(separator: ",").map { p -> Int? in
            let t = p.trimmingCharacters(in: .whitespaces)
            return t == "last" ? -1 : Int(t).flatMap { $0 >= 0 ? $0 : nil }
        }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else {
            throw ValidationError("The value '\(hiddenLayers)' is invalid for '--hidden-layers': give 0-based layer numbers such as '5' or '0,2,5', 'last' or 'all'.")
        }
        return parts.map { $0! }
    }

    /// What the run records in its checkpoints (a resume must ask for the same).
    func fineTuneConfig(initPath: String) throws -> FineTuneConfig {
        var ft = FineTuneConfig(initPath: initPath)
        ft.neuron = neuron
        if distill {
            var d = DistillationConfig()
            d.taskWeight = taskWeight; d.kdWeight = kdWeight; d.hiddenWeight = hiddenWeight; d.temperature = temperature
            d.hiddenLayers = try parsedHiddenLayers()
            ft.distill = d
        }
        ft.targetRate = targetRate
        ft.rateWeight = rateWeight
        return ft
    }

    func fineTune() throws {
        var r = FineTuneRequest(initPath: initFrom!, session: session)
        r.glue = glue; r.corpus = corpus; r.arch = arch; r.neuron = neuron; r.timesteps = timesteps
        r.dropout = dropout; r.seed = seed; r.steps = steps; r.batch = batch; r.context = context; r.lr = lr
        r.checkpointEvery = checkpointEvery; r.evalEvery = evalEvery; r.evalBatches = evalBatches
        r.distill = try fineTuneConfig(initPath: initFrom!).distill
        r.targetRate = targetRate; r.rateWeight = rateWeight
        let prepared = try FineTuneSetup.prepare(r)
        let trainer = prepared.trainer, objective = prepared.objective
        let dataRows: [[Int]]? = { if case let .classification(d) = prepared.data { return d.validation.map(\.ids) }; return nil }()
        if resume { try resumeLatest(trainer) }
        // Where the run starts: validation loss and, with a teacher, the hidden cosine to it.
        var extra: [String: Any] = [:]
        let start = try trainer.evaluate().result
        extra["val_loss_before"] = start.meanLoss
        if case .classification = prepared.data { extra["accuracy_before"] = Double(start.correct) / Double(max(start.count, 1)) }
        if let o = objective, let rows = dataRows, let c = try o.teacherCosine(rows: rows, batch: batch) { extra["teacher_cosine_before"] = c }

        try run(trainer, resuming: false)
        let model = trainer.model
        try model.exportWeights().writeSafetensors(to: URL(fileURLWithPath: session).appendingPathComponent("model.safetensors"), metadata: model.metadata)

        extra["peak_rss_mb"] = (PeakMemory.residentMB * 10).rounded() / 10
        if let f = trainer.progress.lossParts["firing_rate"] { extra["train_firing_rate"] = f }
        if let o = objective, let rows = dataRows {
            if let rate = try o.meanFiringRate(rows: rows, batch: batch) { extra["dev_firing_rate"] = rate }
            if let c = try o.teacherCosine(rows: rows, batch: batch) { extra["teacher_cosine_after"] = c }
        }
        let notes = extra.keys.sorted().map { k in "\(k) \(String(format: "%.4g", (extra[k] as? Double) ?? .nan))" }.joined(separator: ", ")
        FileHandle.standardError.write(Data("fine-tuned \(prepared.familyName) from \(prepared.initPath): \(notes)\n".utf8))
        switch prepared.data {
        case let .classification(d):
            let source = prepared.dev.map { "dev \($0.path)" } ?? "last 10% of \(glue!)"
            try reportValidation(model, data: d, trainer: trainer, source: source, extra: extra)
        case .lm:
            let p = trainer.progress
            var line = String(format: "done: step %d, loss %.4f", p.step, p.loss)
            if let v = p.valLoss { line += String(format: ", validation loss %.4f (%.4f before)", v, start.meanLoss) }
            FileHandle.standardError.write(Data((line + "\n").utf8))
            if jsonProgress {
                var o: [String: Any] = ["event": "final", "step": p.step, "loss": p.loss]
                if let v = p.valLoss { o["val_loss"] = v }
                o.merge(extra) { _, new in new }
                if let data = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]) { FileHandle.standardOutput.write(data + Data("\n".utf8)) }
            }
        }
    }
}

/// The process's peak resident memory (getrusage: kilobytes on Linux, bytes on macOS).
enum PeakMemory {
    static var residentMB: Double {
        var u = rusage()
        #if os(macOS)
        getrusage(RUSAGE_SELF, &u)
        return Double(u.ru_maxrss) / 1_048_576
        #else
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_maxrss) / 1024
        #endif
    }
}
