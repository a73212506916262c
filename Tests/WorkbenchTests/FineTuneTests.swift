// Issue 19: fine-tuning a checkpoint into its spiking form (`FineTuneSetup`, the code behind
// `train --init` and the workbench's b): new heads, the session opening like the checkpoint,
// distillation from the float twin (zero against itself; the teacher never moves), the
// firing-rate regulariser lowering the rate, exact resume, SpikeGPT on a 20B-layout BPE corpus,
// and clear errors.

import Foundation
import Testing
@testable import Workbench
import Engine
import Formats
import Models
import Training

enum FineTuneFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
    static let bert = root.appendingPathComponent("Sources/spikescope/Resources/default/spikebert-sst2")
    static let glueTrain = bert.appendingPathComponent("train.tsv").path
    static let corpus = root.appendingPathComponent("Examples/corpus/tiny-english.txt").path
    /// A byte-level BPE in GPT-NeoX 20B's layout (ByteLevel pre-tokenizer, NFC), 709 ids.
    static let bpe = root.appendingPathComponent("Tests/FormatsTests/Fixtures/tokenizers/bpe_small.json")

    static func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("ss-ft-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// The embedded BERT as a pretrained encoder: its config and vocab.txt, its weights without α,
    /// pooler and head (`drop` more names to remove).
    static func encoder(in dir: URL, keepVocab: Bool = true) throws -> URL {
        let out = dir.appendingPathComponent("encoder")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: bert.appendingPathComponent("config.json"), to: out.appendingPathComponent("config.json"))
        if keepVocab { try FileManager.default.copyItem(at: bert.appendingPathComponent("vocab.txt"), to: out.appendingPathComponent("vocab.txt")) }
        var w = try Checkpoint.load(bert.appendingPathComponent("model.safetensors").path).tensors
        for k in w.keys where k.hasPrefix("classifier.") || k.hasPrefix("pooler.") || SpikeBERTGraph.isAlphaName(k) { w[k] = nil }
        try w.writeSafetensors(to: out.appendingPathComponent("model.safetensors"))
        return out
    }

    static func request(_ initPath: URL, session: URL, steps: Int = 4) -> FineTuneRequest {
        var r = FineTuneRequest(initPath: initPath.path, session: session.path)
        r.glue = glueTrain
        r.steps = steps; r.batch = 8; r.context = 16; r.lr = 3e-3; r.evalEvery = 1000; r.evalBatches = 1
        return r
    }

    /// A tiny SpikeGPT whose vocabulary is the BPE's, with the tokenizer beside it under the name
    /// SpikeGPT releases use.
    static func spikeGPTWithBPE(in dir: URL) throws -> URL {
        let out = dir.appendingPathComponent("spikegpt")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let w = SpikeGPTGraph.initialWeights(SpikeGPTConfig(layers: 2, width: 32, vocab: 709, classes: 0), seed: 5)
        try w.writeSafetensors(to: out.appendingPathComponent("model.safetensors"))
        try FileManager.default.copyItem(at: bpe, to: out.appendingPathComponent("20B_tokenizer.json"))
        return out.appendingPathComponent("model.safetensors")
    }
}

