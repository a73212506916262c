// Trainer: the synchronous training loop — sample a batch, loss, backward, NaN/Inf guard,
// clip + AdamW with the LR schedule, periodic validation and checkpoints, exact resume.
//
// What it is: one object owned by one thread (the caller's, or `TrainingJob`'s). Progress goes
// out through a callback as `TrainingProgress` values; pause/stop come in through a
// `TrainingControl`, checked between steps.
// What it is not: thread-safe (a Variable graph belongs to one thread); `TrainingJob` wraps it.

import Foundation
import Engine
import Models

/// What to build and how to train it. Example values in comments: the tiny test run.
public struct TrainerConfig: Codable, Sendable, Equatable {
    /// The family trained (`FamilyTraits.id`), recorded with the checkpoint.
    public var arch = ""
    /// A family's variant of its model, when it has several (SpikeGPT's Table 5 ablations).
    public var variant = ""
    public var layers = 2               // 2
    public var width = 64               // 64
    public var vocab = 0                // set from the data
    public var classes = 0              // > 0: classification
    public var timesteps: Int?          // families that run T timesteps
    public var steps = 120              // 120
    public var batch = 8                // 8
    public var context = 32             // 32
    public var lr: Float = 3e-3         // peak learning rate
    /// Floor of the cosine, as a fraction of `lr` (0.1: RWKV-LM decays 10× over a run).
    public var lrFloorFraction: Float = 0.1
    /// Warmup steps; nil → min(100, steps/10).
    public var warmup: Int?
    public var adam = AdamWConfig()
    public var dropout: Float = 0
    public var evalEvery = 50
    public var evalBatches = 4
    /// 0 → no checkpoints.
    public var checkpointEvery = 0
    /// Fine-tuning of a pretrained checkpoint (`train --init`); nil = trained from scratch.
    public var fineTune: FineTuneConfig?
    public var seed: UInt64 = 1
    public init() {}

    public var schedule: LRSchedule {
        LRSchedule(peak: lr, floor: lr * lrFloorFraction, warmup: warmup ?? min(100, steps / 10), total: steps)
    }

    /// Checks ranges; the CLI shows these messages.
    public func validate() throws {
        func bad(_ f: String, _ v: Any, _ r: String, _ h: String) -> TrainingError { .badConfig(field: f, value: "\(v)", reason: r, hint: h) }
        if layers < 1 { throw bad("layers", layers, "needs at least 1 layer", "try --layers 2") }
        if width < 2 { throw bad("width", width, "width must be ≥ 2", "try --width 64") }
        if steps < 1 { throw bad("steps", steps, "needs at least 1 step", "try --steps 120") }
        if batch < 1 { throw bad("batch", batch, "needs at least 1 sequence", "try --batch 8") }
        if context < 1 { throw bad("context", context, "needs at least 1 token", "try --context 32") }
        if !(lr > 0) || !lr.isFinite { throw bad("lr", lr, "must be a positive number", "try --lr 3e-3") }
        if checkpointEvery < 0 { throw bad("checkpoint-every", checkpointEvery, "must be ≥ 0", "0 disables checkpoints") }
    }
}

/// A snapshot of a run, as published to the UI and the CLI.
public struct TrainingProgress: Sendable, Equatable {
    public enum Phase: String, Sendable, Codable { case starting, running, paused, finished, stopped, failed }
    public var phase: Phase = .starting
    public var step = 0
    public var totalSteps = 0
    /// Training loss of the newest step (nats per token/row); NaN before the first.
    public var loss = Double.nan
    public var lr: Double = 0
    public var gradNorm: Double = 0
    public var tokensPerSecond: Double = 0
    public var etaSeconds: Double = 0
    public var valLoss: Double?
    /// Bits per character (char LM): valLoss / ln 2.
    public var bpc: Double?
    public var perplexity: Double?
    public var accuracy: Double?
    /// Firing rate per site on a validation sample (SpikeGPT variant only).
    public var firingRates: [String: Double] = [:]
    /// Parts of the newest step's loss (fine-tuning: "task", "kd", "hidden", "rate_penalty",
    /// and the batch's measured "firing_rate"); empty when the loss has no parts.
    public var lossParts: [String: Double] = [:]
    public var lastCheckpoint: String?
    /// Steps that were skipped because loss or gradient was not finite.
    public var skippedSteps: [Int] = []
    /// A one-line note of the newest event (non-finite step, checkpoint, error).
    public var message: String?
    /// Whether this snapshot carries fresh validation metrics.
    public var evaluated = false
    public init() {}
}

/// Pause/resume/stop requests, shared between the UI and the training thread.
public final class TrainingControl: @unchecked Sendable {
    // Guarded by `cond`.
    private let cond = NSCondition()
    private var paused = false
    private var stopped = false

    public init() {}

    public func pause() { cond.lock(); paused = true; cond.unlock() }
    public func resume() { cond.lock(); paused = false; cond.broadcast(); cond.unlock() }
    public func stop() { cond.lock(); stopped = true; cond.broadcast(); cond.unlock() }
    public var isStopRequested: Bool { cond.lock(); defer { cond.unlock() }; return stopped }
    public var isPaused: Bool { cond.lock(); defer { cond.unlock() }; return paused }

