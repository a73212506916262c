// The training loop on a tiny SpikeGPT: the loss falls, non-finite steps are skipped and
// stop the run after three, a resumed run repeats an uninterrupted one exactly.
import Foundation
import Testing
import Engine
import Models
import Formats
@testable import Training

enum Fixture {
    static let packageRoot: URL = {
        var u = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { u.deleteLastPathComponent() }
        return u
    }()
    static let corpusURL = packageRoot.appendingPathComponent("Examples/corpus/tiny-english.txt")

    /// The first 60 000 characters of the generated corpus.
    static func lmData() throws -> (LMData, CharVocab) {
        let text = String(try String(contentsOf: corpusURL, encoding: .utf8).prefix(60_000))
        let vocab = CharVocab(building: text)
        return (LMData(tokens: try vocab.ids(text), vocabSize: vocab.count), vocab)
    }

    static func config(steps: Int, vocab: Int) -> TrainerConfig {
        var c = TrainerConfig()
        c.layers = 2; c.width = 64; c.vocab = vocab; c.steps = steps
        c.batch = 4; c.context = 24; c.lr = 3e-3; c.evalEvery = 0; c.evalBatches = 2; c.seed = 7
        return c
    }

    static func tempDir(_ tag: String) -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("spikescope-\(tag)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    static func model(_ c: TrainerConfig) throws -> SpikeGPTTrainable {
        try SpikeGPTTrainable(config: SpikeGPTConfig(layers: c.layers, width: c.width, vocab: c.vocab), variant: SpikeGPTVariant(rawValue: c.variant) ?? .spikegpt, seed: c.seed)
    }
}

/// Delegates to a real model but returns a NaN loss on chosen calls (1-based).
final class FaultyModel: TrainableModel {
    let inner: SpikeGPTTrainable
    let nanCalls: Set<Int>
    var calls = 0
    init(_ inner: SpikeGPTTrainable, nanCalls: Set<Int>) { self.inner = inner; self.nanCalls = nanCalls }
    var arch: String { inner.arch }
    var parameters: [String: Variable] { inner.parameters }
    var metadata: [String: String] { inner.metadata }
    func loss(_ batch: TrainingBatch, rng: inout SeededRNG) throws -> Variable {
        calls += 1
        let l = try inner.loss(batch, rng: &rng)
        return nanCalls.contains(calls) ? l * Float.nan : l
    }
    func evaluate(_ batch: TrainingBatch) throws -> EvalResult { try inner.evaluate(batch) }
    func exportWeights() throws -> [String: Tensor] { try inner.exportWeights() }
}

@Suite(.serialized) struct TrainerTests {
    /// Issue 8: a 2-layer, 64-wide SpikeGPT's loss falls by ≥ 20% in 120 steps.
    @Test func lossFallsTwentyPercentIn120Steps() throws {
        let (data, vocab) = try Fixture.lmData()
        let cfg = Fixture.config(steps: 120, vocab: vocab.count)
        let trainer = try Trainer(model: try Fixture.model(cfg), data: .lm(data), config: cfg)
        try trainer.run()
        let first = trainer.losses.prefix(5).reduce(0, +) / 5
        let last = trainer.losses.suffix(10).reduce(0, +) / 10
        print("loss: first 5 mean \(first), last 10 mean \(last), drop \(100 * (1 - last / first))%")
        #expect(trainer.losses.count == 120)
        #expect(last <= 0.8 * first, "loss fell only from \(first) to \(last)")
        let (r, _) = try trainer.evaluate()
        #expect(r.meanLoss < first, "validation loss \(r.meanLoss) did not fall below the initial training loss \(first)")
    }