@Suite struct FineTuneTests {
    @Test("a BERT encoder without a head gets a new one; the session opens like the checkpoint and classifies as trained")
    func newHeadAndLoadableSession() throws {
        let dir = try FineTuneFixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let enc = try FineTuneFixtures.encoder(in: dir)
        let session = dir.appendingPathComponent("s")
        var r = FineTuneFixtures.request(enc, session: session)
        r.timesteps = 2
        let p = try FineTuneSetup.prepare(r)
        #expect(p.trainer.model.parameters["classifier.weight"]?.shape == [2, 64])
        #expect(p.trainer.model.parameters["pooler.dense.weight"]?.shape == [64, 64])
        try p.trainer.run()
        let weights = try p.trainer.model.exportWeights()
        try weights.writeSafetensors(to: session.appendingPathComponent("model.safetensors"), metadata: p.trainer.model.metadata)
        for f in ["config.json", "vocab.txt", "checkpoints/config.json", "checkpoints/vocab.txt"] {
            #expect(FileManager.default.fileExists(atPath: session.appendingPathComponent(f).path), "\(f) missing")
        }
        let opened = try Opener.open(model: session.path)
        #expect(opened.loaded.model.summary.classes == 2)
        #expect(opened.loaded.model.summary.timesteps == 2)
        #expect(opened.tokenizer != nil)
        // The loaded model predicts what the training form predicts on every dev row.
        guard case let .classification(d) = p.data else { Issue.record("not classification"); return }
        let trained = try p.trainer.model.evaluate(.classification(inputs: d.validation.map(\.ids), labels: d.validation.map(\.label)))
        var correct = 0
        for row in d.validation {
            let ids = row.ids.enumerated().filter { $0.offset == 0 || $0.element != 0 }.map(\.element)
            let run = try opened.loaded.model.run(ModelInput(ids: ids), probe: nil)
            let z = try #require(run.classLogits)
            if z.indices.max(by: { z[$0] < z[$1] }) == row.label { correct += 1 }
        }
        #expect(correct == trained.correct)
    }

    @Test("distilling a float student from its float twin costs 0; a spiking student's teacher never moves")
    func distillationAgainstTheTwin() throws {
        let dir = try FineTuneFixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let enc = try FineTuneFixtures.encoder(in: dir)
        var r = FineTuneFixtures.request(enc, session: dir.appendingPathComponent("float"))
        r.neuron = "none"; r.distill = DistillationConfig()
        let f = try FineTuneSetup.prepare(r)
        _ = try f.trainer.trainStep()
        let parts = f.trainer.model.lossParts
        #expect(abs(try #require(parts["kd"])) <= 1e-6)
        #expect(abs(try #require(parts["hidden"])) <= 1e-9)

        r.neuron = nil; r.session = dir.appendingPathComponent("spiking").path; r.steps = 3
        let s = try FineTuneSetup.prepare(r)
        let teacher = try #require(s.objective?.teacher)
        let before = try teacher.exportWeights(), studentBefore = try s.trainer.model.exportWeights()
        try s.trainer.run()
        let sp = s.trainer.model.lossParts
        #expect(try #require(sp["kd"]) > 0)
        #expect(try #require(sp["hidden"]) > 0)
        #expect((0.0...1.0).contains(try #require(sp["firing_rate"])))
        let after = try teacher.exportWeights(), studentAfter = try s.trainer.model.exportWeights()
        #expect(before.keys.allSatisfy { before[$0]!.values == after[$0]!.values })
        #expect(studentBefore.keys.contains { studentBefore[$0]!.values != studentAfter[$0]?.values })
    }

    @Test("hidden layers: −1 is the last layer; a layer the model lacks is refused naming the range")
    func hiddenLayerChoice() throws {
        let dir = try FineTuneFixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let enc = try FineTuneFixtures.encoder(in: dir)
        func hidden(_ layers: [Int]) throws -> Double? {
            var r = FineTuneFixtures.request(enc, session: dir.appendingPathComponent("s\(layers)"))
            var d = DistillationConfig()
            d.hiddenLayers = layers
            r.distill = d
            let p = try FineTuneSetup.prepare(r)
            _ = try p.trainer.trainStep()
            return p.trainer.model.lossParts["hidden"]
        }
        let last = try #require(try hidden([-1]))
        #expect(last == (try hidden([1])))
        #expect(last != (try hidden([0])))
        #expect { try hidden([2]) } throws: { "\($0)".contains("name layers 0…1") }
    }

    @Test("--target-rate lowers the firing rate the run ends with (same seed and steps)")
    func targetRateLowersFiring() throws {
        let dir = try FineTuneFixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let enc = try FineTuneFixtures.encoder(in: dir)
        func rate(_ target: Double?) throws -> Double {
            var r = FineTuneFixtures.request(enc, session: dir.appendingPathComponent("s-\(target ?? -1)"), steps: 12)
            r.targetRate = target; r.rateWeight = 5
            let p = try FineTuneSetup.prepare(r)
            try p.trainer.run()
            guard case let .classification(d) = p.data else { return .nan }
            return try #require(try p.objective?.meanFiringRate(rows: d.validation.map(\.ids), batch: 16))
        }
        let free = try rate(nil), held = try rate(0.05)
        #expect(held < free - 0.03, "rate \(held) with the target vs \(free) without")
    }

