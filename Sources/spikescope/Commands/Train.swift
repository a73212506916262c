// `spikescope train`: trains a model from the command line with the same Trainer the workbench
// runs in the background. What it is not: the TUI's training panel (that drives `TrainingJob`).
import ArgumentParser
import Experiments
import Foundation
import Engine
import Models
import Neurons
import Formats
import Training

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a SpikeGPT, LLaMA or SpikeBERT from scratch, or fine-tune a checkpoint into its spiking form (--init, --distill, --target-rate), with checkpoints and exact resume.",
        discussion: """
        Checkpoints go to <session>/checkpoints/step-NNNNNN.{safetensors,optim.safetensors,trainer.json} and \
        <session>/checkpoints/latest names the newest complete one. The char vocabulary is <session>/vocab.json; \
        the final weights also go to <session>/model.safetensors.
        Example: spikescope train --arch spikegpt --corpus Examples/corpus/tiny-english.txt --session sessions/tiny \
        --steps 120 --layers 2 --width 64 --context 32 --batch 8
        SpikeBERT (--arch spikebert --glue FILE): a vocab.txt is built from the file's words; the session gets \
        config.json, vocab.txt and model.safetensors (with α), which 'inspect --model <session>' opens; dev.tsv \
        beside FILE is the held-out set. Example: spikescope train --arch spikebert --glue Examples/glue/SST-2/train.tsv \
        --session sessions/sst2 --steps 300 --layers 2 --width 64 --heads 2 --context 16 --batch 16 --timesteps 4 --dropout 0.1
        Fine-tuning (--init PATH): the checkpoint's tokenizer, sizes and names are kept; a classifier gets a new head \
        (--glue), a generator trains on --corpus tokenized with its own tokenizer. The session gets the checkpoint's \
        tokenizer file and config, so 'inspect --model <session>' and the workbench open it. --distill uses the float \
        twin as teacher: loss = w_task·CE + w_kd·τ²·KL(softmax(z_t/τ) ‖ softmax(z_s/τ)) + w_hid·mean over layers of \
        MSE(h_s, h_t), the terms of SpikeLM's Learner (spikeLM-BERT/learner.py: logits distillation at temperature 1, \
        a representation MSE, the real loss; its released GLUE run uses the real loss only). --target-rate R adds \
        rate-weight·max(0, r − R), r the batch's measured mean firing rate over the spiking sites (its gradient is the smooth \
        rate's: the spike step replaced by a logistic). Example: spikescope train \
        --init sessions/minilm-float --glue Examples/glue/SST-2/train.tsv --session sessions/minilm-spiking --steps 150 \
        --context 16 --batch 16 --lr 2e-4 --distill --hidden-weight 100 --hidden-layers last --timesteps 4 \
        (sessions/minilm-float: the float MiniLM fine-tuned first with --init .downloads/minilm --neuron none; README).
        """)

    @Option(help: "Architecture: spikegpt, spikebert or llama (default spikegpt; with --init, the checkpoint's).") var arch: String?
    @Option(help: "Plain-text corpus (char-level language model).") var corpus: String?
    @Option(help: "GLUE-style TSV with 'sentence' and 'label' columns (classification).") var glue: String?
    @Option(help: "Session directory (checkpoints, vocabulary, final model).") var session: String
    @Option(help: "Total training steps.") var steps: Int
    @Option(help: "Number of blocks (from scratch; --init takes the checkpoint's).") var layers: Int?
    @Option(help: "Width C (FFN is 4C; from scratch; --init takes the checkpoint's).") var width: Int?
    @Option(help: "Tokens per training window (classification: padded/cropped length).") var context: Int
    @Option(help: "Sequences per batch.") var batch: Int
    @Option(help: "Peak learning rate (linear warmup, cosine decay to lr/10).") var lr: Float = 3e-3
    @Option(help: "Timesteps T (spikebert only; default 4).") var timesteps: Int?
    @Option(help: "SpikeBERT neuron: elastic (ternary, released), signed (±1), binary ({0,1}) or none (float).") var neuron: String?
    @Option(help: "Attention heads of spikebert and llama (default width/32, at least 1; llama: half as many kv heads when even).") var heads: Int?
    @Option(help: "Write a checkpoint every N steps (0: only none).") var checkpointEvery: Int = 0
    @Option(help: "Validate every N steps.") var evalEvery: Int = 50
    @Option(help: "Validation batches per evaluation.") var evalBatches: Int = 4
    @Flag(help: "Continue from <session>/checkpoints/latest (same flags as the first run).") var resume = false
    @Flag(help: "Print one JSON object per step on stdout.") var jsonProgress = false
    @Option(help: "Seed of init, data order and dropout.") var seed: UInt64 = 1
    @Option(help: "SpikeGPT Table 5 variant: spikegpt, vanilla, heaviside, lif-ffn.") var variant: String = "spikegpt"
    @Option(help: "Dropout after each block during training (spikebert: probability of replacing a word by [UNK]).") var dropout: Float = 0
    @Flag(help: "Print seconds per phase of a step (data, forward, backward, optimizer) at the end.") var timing = false

    // Fine-tuning a pretrained checkpoint (Train+FineTune.swift).
    @Option(name: .customLong("init"), help: "Start from this checkpoint (an HF BERT/MiniLM folder, a SpikeGPT .pth/.safetensors, a LLaMA folder): keep its tokenizer, names and sizes, and train its spiking form.") var initFrom: String?
    @Flag(help: "Distil from the float twin of --init (the same checkpoint with neuron none): task loss + KL of the logits + MSE of the layers' outputs.") var distill = false
    @Option(help: "Weight of the task loss (with --distill).") var taskWeight: Float = 1
    @Option(help: "Weight of the logits distillation τ²·KL(teacher ‖ student) (with --distill).") var kdWeight: Float = 1
    @Option(help: "Weight of the hidden-state MSE (with --distill).") var hiddenWeight: Float = 1
    @Option(help: "Temperature τ of the logits distillation (SpikeLM: 1).") var temperature: Float = 1
    @Option(help: "Layers whose outputs are matched, 0-based, e.g. '5', '0,2,5' or 'last' (default: all).") var hiddenLayers: String?
    @Option(help: "Firing-rate target R: adds rate-weight·max(0, measured rate − R) to the loss (gradient of the smooth rate).") var targetRate: Double?
    @Option(help: "Weight of the firing-rate regulariser.") var rateWeight: Float = 1

    /// The family `--arch` names, among those that can train here.
    var family: (any ModelFamily)? {
        ModelRegistry.standard.family(id: archID).flatMap { $0.trainingVocabulary == nil ? nil : $0 }
    }
    var archID: String { arch ?? "spikegpt" }

    func validate() throws {
        if initFrom != nil { try validateFineTune(); return }
        for (flag, v) in [("--layers", layers), ("--width", width)] where v == nil {
            throw ValidationError("Missing expected argument '\(flag) <\(flag.dropFirst(2))>' (training from scratch; or start from a checkpoint with --init PATH).")
        }
        if distill || targetRate != nil { throw ValidationError("--distill and --target-rate fine-tune a checkpoint: give it with --init PATH.") }
        let arch = archID, layers = layers!, width = width!
        let trainable = ModelRegistry.standard.families.filter { $0.trainingVocabulary != nil }
        guard let family else {
            throw ValidationError("The value '\(arch)' is invalid for '--arch <arch>'. Use \(trainable.map(\.traits.id).joined(separator: " or ")).")
        }
        let name = family.traits.displayName
        if corpus == nil && glue == nil { throw ValidationError("Give the data: --corpus PATH (language model) or --glue FILE (classification).") }
        if corpus != nil && glue != nil { throw ValidationError("--corpus and --glue conflict: train a language model or a classifier, not both.") }
        let variants = family.trainingVariants
        if !variants.isEmpty, !variants.contains(variant) {
            throw ValidationError("The value '\(variant)' is invalid for '--variant <variant>'. Use one of: \(variants.joined(separator: ", ")).")
        }
        let neurons = family.trainingNeurons
        if let neuron, !neurons.isEmpty, !neurons.map(\.rawValue).contains(neuron) {
            throw ValidationError("The value '\(neuron)' is invalid for '--neuron <neuron>'. \(name) trains \(neurons.map(\.rawValue).joined(separator: ", ")).")
        }
        if family.trainingVocabulary == .words {
            if corpus != nil { throw ValidationError("--arch \(arch) trains a classifier: give --glue FILE (SST-2 columns), not --corpus.") }
            let h = heads ?? max(1, width / 32)
            if h < 1 || width % h != 0 { throw ValidationError("The value '\(h)' is invalid for '--heads': it must divide --width \(width).") }
        }
        if let t = timesteps {
            guard family.traits.steps == .timesteps else {
                throw ValidationError("--timesteps applies to families that run T timesteps (\(name) runs one step per token).")
            }
            if !(1...BERTConfig.maxTimesteps).contains(t) {
                throw ValidationError("The value '\(t)' is invalid for '--timesteps': it must be in 1…\(BERTConfig.maxTimesteps) (SpikeLM uses 1 or 4).")
            }
        }
        for (flag, v) in [("--steps", steps), ("--layers", layers), ("--width", width), ("--context", context), ("--batch", batch)] where v < 1 {
            throw ValidationError("The value '\(v)' is invalid for '\(flag)': it must be at least 1.")
        }
        if checkpointEvery < 0 { throw ValidationError("The value '\(checkpointEvery)' is invalid for '--checkpoint-every': use 0 (no checkpoints) or more.") }
        if !(lr > 0) { throw ValidationError("The value '\(lr)' is invalid for '--lr': it must be positive, e.g. 3e-3.") }
    }

    func run() throws {
        try reportingErrors(prefix: "error", exitCode: 1) { try train() }
    }

    /// What to build, from the flags (fields a family does not use are ignored by it).
    func spec(vocab: Int, classes: Int, labels: [String]) -> TrainingSpec {
        var s = TrainingSpec(layers: layers ?? 1, width: width ?? 1, vocab: vocab, context: context)
        s.classes = classes; s.labels = labels; s.heads = heads; s.timesteps = timesteps
        s.neuron = NeuronKind(rawValue: neuron ?? "elastic"); s.variant = variant; s.dropout = dropout; s.seed = seed
        return s
    }

    func train() throws {
        if initFrom != nil { try fineTune(); return }
        let arch = archID, layers = layers ?? 1, width = width ?? 1
        guard let family else { throw ValidationError("--arch \(arch) cannot train here") }
        if family.trainingVocabulary == .words { try trainWords(family); return }
        let sessionURL = URL(fileURLWithPath: session)
        try FileManager.default.createDirectory(at: sessionURL, withIntermediateDirectories: true)
        let vocabURL = sessionURL.appendingPathComponent("vocab.json")
        let existing = resume && FileManager.default.fileExists(atPath: vocabURL.path) ? try CharVocab.load(file: vocabURL.path, unknownCharacter: nil) : nil

        var cfg = TrainerConfig()
        cfg.arch = arch; cfg.variant = variant
        cfg.layers = layers; cfg.width = width; cfg.steps = steps; cfg.batch = batch; cfg.context = context
        cfg.lr = lr; cfg.checkpointEvery = checkpointEvery; cfg.evalEvery = evalEvery; cfg.evalBatches = evalBatches
        cfg.seed = seed; cfg.dropout = dropout

        let data: TrainingData, vocab: CharVocab
        if let corpus {
            let (d, v) = try LMData.charCorpus(URL(fileURLWithPath: corpus), vocabulary: existing)
            data = .lm(d); vocab = v
        } else {
            let url = URL(fileURLWithPath: glue!)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                throw TrainingError.badData(path: url.path, reason: "cannot read", hint: "give a GLUE TSV file")
            }
            let v = existing ?? CharVocab(building: text)
            let pad = v.chars.firstIndex(of: " ") ?? 0
            let d = try ClassificationData.glue(url, encode: { try v.ids($0, source: url.path) }, pad: pad, length: context)
            cfg.classes = d.labels.count
            data = .classification(d); vocab = v
        }
        cfg.vocab = vocab.count
        if existing == nil { try vocab.jsonData().write(to: vocabURL, options: .atomic) }

        let spec = spec(vocab: vocab.count, classes: cfg.classes, labels: [])
        guard let model = try family.newTrainable(spec) else {
            throw ValidationError("--arch \(arch) has no training form")
        }
        for (name, bytes) in try family.loadableFiles(spec) {  // e.g. config.json: checkpoints load as they are
            try AtomicWrite.write(to: sessionURL.appendingPathComponent(name).path) { try $0.write(bytes) }
        }
        let trainer = try runTrainer(model, data: data, config: cfg, session: sessionURL)
        let p = trainer.progress
        try model.exportWeights().writeSafetensors(to: sessionURL.appendingPathComponent("model.safetensors"), metadata: model.metadata)
        var summary = "done: step \(p.step), loss \(String(format: "%.4f", p.loss))"
        if let v = p.valLoss { summary += ", val_loss \(String(format: "%.4f", v))" }
        if let b = p.bpc { summary += ", bpc \(String(format: "%.4f", b))" }
        if let a = p.accuracy { summary += ", accuracy \(String(format: "%.3f", a))" }
        FileHandle.standardError.write(Data((summary + "\n").utf8))
        if timing {
            let t = trainer.timings, total = max(t.data + t.forward + t.backward + t.optimizer, 1e-9)
            func pct(_ x: Double) -> String { String(format: "%.1f s (%.0f%%)", x, 100 * x / total) }
            FileHandle.standardError.write(Data("timing: data \(pct(t.data)), forward \(pct(t.forward)), backward \(pct(t.backward)), optimizer \(pct(t.optimizer))\n".utf8))
        }
    }

    /// A classifier from scratch with a WordPiece vocabulary built from the training file's words
    /// (`TrainingVocabulary.words`). The session then holds model.safetensors, vocab.txt and the
    /// family's loadable files (config.json), which `inspect --model <session>` opens.
    /// Validation = dev.tsv beside the file when present.
    func trainWords(_ family: any ModelFamily) throws {
        let arch = archID, layers = layers ?? 1, width = width ?? 1
        let sessionURL = URL(fileURLWithPath: session)
        try FileManager.default.createDirectory(at: sessionURL, withIntermediateDirectories: true)
        let trainURL = URL(fileURLWithPath: glue!)
        let vocabURL = sessionURL.appendingPathComponent("vocab.txt")
        if !(resume && FileManager.default.fileExists(atPath: vocabURL.path)) {
            try BERTVocabularyBuilder.write(BERTVocabularyBuilder.build(sentences: try BERTVocabularyBuilder.sentences(glue: trainURL)), to: vocabURL)
        }
        let tokenizer = try HFTokenizer.wordPiece(vocabFile: vocabURL.path)
        let devURL = trainURL.deletingLastPathComponent().appendingPathComponent("dev.tsv")
        let dev = devURL.standardizedFileURL.path != trainURL.standardizedFileURL.path
            && FileManager.default.fileExists(atPath: devURL.path) ? devURL : nil
        let data = try ClassificationData.glue(train: trainURL, dev: dev, tokenizer: tokenizer, length: context)
        let spec = spec(vocab: tokenizer.vocabSize, classes: data.labels.count, labels: data.labels)
        for (name, bytes) in try family.loadableFiles(spec) {
            try AtomicWrite.write(to: sessionURL.appendingPathComponent(name).path) { try $0.write(bytes) }
        }

        var cfg = TrainerConfig()
        cfg.arch = arch; cfg.timesteps = family.traits.steps == .timesteps ? (timesteps ?? 4) : nil
        cfg.classes = data.labels.count; cfg.vocab = tokenizer.vocabSize
        cfg.layers = layers; cfg.width = width; cfg.steps = steps; cfg.batch = batch; cfg.context = context
        cfg.lr = lr; cfg.checkpointEvery = checkpointEvery; cfg.evalEvery = evalEvery; cfg.evalBatches = evalBatches
        cfg.seed = seed; cfg.dropout = dropout
        guard let model = try family.newTrainable(spec) else { throw ValidationError("--arch \(arch) has no training form") }
        let trainer = try runTrainer(model, data: .classification(data), config: cfg, session: sessionURL)
        try model.exportWeights().writeSafetensors(to: sessionURL.appendingPathComponent("model.safetensors"), metadata: model.metadata)
        let source = dev.map { "dev \($0.path)" } ?? "last 10% of \(trainURL.path)"
        try reportValidation(model, data: data, trainer: trainer, source: source)
    }

    /// Accuracy on every validation row (the periodic evaluation sees at most eval-batches of
    /// them), on stderr and, with --json-progress, as the final JSON line; `extra` adds fields.
    func reportValidation(_ model: any TrainableModel, data: ClassificationData, trainer: Trainer, source: String,
                          extra: [String: Any] = [:]) throws {
        var r = EvalResult()
        var i = 0
        while i < data.validation.count {
            let rows = data.validation[i..<min(i + batch, data.validation.count)]
            r.add(try model.evaluate(.classification(inputs: rows.map(\.ids), labels: rows.map(\.label))))
            i += batch
        }
        let acc = Double(r.correct) / Double(max(r.count, 1))
        FileHandle.standardError.write(Data((String(format: "done: step %d, loss %.4f, validation loss %.4f, accuracy %.3f", trainer.step, trainer.progress.loss, r.meanLoss, acc)
                                                   + " (\(r.correct)/\(r.count) rows of \(source))\n").utf8))
        if jsonProgress {
            var o: [String: Any] = ["event": "final", "step": trainer.step, "val_loss": r.meanLoss, "accuracy": acc, "rows": r.count]
            o.merge(extra) { _, new in new }
            if let d = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]) { FileHandle.standardOutput.write(d + Data("\n".utf8)) }
        }
    }

    /// Builds the trainer over <session>/checkpoints, resumes when asked, and runs it with the
    /// progress bar and (with --json-progress) one JSON line per completed step.
    func runTrainer(_ model: any TrainableModel, data: TrainingData, config cfg: TrainerConfig, session: URL) throws -> Trainer {
        let store = try CheckpointStore.forSession(session)
        let trainer = try Trainer(model: model, data: data, config: cfg, checkpoints: store)
        try run(trainer)
        return trainer
    }

    /// Resumes `trainer` when asked, then runs it with the progress bar and (with
    /// --json-progress) one JSON line per completed step.
    func run(_ trainer: Trainer, resuming: Bool = true) throws {
        if resume && resuming { try resumeLatest(trainer) }
        let bar = ProgressBar(enabled: isatty(2) != 0)
        var printed = trainer.step  // one line per completed step (not the start-of-run snapshot)
        try trainer.run { p in
            if jsonProgress, p.step > printed { printJSON(p); printed = p.step }
            bar.draw(p)
        }
        bar.finish()
    }

    /// Continues from <session>/checkpoints/latest, saying from where.
    func resumeLatest(_ trainer: Trainer) throws {
        guard let store = trainer.checkpoints else { return }
        if let name = try trainer.resumeFromLatest() {
            FileHandle.standardError.write(Data("resuming from \(name) (step \(trainer.step))\n".utf8))
        } else {
            FileHandle.standardError.write(Data("no checkpoint in \(store.directory.path); starting fresh\n".utf8))
        }
    }

    func printJSON(_ p: TrainingProgress) {
        var o: [String: Any] = ["step": p.step, "loss": p.loss.isFinite ? p.loss : NSNull(), "lr": p.lr,
                                "tokens_per_s": (p.tokensPerSecond * 10).rounded() / 10]
        if p.evaluated {
            if let v = p.valLoss { o["val_loss"] = v }
            if let b = p.bpc { o["bpc"] = b }
            if let a = p.accuracy { o["accuracy"] = a }
            if !p.firingRates.isEmpty { o["firing_rates"] = p.firingRates }
        }
        if let c = p.lastCheckpoint { o["checkpoint"] = c }
        if !p.lossParts.isEmpty { o["loss_parts"] = p.lossParts }
        if let m = p.message { o["event"] = m }
        if let d = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]) {
            FileHandle.standardOutput.write(d + Data("\n".utf8))
        }
    }
}

/// A one-line progress bar on stderr (only on a terminal).
final class ProgressBar {
    let enabled: Bool
    init(enabled: Bool) { self.enabled = enabled }
    func draw(_ p: TrainingProgress) {
        guard enabled, p.totalSteps > 0 else { return }
        let w = 30, filled = Int(Double(w) * Double(p.step) / Double(p.totalSteps))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: w - filled)
        var s = "\r\(bar) \(p.step)/\(p.totalSteps) loss \(String(format: "%.3f", p.loss)) lr \(String(format: "%.2e", p.lr)) "
            + "\(Int(p.tokensPerSecond)) tok/s ETA \(Int(p.etaSeconds))s"
        if let b = p.bpc { s += " bpc \(String(format: "%.3f", b))" }
        FileHandle.standardError.write(Data((s + "\u{1B}[K").utf8))
    }
    func finish() { if enabled { FileHandle.standardError.write(Data("\n".utf8)) } }
}
