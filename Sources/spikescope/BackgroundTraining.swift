// BackgroundTraining: the TUI's `b` (start/stop training the open SpikeGPT in the background) and
// `r` (swap the newest checkpoint into the inspector).
//
// What it is: one lock-guarded `TrainingJob` per process. The job's thread builds its own trainer
// from Sendable inputs (weights, corpus path, vocabulary file), so no Variable crosses threads;
// the UI polls `status()` each tick. Checkpoints go to <session>/checkpoints/ atomically.
// SpikeGPT trains on a text corpus; SpikeBERT (the classifier) on the GLUE train.tsv beside the
// examples it shows (or the embedded SST-2-format examples), with its own vocab.txt.

import Foundation
import Engine
import Models
import Formats
import Training
import Workbench

final class BackgroundTraining: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var job: TrainingJob?
    private var losses: [Double] = []
    private var lastStep = -1

    static let shared = BackgroundTraining()

    /// Steps of one background run and how often it checkpoints.
    static let steps = 2000, checkpointEvery = 50

    /// The generated corpus in the source tree (what the default model was trained on).
    static var defaultCorpus: String? {
        let p = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Examples/corpus/tiny-english.txt").standardized.path
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    static func toggle(workbench: Workbench, sessionDir: String, corpus: String?, vocabPath: String?,
                       glueTrain: String? = nil) -> @Sendable () -> String {
        { shared.toggle(workbench: workbench, sessionDir: sessionDir, corpus: corpus ?? defaultCorpus, vocabPath: vocabPath,
                        glueTrain: glueTrain ?? defaultGLUETrain) }
    }

    /// train.tsv beside a GLUE examples file (dev.tsv), when there is one.
    static func trainFile(besideExamples path: String) -> String? {
        let p = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("train.tsv").path
        return FileManager.default.fileExists(atPath: p) && p != path ? p : nil
    }

    /// Our SST-2-format training examples in the source tree (what the embedded classifier learnt).
    static var defaultGLUETrain: String? {
        let p = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Examples/glue/SST-2/train.tsv").standardized.path
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    @Sendable static func status() -> TrainingStatus? { shared.status() }

    func toggle(workbench: Workbench, sessionDir: String, corpus: String?, vocabPath: String?, glueTrain: String?) -> String {
        lock.lock(); defer { lock.unlock() }
        if let j = job, !j.isDone {
            j.stop()
            return "stopping training after this step (checkpoints in \(sessionDir)/checkpoints)"
        }
        if let bert = workbench.currentModel() as? SpikeBERTModel {
            return startBERT(bert, modelPath: workbench.snapshot().modelPath, sessionDir: sessionDir, vocabPath: vocabPath, glueTrain: glueTrain)
        }
        guard let gpt = workbench.currentModel() as? SpikeGPT else {
            return "background training runs SpikeGPT and SpikeBERT models"
        }
        guard let corpus else { return "no corpus to train on: start with --corpus FILE" }
        guard let vocabPath, vocabPath.hasSuffix(".json") else {
            return "background training needs the model's char vocabulary (a .json beside it)"
        }
        let weights = gpt.weights, config = gpt.config
        let session = URL(fileURLWithPath: sessionDir)
        let j = TrainingJob {
            let vocab = try CharVocabulary.read(URL(fileURLWithPath: vocabPath))
            let (data, _) = try LMData.charCorpus(URL(fileURLWithPath: corpus), vocabulary: vocab)
            var cfg = TrainerConfig()
            cfg.arch = gpt.summary.family.id; cfg.variant = SpikeGPTVariant.spikegpt.rawValue
            cfg.layers = config.layers; cfg.width = config.width; cfg.vocab = config.vocab
            cfg.steps = BackgroundTraining.steps; cfg.batch = 8; cfg.context = 64; cfg.lr = 5e-4
            cfg.checkpointEvery = BackgroundTraining.checkpointEvery; cfg.evalEvery = 100; cfg.evalBatches = 2
            try FileManager.default.createDirectory(at: session, withIntermediateDirectories: true)
            try vocab.jsonData().write(to: session.appendingPathComponent("vocab.json"), options: .atomic)
            let model = SpikeGPTTrainable(graph: try SpikeGPTGraph(weights: weights, config: config))
            return try Trainer(model: model, data: .lm(data), config: cfg, checkpoints: try CheckpointStore.forSession(session))
        }
        launch(j)
        return "training in the background from the open weights; r loads the newest checkpoint"
    }

    /// SpikeBERT: continue training the open classifier (its weights and α) on `glueTrain`.
    /// Caller holds the lock.
    private func startBERT(_ bert: SpikeBERTModel, modelPath: String?, sessionDir: String, vocabPath: String?, glueTrain: String?) -> String {
        guard let glueTrain else { return "no GLUE train.tsv to train on: start with --glue DIR/dev.tsv (train.tsv beside it)" }
        guard let vocabPath, vocabPath.hasSuffix(".txt") else { return "SpikeBERT background training needs the model's vocab.txt" }
        guard let modelPath else { return "the model has no folder to take config.json from" }
        let configURL = URL(fileURLWithPath: modelPath).deletingLastPathComponent().appendingPathComponent("config.json")
        let weights = bert.tensors, config = bert.model.config, neuron = bert.neuron
        let session = URL(fileURLWithPath: sessionDir)
        let j = TrainingJob {
            let checkpoints = session.appendingPathComponent("checkpoints")
            try FileManager.default.createDirectory(at: checkpoints, withIntermediateDirectories: true)
            // Checkpoints load like the model folder: config.json and vocab.txt beside them.
            for (src, name) in [(configURL, "config.json"), (URL(fileURLWithPath: vocabPath), "vocab.txt")] {
                let dst = checkpoints.appendingPathComponent(name)
                try? FileManager.default.removeItem(at: dst)
                try FileManager.default.copyItem(at: src, to: dst)
            }
            let tokenizer = try HFTokenizer.wordPiece(vocabFile: vocabPath)
            let train = URL(fileURLWithPath: glueTrain)
            let dev = train.deletingLastPathComponent().appendingPathComponent("dev.tsv")
            let data = try SpikeBERTData.glue(train: train, dev: FileManager.default.fileExists(atPath: dev.path) ? dev : nil,
                                              tokenizer: tokenizer, length: min(config.maxPositions, 32))
            var cfg = TrainerConfig()
            cfg.arch = "spikebert"; cfg.timesteps = config.steps; cfg.classes = data.labels.count; cfg.vocab = config.vocabSize
            cfg.layers = config.layers; cfg.width = config.hiddenSize; cfg.context = min(config.maxPositions, 32)
            cfg.steps = BackgroundTraining.steps; cfg.batch = 16; cfg.lr = 1e-3
            cfg.checkpointEvery = BackgroundTraining.checkpointEvery; cfg.evalEvery = 100; cfg.evalBatches = 2
            let model = SpikeBERTTrainable(graph: try SpikeBERTGraph(config: config, weights: weights,
                                                                     neuron: neuron == .none ? .none : .elastic))
            return try Trainer(model: model, data: .classification(data), config: cfg, checkpoints: try CheckpointStore.forSession(session))
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

    func status() -> TrainingStatus? {
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
    static func reload(workbench: Workbench, sessionDir: String) -> String {
        do {
            let store = try CheckpointStore.forSession(URL(fileURLWithPath: sessionDir))
            guard let name = try store.latest() else { return "no checkpoint yet in \(sessionDir)/checkpoints" }
            let path = store.weightsURL(name).path
            let loaded = try ModelLoader.load(path: path)
            workbench.replaceModel(loaded.model, path: path)
            return "loaded \(name)"
        } catch {
            return "reload failed: \(error)"
        }
    }
}