    @Test("a target the model already fires under changes nothing: the same losses as no target")
    func targetAboveTheRateIsInert() throws {
        let dir = try FineTuneFixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let enc = try FineTuneFixtures.encoder(in: dir)
        func losses(_ target: Double?) throws -> [Double] {
            var r = FineTuneFixtures.request(enc, session: dir.appendingPathComponent("s-\(target ?? -1)"), steps: 5)
            r.targetRate = target; r.rateWeight = 5
            let p = try FineTuneSetup.prepare(r)
            try p.trainer.run()
            if target != nil { #expect(p.trainer.model.lossParts["rate_penalty"] == 0) }
            return p.trainer.losses
        }
        #expect(try losses(0.99) == (try losses(nil)))
    }

    @Test("a run killed after a checkpoint resumes exactly; other fine-tuning flags are refused")
    func exactResume() throws {
        let dir = try FineTuneFixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let enc = try FineTuneFixtures.encoder(in: dir)
        var r = FineTuneFixtures.request(enc, session: dir.appendingPathComponent("a"), steps: 4)
        r.checkpointEvery = 2; r.distill = DistillationConfig(); r.targetRate = 0.2; r.dropout = 0.1
        let a = try FineTuneSetup.prepare(r)
        try a.trainer.run()
        r.session = dir.appendingPathComponent("b").path
        let b = try FineTuneSetup.prepare(r)
        _ = try b.trainer.trainStep(); _ = try b.trainer.trainStep()
        try b.trainer.saveCheckpoint()  // the process dies here
        let c = try FineTuneSetup.prepare(r)
        #expect(try c.trainer.resumeFromLatest() != nil)
        try c.trainer.run()
        #expect(c.trainer.losses == a.trainer.losses)
        let wa = try a.trainer.model.exportWeights(), wc = try c.trainer.model.exportWeights()
        #expect(wa.keys.sorted() == wc.keys.sorted() && wa.keys.allSatisfy { wa[$0]!.values == wc[$0]!.values })

        var other = r
        other.distill = nil
        let d = try FineTuneSetup.prepare(other)
        #expect {
            try d.trainer.resumeFromLatest()
        } throws: { "\($0)".contains("--distill") && "\($0)".contains("resume with the flags of the first run") }
    }

    @Test("SpikeGPT on a corpus in its own 20B-layout BPE: validation loss falls; distillation from RWKV reports its parts")
    func spikeGPTWithBPE() throws {
        let dir = try FineTuneFixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = try FineTuneFixtures.spikeGPTWithBPE(in: dir)
        var r = FineTuneRequest(initPath: ckpt.path, session: dir.appendingPathComponent("s").path)
        r.corpus = FineTuneFixtures.corpus
        r.steps = 30; r.batch = 4; r.context = 32; r.lr = 3e-3; r.evalEvery = 1000; r.evalBatches = 2
        r.distill = DistillationConfig()
        let p = try FineTuneSetup.prepare(r)
        guard case let .lm(data) = p.data else { Issue.record("not LM"); return }
        let tok = try HFTokenizer.load(jsonFile: FineTuneFixtures.bpe.path)
        let text = try String(contentsOfFile: FineTuneFixtures.corpus, encoding: .utf8)
        #expect(data.tokens.map(Int.init) == (try tok.encode(text, pair: nil, addSpecialTokens: false).ids))
        let before = try p.trainer.evaluate().result.meanLoss
        try p.trainer.run()
        let after = try #require(p.trainer.progress.valLoss)
        #expect(after < before - 0.2, "validation loss \(before) → \(after)")
        let parts = p.trainer.model.lossParts
        #expect(parts["kd"] != nil && parts["hidden"] != nil && parts["firing_rate"] != nil)
    }

