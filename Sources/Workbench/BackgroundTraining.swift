// BackgroundTraining: the workbench's `b` (start/stop training the open model in the background)
// and `r` (swap the newest checkpoint into the inspector), for any family with a training form.
//
// What it is: one lock-guarded `TrainingJob` per process. The job's thread fine-tunes the open
// checkpoint (`FineTuneSetup`, what `train --init` runs) from a Sendable request (paths and
// numbers), so no Variable crosses threads; the UI polls `status()` each tick. Checkpoints go to
// <session>/checkpoints/ atomically, with the tokenizer and config beside them. A family that
// generates trains as a language model on a text corpus in its own tokenizer; one that classifies
// trains on a GLUE train.tsv, distilling its float twin when its recipe does (SpikeLM).
// What it is not: where default data lives (the caller passes the paths).

import Foundation
import Engine
import Models
import Formats
import Training

public final class BackgroundTraining: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var job: TrainingJob?
    private var losses: [Double] = []
    private var lastStep = -1

    public static let shared = BackgroundTraining()

    /// Steps of one background run and how often it checkpoints.
    public static let steps = 2000, checkpointEvery = 50

    /// The `b` hook: starts or stops training the workbench's model.
    public static func toggle(workbench: Workbench, sessionDir: String, corpus: String?, vocabPath: String?,
                              glueTrain: String? = nil, registry: ModelRegistry = .standard) -> @Sendable () -> String {
        { shared.toggle(workbench: workbench, sessionDir: sessionDir, corpus: corpus, vocabPath: vocabPath,
                        glueTrain: glueTrain, registry: registry) }
    }

    /// train.tsv beside a GLUE examples file (dev.tsv), when there is one.
    public static func trainFile(besideExamples path: String) -> String? {
        let p = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("train.tsv").path
        return FileManager.default.fileExists(atPath: p) && p != path ? p : nil
    }

    @Sendable public static func status() -> TrainingStatus? { shared.status() }

    /// Distillation of the workbench's fine-tuning (families whose recipe distils the float twin):
    /// the last layer's output matched with weight 100, the recipe measured on MiniLM/SST-2
    /// (README "Fine-tuning a checkpoint", issue 19).
    public static let distillation: DistillationConfig = {
        var d = DistillationConfig()
        d.hiddenWeight = 100
        d.hiddenLayers = [-1]
        return d
    }()

    func toggle(workbench: Workbench, sessionDir: String, corpus: String?, vocabPath: String?, glueTrain: String?,
                registry: ModelRegistry) -> String {
        lock.lock(); defer { lock.unlock() }
        if let j = job, !j.isDone {
            j.stop()
            return "stopping training after this step (checkpoints in \(sessionDir)/checkpoints)"
        }
        let model = workbench.currentModel()
        let traits = model.summary.family
        guard let family = registry.family(id: traits.id) else {
            return "\(traits.displayName) is not a registered family; it cannot be trained here"
        }
        guard let modelPath = workbench.snapshot().modelPath else { return "the open model has no file to fine-tune from" }
        var r = FineTuneRequest(initPath: modelPath, session: sessionDir)
        r.tokenizerPath = vocabPath
        r.steps = BackgroundTraining.steps; r.checkpointEvery = BackgroundTraining.checkpointEvery
        r.evalEvery = 100; r.evalBatches = 2
        r.neuron = family.trainingNeurons.contains(model.neuron) ? model.neuron.rawValue : nil
        r.timesteps = model.summary.timesteps
        let message: String
        if traits.generates {
            guard let corpus else { return "no corpus to train on: start with --corpus FILE" }
            r.corpus = corpus; r.batch = 8; r.context = 64; r.lr = 5e-4
            message = "training in the background from the open weights on \(URL(fileURLWithPath: corpus).lastPathComponent)"
        } else {
            guard let glueTrain else { return "no GLUE train.tsv to train on: start with --glue DIR/dev.tsv (train.tsv beside it)" }
            r.glue = glueTrain; r.batch = 16; r.context = 32; r.lr = 1e-4
            let teacher = traits.distillsFromFloat && model.neuron != .none
            if teacher { r.distill = BackgroundTraining.distillation }
            message = "training the classifier in the background on \(URL(fileURLWithPath: glueTrain).lastPathComponent)"
                + (teacher ? " (teacher: its float twin)" : "")
        }
        let request = r
        launch(TrainingJob { try FineTuneSetup.prepare(request, registry: registry).trainer })
        return message + "; r loads the newest checkpoint"
    }

    /// Makes `j` the current job and starts it (caller holds the lock).
    private func launch(_ j: TrainingJob) {
        job = j
        losses = []
        lastStep = -1
        j.start()
    }

    public func status() -> TrainingStatus? {
        lock.lock(); defer { lock.unlock() }
        guard let j = job else { return nil }
        let p = j.latest
        if p.step != lastStep, p.loss.isFinite {
            losses.append(p.loss)
            if losses.count > 200 { losses.removeFirst(losses.count - 200) }
            lastStep = p.step
        }
        let state: String = j.isDone ? (j.wait(timeout: 0).map { "failed: \($0)" } ?? "done") : "\(p.phase)"
        var status = TrainingStatus(step: p.step, totalSteps: p.totalSteps, loss: p.loss, losses: losses,
                                    tokensPerSecond: p.tokensPerSecond, etaSeconds: p.etaSeconds,
                                    lastCheckpoint: p.lastCheckpoint, state: state)
        status.parts = p.lossParts
        return status
    }

    /// Loads <session>/checkpoints/latest into the workbench, keeping the controls.
    public static func reload(workbench: Workbench, sessionDir: String, registry: ModelRegistry = .standard) -> String {
        do {
            let store = try CheckpointStore.forSession(URL(fileURLWithPath: sessionDir))
            guard let name = try store.latest() else { return "no checkpoint yet in \(sessionDir)/checkpoints" }
            let path = store.weightsURL(name).path
            let loaded = try ModelLoader.load(path: path, registry: registry)
            workbench.replaceModel(loaded.model, path: path)
            return "loaded \(name)"
        } catch {
            return "reload failed: \(error)"
        }
    }
}
