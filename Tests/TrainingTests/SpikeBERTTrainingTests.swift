// SpikeBERT through the Trainer: the vocabulary builder, GLUE data, a short run whose checkpoint
// the inference SpikeBERT loads with its α (same predictions), exact resume, and the SpikeLM
// ablation runner at toy size.
import Foundation
import Testing
import Engine
import Neurons
import Formats
import Models
@testable import Training
import Experiments

@Suite(.serialized) struct SpikeBERTTrainerTests {
    /// A toy SST-2-like file: label 1 iff the sentence holds "good" (seeded, 80 rows) + dev rows.
    static func toyGLUE(_ dir: URL) throws -> (train: URL, dev: URL) {
        var rng = SeededRNG(seed: 3)
        let filler = ["the", "film", "was", "a", "plot", "story", "very", "quite", "acting", "music"]
        func rows(_ n: Int) -> String {
            var s = "sentence\tlabel\n"
            for _ in 0..<n {
                var w = (0..<5).map { _ in filler[Int(rng.next() % UInt64(filler.count))] }
                let y = Int(rng.next() % 2)
                w[Int(rng.next() % 5)] = y == 1 ? "good" : "bad"
                s += w.joined(separator: " ") + " .\t\(y)\n"
            }
            return s
        }
        let t = dir.appendingPathComponent("train.tsv"), d = dir.appendingPathComponent("dev.tsv")
        try rows(80).write(to: t, atomically: true, encoding: .utf8)
        try rows(24).write(to: d, atomically: true, encoding: .utf8)
        return (t, d)
    }

    static func setup(_ tag: String, length: Int = 10) throws -> (ClassificationData, Int, URL) {
        let dir = Fixture.tempDir(tag)
        let (t, d) = try toyGLUE(dir)
        let vocab = BERTVocabularyBuilder.build(sentences: try BERTVocabularyBuilder.sentences(glue: t))
        let vurl = dir.appendingPathComponent("vocab.txt")
        try BERTVocabularyBuilder.write(vocab, to: vurl)
        let tok = try HFTokenizer.wordPiece(vocabFile: vurl.path)
        return (try ClassificationData.glue(train: t, dev: d, tokenizer: tok, length: length), vocab.count, dir)
    }

    static func bertConfig(vocab: Int, steps: Int = 4) -> BERTConfig {
        BERTConfig(vocabSize: vocab, hiddenSize: 16, layers: 1, heads: 2, intermediateSize: 32, maxPositions: 16,
                   numLabels: 2, labels: ["0", "1"], steps: steps)
    }

    static func trainerConfig(steps: Int) -> TrainerConfig {
        var c = TrainerConfig()
        c.arch = "spikebert"; c.layers = 1; c.width = 16; c.steps = steps; c.batch = 8; c.context = 10
        c.lr = 1e-2; c.evalEvery = 0; c.evalBatches = 8; c.seed = 5; c.classes = 2
        return c
    }

    @Test("vocabulary: specials first, then sorted lowercased words and punctuation; every word maps to its own id")
    func vocabulary() throws {
        #expect(BERTVocabularyBuilder.words("It's GOOD, really!") == ["it", "'", "s", "good", ",", "really", "!"])
        let v = BERTVocabularyBuilder.build(sentences: ["b a .", "A c!", "[UNK] a"])
        #expect(Array(v.prefix(5)) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
        #expect(Array(v.dropFirst(5)) == ["!", ".", "[", "]", "a", "b", "c", "unk"])
        let dir = Fixture.tempDir("bertvocab")
        let url = dir.appendingPathComponent("vocab.txt")
        try BERTVocabularyBuilder.write(v, to: url)
        let tok = try HFTokenizer.wordPiece(vocabFile: url.path)
        let e = try tok.encode("B a c!", addSpecialTokens: true)
        #expect(e.ids == [2, v.firstIndex(of: "b")!, v.firstIndex(of: "a")!, v.firstIndex(of: "c")!, v.firstIndex(of: "!")!, 3])
        #expect(tok.padId == 0)
    }

    @Test("GLUE data: [CLS] … [SEP] padded with 0, cropped keeping [SEP]; dev rows are the validation set")
    func glueData() throws {
        let (d, _, _) = try Self.setup("bertdata", length: 6)
        #expect(d.train.count == 80 && d.validation.count == 24)
        #expect(d.train.allSatisfy { $0.ids.count == 6 && $0.ids[0] == 2 && $0.ids.contains(3) })
        #expect(d.labels == ["0", "1"])
    }