    /// Blocks while paused (returns at once otherwise); `onPause` runs once if it blocks.
    /// Returns whether a stop was requested.
    func waitWhilePaused(onPause: () -> Void) -> Bool {
        cond.lock(); defer { cond.unlock() }
        if paused && !stopped {
            cond.unlock(); onPause(); cond.lock()
            while paused && !stopped { cond.wait() }
        }
        return stopped
    }
}

/// The data a run trains on.
public enum TrainingData: Sendable {
    case lm(LMData)
    case classification(ClassificationData)
}

public final class Trainer {
    public let model: any TrainableModel
    public let optimizer: AdamW
    public let config: TrainerConfig
    public let schedule: LRSchedule
    public let data: TrainingData
    public var checkpoints: CheckpointStore?
    /// Whether validation BPC is meaningful (char-level LM).
    public var charLevel = true

    public private(set) var step = 0
    public private(set) var losses: [Double] = []
    public private(set) var lastCheckpoint: String?
    public private(set) var progress = TrainingProgress()
    var dataRNG: SeededRNG
    var dropoutRNG: SeededRNG
    var nonFiniteStreak = 0
    /// Seconds spent per phase of `trainStep` since init: data, forward, backward, optimizer.
    public private(set) var timings = StepTimings()

    public struct StepTimings: Sendable, Equatable {
        public var data = 0.0, forward = 0.0, backward = 0.0, optimizer = 0.0
    }

    public init(model: any TrainableModel, data: TrainingData, config: TrainerConfig, checkpoints: CheckpointStore? = nil) throws {
        try config.validate()
        self.model = model
        self.data = data
        self.config = config
        self.schedule = config.schedule
        self.optimizer = AdamW(config: config.adam)
        self.checkpoints = checkpoints
        // Distinct streams derived from the seed (golden-ratio offsets keep them apart).
        dataRNG = SeededRNG(seed: config.seed &+ 0x5151_5151)
        dropoutRNG = SeededRNG(seed: config.seed &+ 0xD0D0_D0D0)
        progress.totalSteps = config.steps
    }

    /// Continues from the checkpoint `latest` names: parameters, moments, step, RNGs, losses.
    /// Returns its name, or nil when the store has none (the run starts fresh).
    @discardableResult
    public func resumeFromLatest() throws -> String? {
        guard let store = checkpoints, let name = try store.latest() else { return nil }
        let c = try store.read(name)
        if c.state.config.fineTune != config.fineTune {
            throw TrainingError.badCheckpoint(path: store.weightsURL(name).path,
                                              reason: "was written by a run with \(FineTuneConfig.describe(c.state.config.fineTune)), this run asks for \(FineTuneConfig.describe(config.fineTune))",
                                              hint: "resume with the flags of the first run (--init, --distill, --target-rate…)")
        }
        let params = model.parameters
        for (pname, p) in params {
            let path = store.weightsURL(name).path
            guard let t = c.weights[pname] else {
                throw TrainingError.badCheckpoint(path: path, reason: "tensor '\(pname)' is missing", hint: "was it written for another model size?")
            }
            guard t.count == p.value.count else {
                throw TrainingError.badCheckpoint(path: path, reason: "tensor '\(pname)' is \(t.shape), the model has \(p.value.shape)",
                                                  hint: "resume with the same --layers/--width as the checkpoint")
            }
            p.value = try t.reshaped(p.value.shape).contiguous()
        }
        optimizer.restore(step: c.optimizerStep, m: c.m, v: c.v)
        step = c.state.step
        dataRNG = c.state.dataRNG
        dropoutRNG = c.state.dropoutRNG
        losses = c.state.losses
        lastCheckpoint = name
        progress.step = step
        progress.lastCheckpoint = name
        return name
    }

    public enum StepOutcome: Equatable {
        case updated(loss: Double, lr: Double, gradNorm: Double)
        case skipped(reason: String)
    }

    /// One step: batch → loss → backward → (finite?) clip + AdamW. Throws `diverged` after the
    /// third non-finite step in a row (parameters untouched by any of them).
    public func trainStep() throws -> StepOutcome {
        let t = step + 1
        var clock = Date()
        func lap() -> Double { let now = Date(); defer { clock = now }; return now.timeIntervalSince(clock) }
        let batch = try nextBatch()
        for (_, p) in model.parameters { p.zeroGrad() }
        timings.data += lap()
        let loss = try model.loss(batch, rng: &dropoutRNG)
        let lossValue = Double(loss.value.item)
        timings.forward += lap()
        var reason: String?
        var norm = 0.0
        if !lossValue.isFinite {
            reason = "loss is \(lossValue)"
        } else {
            try loss.backward()
            norm = AdamW.globalNorm(model.parameters)
            if !norm.isFinite { reason = "gradient norm is \(norm)" }
            timings.backward += lap()
        }
        step = t
        let lr = schedule.rate(at: t)
        if let reason {
            for (_, p) in model.parameters { p.zeroGrad() }
            nonFiniteStreak += 1
            progress.skippedSteps.append(t)
            progress.message = "step \(t): \(reason); step skipped (no update)"
            if nonFiniteStreak >= 3 { throw TrainingError.diverged(step: t, lastGoodCheckpoint: lastCheckpoint) }
            return .skipped(reason: reason)
        }
        nonFiniteStreak = 0
        optimizer.update(model.parameters, lr: lr, gradNorm: norm)
        for (_, p) in model.parameters { p.zeroGrad() }
        timings.optimizer += lap()
        losses.append(lossValue)
        return .updated(loss: lossValue, lr: Double(lr), gradNorm: norm)
    }