    @Test func nonFiniteLossIsSkippedAndReported() throws {
        let (data, vocab) = try Fixture.lmData()
        var cfg = Fixture.config(steps: 5, vocab: vocab.count); cfg.layers = 1; cfg.width = 16
        let model = FaultyModel(try Fixture.model(cfg), nanCalls: [3])
        let trainer = try Trainer(model: model, data: .lm(data), config: cfg)
        _ = try trainer.trainStep(); _ = try trainer.trainStep()
        let before = try model.exportWeights()
        let outcome = try trainer.trainStep()
        guard case .skipped(let reason) = outcome else { Issue.record("step 3 was not skipped: \(outcome)"); return }
        #expect(reason.contains("nan"))
        let after = try model.exportWeights()
        for (k, t) in before { #expect(try t.maxAbsDifference(after[k]!) == 0, "\(k) changed on a skipped step") }
        #expect(trainer.progress.skippedSteps == [3])
        #expect(trainer.progress.message?.contains("step 3") == true)
        guard case .updated = try trainer.trainStep() else { Issue.record("step 4 should update"); return }
        #expect(trainer.losses.count == 3)
    }

    @Test func threeNonFiniteStepsStopWithLastGoodCheckpoint() throws {
        let (data, vocab) = try Fixture.lmData()
        var cfg = Fixture.config(steps: 20, vocab: vocab.count); cfg.layers = 1; cfg.width = 16; cfg.checkpointEvery = 2
        let dir = Fixture.tempDir("nan")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try CheckpointStore.forSession(dir)
        let model = FaultyModel(try Fixture.model(cfg), nanCalls: [5, 6, 7])
        let trainer = try Trainer(model: model, data: .lm(data), config: cfg, checkpoints: store)
        var error: TrainingError?
        do { try trainer.run() } catch let e as TrainingError { error = e }
        #expect(error == .diverged(step: 7, lastGoodCheckpoint: "step-000004"))
        #expect(try store.latest() == "step-000004")
        let loaded = try store.read("step-000004")
        #expect(loaded.state.step == 4)
        let now = try model.exportWeights()
        for (k, t) in loaded.weights { #expect(try t.maxAbsDifference(now[k]!) == 0, "\(k): checkpoint differs from the last good weights") }
        #expect(trainer.progress.phase == .failed)
    }

    /// Train 6 steps uninterrupted; separately train 3, checkpoint, rebuild everything from the
    /// checkpoint and train 3 more: the losses of steps 4–6 must be identical (dropout on, so
    /// the dropout RNG is part of the check).
    @Test func resumeRepeatsUninterruptedRunExactly() throws {
        let (data, vocab) = try Fixture.lmData()
        var cfg = Fixture.config(steps: 6, vocab: vocab.count); cfg.dropout = 0.1; cfg.checkpointEvery = 3
        func makeModel() throws -> SpikeGPTTrainable { let m = try Fixture.model(cfg); m.graph.dropout = 0.1; return m }

        let full = try Trainer(model: try makeModel(), data: .lm(data), config: cfg)
        try full.run()

        let dir = Fixture.tempDir("resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try CheckpointStore.forSession(dir)
        let first = try Trainer(model: try makeModel(), data: .lm(data), config: cfg, checkpoints: store)
        for _ in 0..<3 { _ = try first.trainStep() }
        try first.saveCheckpoint()

        var other = cfg; other.seed = cfg.seed  // same config; the model's own init is overwritten
        let fresh = try SpikeGPTTrainable(config: SpikeGPTConfig(layers: 2, width: 64, vocab: vocab.count), variant: .spikegpt, seed: 999)
        fresh.graph.dropout = 0.1
        let resumed = try Trainer(model: fresh, data: .lm(data), config: other, checkpoints: store)
        #expect(try resumed.resumeFromLatest() == "step-000003")
        try resumed.run()
        print("uninterrupted: \(full.losses)\nresumed:       \(resumed.losses)")
        #expect(resumed.losses.count == 6)
        #expect(Array(resumed.losses[3...]) == Array(full.losses[3...]), "steps 4-6 differ after resume")
        #expect(Array(resumed.losses[..<3]) == Array(full.losses[..<3]))
        let a = try full.model.exportWeights(), b = try resumed.model.exportWeights()
        for (k, t) in a { #expect(try t.maxAbsDifference(b[k]!) == 0, "\(k) differs after 6 steps") }
    }

    @Test func trainingJobRunsOffThreadAndStops() async throws {
        let (data, vocab) = try Fixture.lmData()
        var c = Fixture.config(steps: 10_000, vocab: vocab.count); c.layers = 1; c.width = 16
        let cfg = c
        let job = TrainingJob { try Trainer(model: try Fixture.model(cfg), data: .lm(data), config: cfg) }
        job.start()
        var seen = 0
        for await p in job.updates where p.step >= 3 {
            seen = p.step
            break
        }
        job.pause()
        try await Task.sleep(nanoseconds: 200_000_000)
        let pausedAt = job.latest.step
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(job.latest.step == pausedAt, "steps advanced while paused")
        #expect(job.latest.phase == .paused)
        job.resume()
        job.stop()
        #expect(job.wait(timeout: 30) == nil)
        #expect(job.isDone)
        #expect(job.latest.phase == .stopped)
        #expect(seen >= 3 && job.latest.step < 10_000)
    }
}
