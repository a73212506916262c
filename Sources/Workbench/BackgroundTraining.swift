// BackgroundTraining: the workbench's `b` (start/stop training the open model in the background)
// and `r` (swap the newest checkpoint into the inspector), for any family with a training form.
//
// What it is: one lock-guarded `TrainingJob` per process. The job's thread asks the model's
// family for its training form (`ModelFamily.trainable(continuing:)`) and builds its own trainer
// from Sendable inputs (the model value, data paths, the tokenizer file), so no Variable crosses
// threads; the UI polls `status()` each tick. Checkpoints go to <session>/checkpoints/
// atomically. A family that generates trains as a language model on a text corpus with its char
// vocabulary (.json); one that classifies trains on a GLUE train.tsv with its vocab.txt.
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
        return traits.generates
            ? startLanguageModel(model, family: family, sessionDir: sessionDir, corpus: corpus, vocabPath: vocabPath)
            : startClassifier(model, family: family, modelPath: workbench.snapshot().modelPath, sessionDir: sessionDir,
                              vocabPath: vocabPath, glueTrain: glueTrain)
    }

    /// The family's training form for `model`, or a TrainingError saying it has none.
    private static func trainable(_ family: any ModelFamily, _ model: any InspectableModel) throws -> any TrainableModel {
        guard let t = try family.trainable(continuing: model) else {
            throw TrainingError.badConfig(field: "model", value: family.traits.displayName, reason: "has no training form in spikescope",
                                          hint: "train it elsewhere and open the checkpoint")
        }
        return t
    }

    /// A generating model: next-token training on `corpus` with its char vocabulary. Caller holds the lock.
    private func startLanguageModel(_ model: any InspectableModel, family: any ModelFamily, sessionDir: String,
                                    corpus: String?, vocabPath: String?) -> String {
        guard let corpus else { return "no corpus to train on: start with --corpus FILE" }
        guard let vocabPath, vocabPath.hasSuffix(".json") else {
            return "background training needs the model's char vocabulary (a .json beside it)"
        }
        let s = model.summary
        let session = URL(fileURLWithPath: sessionDir)
        let j = TrainingJob {
            let vocab = try CharVocab.load(file: vocabPath, unknownCharacter: nil)
            let (data, _) = try LMData.charCorpus(URL(fileURLWithPath: corpus), vocabulary: vocab)
            var cfg = TrainerConfig()
            cfg.arch = s.family.id
            cfg.layers = s.layers; cfg.width = s.width; cfg.vocab = s.vocab
            cfg.steps = BackgroundTraining.steps; cfg.batch = 8; cfg.context = 64; cfg.lr = 5e-4
            cfg.checkpointEvery = BackgroundTraining.checkpointEvery; cfg.evalEvery = 100; cfg.evalBatches = 2
            try Folder.create(session.path)
            try vocab.jsonData().write(to: session.appendingPathComponent("vocab.json"), options: .atomic)
            let trainable = try BackgroundTraining.trainable(family, model)
            return try Trainer(model: trainable, data: .lm(data), config: cfg, checkpoints: try CheckpointStore.forSession(session))
        }
        launch(j)
        return "training in the background from the open weights; r loads the newest checkpoint"
    }

    /// A classifier: continue training the open model (its weights and α) on `glueTrain`, with
    /// the model's WordPiece vocab.txt. Caller holds the lock.
    private func startClassifier(_ model: any InspectableModel, family: any ModelFamily, modelPath: String?, sessionDir: String,
                                 vocabPath: String?, glueTrain: String?) -> String {
        guard let glueTrain else { return "no GLUE train.tsv to train on: start with --glue DIR/dev.tsv (train.tsv beside it)" }
        guard let vocabPath, vocabPath.hasSuffix(".txt") else { return "\(family.traits.displayName) background training needs the model's vocab.txt" }
        guard let modelPath else { return "the model has no folder to take config.json from" }
        let configURL = URL(fileURLWithPath: modelPath).deletingLastPathComponent().appendingPathComponent("config.json")
        let s = model.summary
        let session = URL(fileURLWithPath: sessionDir)
        let context = 32
        let j = TrainingJob {
            let checkpoints = session.appendingPathComponent("checkpoints")
            try Folder.create(checkpoints.path)
            // Checkpoints load like the model folder: config.json and vocab.txt beside them.
            for (src, name) in [(configURL, "config.json"), (URL(fileURLWithPath: vocabPath), "vocab.txt")] {
                let dst = checkpoints.appendingPathComponent(name)
                try? FileManager.default.removeItem(at: dst)
                try FileManager.default.copyItem(at: src, to: dst)
            }
            let tokenizer = try HFTokenizer.wordPiece(vocabFile: vocabPath)
            let train = URL(fileURLWithPath: glueTrain)
            let dev = train.deletingLastPathComponent().appendingPathComponent("dev.tsv")
            let data = try ClassificationData.glue(train: train, dev: FileManager.default.fileExists(atPath: dev.path) ? dev : nil,
                                                   tokenizer: tokenizer, length: context)
            var cfg = TrainerConfig()
            cfg.arch = s.family.id; cfg.timesteps = s.timesteps; cfg.classes = data.labels.count; cfg.vocab = s.vocab
            cfg.layers = s.layers; cfg.width = s.width; cfg.context = context
            cfg.steps = BackgroundTraining.steps; cfg.batch = 16; cfg.lr = 1e-3
            cfg.checkpointEvery = BackgroundTraining.checkpointEvery; cfg.evalEvery = 100; cfg.evalBatches = 2
            let trainable = try BackgroundTraining.trainable(family, model)
            return try Trainer(model: trainable, data: .classification(data), config: cfg, checkpoints: try CheckpointStore.forSession(session))
        }
        launch(j)
        return "training the classifier in the background on \(URL(fileURLWithPath: glueTrain).lastPathComponent); r loads the newest checkpoint"
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
        return TrainingStatus(step: p.step, totalSteps: p.totalSteps, loss: p.loss, losses: losses,
                              tokensPerSecond: p.tokensPerSecond, etaSeconds: p.etaSeconds,
                              lastCheckpoint: p.lastCheckpoint, state: state)
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