    @Test("a short run learns the toy task; the checkpoint loads into the inference SpikeBERT with α and predicts alike")
    func trainAndLoad() throws {
        let (data, V, dir) = try Self.setup("berttrain")
        let model = try SpikeBERTTrainable(config: Self.bertConfig(vocab: V), neuron: .elastic, seed: 5)
        let trainer = try Trainer(model: model, data: .classification(data), config: Self.trainerConfig(steps: 150))
        let (before, _) = try trainer.evaluate()
        try trainer.run()
        let (after, rates) = try trainer.evaluate()
        print("SpikeBERT toy run: val loss \(before.meanLoss) → \(after.meanLoss), accuracy \(after.correct)/\(after.count)")
        #expect(after.meanLoss < 0.7 * before.meanLoss)
        #expect(Double(after.correct) / Double(after.count) >= 0.8)
        #expect(rates.count == model.graph.siteNames.count && rates.values.allSatisfy { $0 > 0 && $0 <= 1 })

        // The exported weights + config.json + vocab load as an inference model with every α.
        let weights = try model.exportWeights()
        let url = dir.appendingPathComponent("model.safetensors")
        try weights.writeSafetensors(to: url, metadata: model.metadata)
        let cfgData = try spikeBERTConfigJSON(model.graph.config, neuron: .elastic)
        let cfg = try BERTConfig(json: cfgData)
        var expected = model.graph.config
        expected.inputBits = 2
        #expect(cfg == expected)
        let inference = try SpikeBERT(config: cfg, weights: try [String: Tensor].readSafetensors(url).tensors)
        #expect(inference.hasCheckpointAlpha)
        var agree = 0
        let z = try withNoGrad { try model.graph.logits(ids: data.validation.map(\.ids), masks: model.masks(data.validation.map(\.ids))).value.contiguous().values }
        for (i, row) in data.validation.enumerated() {
            let real = row.ids.enumerated().filter { $0.offset == 0 || $0.element != 0 }.map(\.element)
            let out = try inference.forward(ids: real)
            // Padding is masked, so dropping it must not change the logits (beyond float noise).
            #expect(abs(out.logits![0] - z[2 * i]) <= 1e-3 && abs(out.logits![1] - z[2 * i + 1]) <= 1e-3)
            if (out.logits![1] > out.logits![0] ? 1 : 0) == row.label { agree += 1 }
        }
        #expect(agree == after.correct)
    }

    @Test("resume from a checkpoint (α included) repeats the uninterrupted run's losses")
    func resume() throws {
        let (data, V, dir) = try Self.setup("bertresume")
        let c = Self.trainerConfig(steps: 12)
        let a = try Trainer(model: try SpikeBERTTrainable(config: Self.bertConfig(vocab: V), neuron: .elastic, seed: 5),
                            data: .classification(data), config: c)
        try a.run()
        let store = try CheckpointStore.forSession(dir)
        let first = try Trainer(model: try SpikeBERTTrainable(config: Self.bertConfig(vocab: V), neuron: .elastic, seed: 5),
                                data: .classification(data), config: c, checkpoints: store)
        for _ in 0..<6 { _ = try first.trainStep() }
        try first.saveCheckpoint()
        // A fresh model with another init and uncalibrated α: everything must come from the checkpoint.
        let resumed = try Trainer(model: try SpikeBERTTrainable(config: Self.bertConfig(vocab: V), neuron: .elastic, seed: 999),
                                  data: .classification(data), config: c, checkpoints: store)
        #expect(try resumed.resumeFromLatest() == "step-000006")
        try resumed.run()
        #expect(resumed.losses == a.losses, "losses differ after resume:\n\(a.losses)\n\(resumed.losses)")
        let wa = try a.model.exportWeights(), wb = try resumed.model.exportWeights()
        #expect(Set(wa.keys) == Set(wb.keys))
        for (k, t) in wa { #expect(try t.maxAbsDifference(wb[k]!) == 0, "\(k) differs after 12 steps") }
    }

    @Test("the SpikeLM ablation runner trains every (neuron, T) cell and returns accuracies")
    func ablation() throws {
        let (data, V, _) = try Self.setup("bertablation")
        var c = Self.trainerConfig(steps: 4)
        c.layers = 1; c.width = 16
        let rows = try SpikeBERTAblation.run(data: data, vocabSize: V, config: c)
        #expect(rows.map(\.neuron) == SpikeLMAblation.cells.map(\.neuron))
        #expect(rows.map(\.timesteps) == SpikeLMAblation.cells.map(\.timesteps))
        #expect(rows.allSatisfy { $0.accuracy >= 0 && $0.accuracy <= 1 })
    }
}