    func nextBatch() throws -> TrainingBatch {
        switch data {
        case let .lm(d): return try d.sample(batch: config.batch, context: config.context, rng: &dataRNG)
        case let .classification(d): return d.sample(batch: config.batch, rng: &dataRNG)
        }
    }

    /// Validation metrics over `evalBatches` fixed batches, plus firing rates on a sample.
    public func evaluate() throws -> (result: EvalResult, firingRates: [String: Double]) {
        var r = EvalResult()
        var sample: [Int] = []
        switch data {
        case let .lm(d):
            for b in d.validationBatches(batch: config.batch, context: config.context, maxBatches: config.evalBatches) {
                r.add(try model.evaluate(b))
            }
            sample = d.validation.prefix(min(config.context, 64)).map(Int.init)
        case let .classification(d):
            for b in d.validationBatches(batch: config.batch, maxBatches: config.evalBatches) { r.add(try model.evaluate(b)) }
            sample = d.validation.first?.ids ?? []
        }
        return (r, try model.firingRates(sample: sample))
    }

    /// Writes a checkpoint of the current state (no-op without a store).
    @discardableResult
    public func saveCheckpoint() throws -> String? {
        guard let store = checkpoints else { return nil }
        let state = TrainerState(step: step, optimizerStep: optimizer.step, dataRNG: dataRNG, dropoutRNG: dropoutRNG,
                                 schedule: schedule, config: config, losses: losses)
        let name = try store.write(weights: model.exportWeights(), metadata: model.metadata, optimizer: optimizer, state: state)
        lastCheckpoint = name
        progress.lastCheckpoint = name
        return name
    }

    /// Runs until `config.steps` (or a stop request), calling `report` after every step and at
    /// phase changes. Evaluates every `evalEvery` steps and at the end; checkpoints every
    /// `checkpointEvery` steps and at the end. Errors (including `diverged`) are thrown after a
    /// final `.failed` report; the newest complete checkpoint is left as it was.
    public func run(control: TrainingControl? = nil, report: (TrainingProgress) -> Void = { _ in }) throws {
        let start = Date()
        var trainSeconds = 0.0, tokens = 0, stepsThisRun = 0
        progress.phase = .running
        report(progress)
        do {
            while step < config.steps {
                if let control {
                    let stop = control.waitWhilePaused {
                        progress.phase = .paused; report(progress)
                    }
                    if stop { progress.phase = .stopped; report(progress); return }
                    progress.phase = .running
                }
                let t0 = Date()
                let batchTokens = config.batch * config.context
                let outcome = try trainStep()
                trainSeconds += Date().timeIntervalSince(t0)
                tokens += batchTokens; stepsThisRun += 1
                progress.step = step
                progress.evaluated = false
                if case let .updated(loss, lr, norm) = outcome {
                    progress.loss = loss; progress.lr = lr; progress.gradNorm = norm; progress.message = nil
                    progress.lossParts = model.lossParts
                }
                progress.tokensPerSecond = Double(tokens) / max(trainSeconds, 1e-9)
                let perStep = Date().timeIntervalSince(start) / Double(stepsThisRun)
                progress.etaSeconds = perStep * Double(config.steps - step)
                if (config.evalEvery > 0 && step % config.evalEvery == 0) || step == config.steps {
                    try publishEvaluation()
                }
                // No checkpoint while non-finite steps are pending: the last good one stays newest.
                if config.checkpointEvery > 0 && nonFiniteStreak == 0
                    && (step % config.checkpointEvery == 0 || step == config.steps)
                    && lastCheckpoint != CheckpointStore.name(step: step) {
                    try saveCheckpoint()
                }
                report(progress)
            }
            progress.phase = .finished
            report(progress)
        } catch {
            progress.phase = .failed
            progress.message = "\(error)"
            report(progress)
            throw error
        }
    }

    func publishEvaluation() throws {
        let (r, rates) = try evaluate()
        let l = r.meanLoss
        progress.valLoss = l
        progress.perplexity = exp(l)
        if case .lm = data, charLevel { progress.bpc = l / log(2.0) }
        if case .classification = data { progress.accuracy = r.count == 0 ? nil : Double(r.correct) / Double(r.count) }
        progress.firingRates = rates
        progress.evaluated = true
    }
}