    @Test("a LLaMA folder fine-tunes as a language model in its own tokenizer; distillation is refused (float training form)")
    func llamaFolder() throws {
        let dir = try FineTuneFixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = FineTuneFixtures.root.appendingPathComponent("Tests/ModelsTests/Fixtures/llama/llama-tiny")
        var r = FineTuneRequest(initPath: folder.path, session: dir.appendingPathComponent("s").path)
        r.corpus = FineTuneFixtures.corpus
        r.steps = 20; r.batch = 4; r.context = 32; r.lr = 3e-3; r.evalEvery = 1000; r.evalBatches = 2
        let p = try FineTuneSetup.prepare(r)
        #expect(p.objective == nil)
        let before = try p.trainer.evaluate().result.meanLoss
        try p.trainer.run()
        let after = try #require(p.trainer.progress.valLoss)
        #expect(after < before - 0.2, "validation loss \(before) → \(after)")
        for f in ["tokenizer.json", "checkpoints/tokenizer.json", "config.json", "checkpoints/config.json"] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("s/" + f).path), "\(f) missing")
        }
        // The session opens as the checkpoint did (its config.json is the original, rope scaling included).
        try p.trainer.model.exportWeights().writeSafetensors(to: dir.appendingPathComponent("s/model.safetensors"))
        let opened = try Opener.open(model: dir.appendingPathComponent("s").path)
        #expect(opened.loaded.model.summary.layers == 2)
        #expect(try Data(contentsOf: dir.appendingPathComponent("s/config.json")) == Data(contentsOf: folder.appendingPathComponent("config.json")))
        r.distill = DistillationConfig()
        #expect { try FineTuneSetup.prepare(r) } throws: { "\($0)".contains("training form here is float") }
    }

    @Test("clear errors: family mismatch, no tokenizer, tokenizer larger than the embedding, T on SpikeGPT, no smooth rate")
    func errors() throws {
        let dir = try FineTuneFixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let enc = try FineTuneFixtures.encoder(in: dir)
        var r = FineTuneFixtures.request(enc, session: dir.appendingPathComponent("s"))
        r.arch = "spikegpt"
        #expect { try FineTuneSetup.prepare(r) } throws: { "\($0)".contains("is a SpikeBERT checkpoint (spikebert)") }

        let bare = try FineTuneFixtures.encoder(in: dir.appendingPathComponent("bare"), keepVocab: false)
        #expect { try FineTuneSetup.prepare(FineTuneFixtures.request(bare, session: dir.appendingPathComponent("s2"))) } throws: {
            "\($0)".contains("has no tokenizer beside it") && "\($0)".contains(bare.path)
        }

        let gpt = try FineTuneFixtures.spikeGPTWithBPE(in: dir)
        var big = FineTuneRequest(initPath: gpt.path, session: dir.appendingPathComponent("s3").path)
        big.corpus = FineTuneFixtures.corpus
        let small = dir.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: small, withIntermediateDirectories: true)
        let w = SpikeGPTGraph.initialWeights(SpikeGPTConfig(layers: 1, width: 16, vocab: 100, classes: 0), seed: 1)
        try w.writeSafetensors(to: small.appendingPathComponent("model.safetensors"))
        try FileManager.default.copyItem(at: FineTuneFixtures.bpe, to: small.appendingPathComponent("20B_tokenizer.json"))
        big.initPath = small.appendingPathComponent("model.safetensors").path
        #expect { try FineTuneSetup.prepare(big) } throws: { "\($0)".contains("709 ids but the model's embedding has 100 rows") }

        var t = FineTuneRequest(initPath: gpt.path, session: dir.appendingPathComponent("s4").path)
        t.corpus = FineTuneFixtures.corpus; t.timesteps = 4
        #expect { try FineTuneSetup.prepare(t) } throws: { "\($0)".contains("runs one step per token") }

        t.timesteps = nil; t.targetRate = 0.1; t.steps = 1; t.batch = 2; t.context = 8
        let p = try FineTuneSetup.prepare(t)
        #expect { try p.trainer.run() } throws: { "\($0)".contains("has no smooth firing rate") }
    }
}
