// SpikeBERT / BERTConfig errors: every user-reachable mistake throws a ModelError whose message
// says what, where, the value, and a hint. Messages are pinned here (table tests).

import Foundation
import Testing
@testable import Models
import Neurons
import Engine

@Suite struct SpikeBERTErrorTests {
    func config() throws -> BERTConfig {
        try BERTConfig(contentsOf: TestPaths.fixtures.appendingPathComponent("config.json"))
    }

    func weights() throws -> [String: Tensor] {
        try SpikeBERTReferenceTests.weights.get()
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body() } catch let e as ModelError { return e.description } catch { return "other error: \(error)" }
        return "no error"
    }

    @Test func configParsesSpikeLMKeys() throws {
        let c = try config()
        #expect(c.hiddenSize == 16)
        #expect(c.layers == 2)
        #expect(c.heads == 2)
        #expect(c.headSize == 8)
        #expect(c.steps == 4)
        #expect(c.inputBits == 2)
        #expect(c.numLabels == 3)
        let hf = try BERTConfig(json: Data(#"{"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "id2label": {"1": "pos", "0": "neg"}, "hidden_act": "gelu_new"}"#.utf8))
        #expect(hf.steps == 4)
        #expect(hf.inputBits == nil)
        #expect(hf.labels == ["neg", "pos"])
        #expect(hf.numLabels == 2)
        #expect(hf.activation == .geluTanh)
        #expect(hf.maxPositions == 512)
        #expect(hf.layerNormEps == 1e-12)
    }

    @Test(arguments: [
        (#"{"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2}"#,
         "config.json: 'intermediate_size' is missing. Hint: every BERT config.json has it; is this a BERT model?"),
        (#"{"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 3, "intermediate_size": 4}"#,
         "config.json: 'num_attention_heads' is 3, which does not divide hidden_size 8. Hint: hidden_size must be heads × head size"),
        (#"{"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 4, "hidden_act": "swish"}"#,
         "config.json: 'hidden_act' is swish, which spikescope does not implement. Hint: supported: gelu, gelu_new, gelu_pytorch_tanh, relu"),
        (#"{"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 4, "input_bits": 4}"#,
         "config.json: 'input_bits' is 4, expected 1, 2 or 32. Hint: SpikeLM uses 2 (ternary spikes); 1 is sign spikes, 32 no spikes"),
        (#"[1, 2]"#, "config.json: '(top level)' is not a JSON object. Hint: an HF config.json is one object of keys"),
    ])
    func configErrors(json: String, expected: String) {
        let msg = message { _ = try BERTConfig(json: Data(json.utf8)) }
        #expect(msg == expected)
    }

    @Test func weightErrors() throws {
        let c = try config()
        var w = try weights()
        var msg = ""
        w["bert.encoder.layer.1.attention.self.key.weight"] = Tensor(zeros: [16, 12])
        msg = message { _ = try SpikeBERT(config: c, weights: w) }
        #expect(msg == "tensor 'encoder.layer.1.attention.self.key.weight' is [16, 12], expected [16, 16] (hidden_size × hidden_size). Hint: a checkpoint of another size, or config.json from another model?")

        w = try weights()
        w["bert.encoder.layer.0.output.LayerNorm.bias"] = nil
        w["bert.encoder.layer.1.intermediate.dense.weight"] = nil
        msg = message { _ = try SpikeBERT(config: c, weights: w) }
        #expect(msg == "the checkpoint lacks 2 tensors the config needs: 'encoder.layer.0.output.LayerNorm.bias', 'encoder.layer.1.intermediate.dense.weight'. Hint: is this a BERT checkpoint of the same size as config.json?")

        w = try weights()
        w["bert.encoder.layer.2.attention.self.query.weight"] = Tensor(zeros: [16, 16])
        msg = message { _ = try SpikeBERT(config: c, weights: w) }
        #expect(msg == "the checkpoint has 1 tensor this model does not use: 'encoder.layer.2.attention.self.query.weight'. Hint: a different architecture, or more layers than num_hidden_layers = 2?")

        w = try weights()
        w["bert.encoder.layer.0.attention.self.clip_key.3"] = nil
        msg = message { _ = try SpikeBERT(config: c, weights: w) }
        #expect(msg == "the checkpoint lacks 1 tensor the config needs: 'encoder.layer.0.attention.self.clip_key.3'. Hint: a SpikeLM checkpoint has one α per timestep T; is T in config.json right?")

        w = try weights()
        w["classifier.weight"] = Tensor(zeros: [2, 16])
        msg = message { _ = try SpikeBERT(config: c, weights: w) }
        #expect(msg == "tensor 'classifier.weight' is [2, 16], expected [3, 16] (num_labels × hidden_size). Hint: a checkpoint of another size, or config.json from another model?")

        // Buffers and the MLM head are recognised and listed, not rejected.
        w = try weights()
        w["bert.embeddings.position_ids"] = Tensor(zeros: [1, 16])
        w["cls.predictions.bias"] = Tensor(zeros: [50])
        let m = try SpikeBERT(config: c, weights: w)
        #expect(m.ignoredTensors == ["cls.predictions.bias", "embeddings.position_ids"])
    }

    @Test func inputAndControlErrors() throws {
        let m = try SpikeBERT(config: try config(), weights: try weights())
        let m0: String = message { _ = try m.forward(ids: []) }
        #expect(m0 == "ids: has 0 tokens, expected 1…16. Hint: truncate to max_position_embeddings = 16")
        let m1: String = message { _ = try m.forward(ids: [2, 50]) }
        #expect(m1 == "ids: token 1 is id 50, outside 0..<50. Hint: was the text tokenized with this model's vocab.txt?")
        let m2: String = message { _ = try m.forward(ids: [2, 3], typeIds: [0, 2]) }
        #expect(m2 == "typeIds: token 1 has type 2, outside 0..<2. Hint: 0 for the first sentence, 1 for the second")
        let m3: String = message { _ = try m.forward(ids: [2, 3], mask: [1]) }
        #expect(m3 == "mask: has 1 entries for 2 tokens. Hint: one 0/1 per token")
        let m4: String = message { _ = try m.forward(ids: [2, 3], mask: [0, 0]) }
        #expect(m4 == "mask: must hold 0/1 values with at least one 1, got [0, 0]. Hint: 1 marks a real token, 0 padding")
        let m5: String = message { try m.setControl(FrequencyControl(k: 0)) }
        #expect(m5 == "k: is 0.0, expected a positive number. Hint: k = 2 is the released behaviour; larger k → fewer spikes")
        let m6: String = message { try m.setControl(.released, site: "layer.0.query") }
        #expect(m6 == "site: 'layer.0.query' is not a spiking site of this model. Hint: sites look like 'encoder.layer.0.attention.self.query'")
        m.neuron = .lif
        let m8: String = message { _ = try m.forward(ids: [2, 3]) }
        #expect(m8 == "a lif neuron in SpikeBERT is not supported. Hint: SpikeBERT runs elastic, binary, signed or none")
        m.neuron = .elastic
        let m7: String = message { try m.setAlpha([1, 2], site: "encoder.layer.0.output.dense") }
        #expect(m7 == "alpha at encoder.layer.0.output.dense: has 2 values [1.0, 2.0], expected 4 positive numbers. Hint: one α per timestep T")
    }

    @Test func perSiteControlOnlyChangesThatSite() throws {
        let m = try SpikeBERT(config: try config(), weights: try weights())
        let site = "encoder.layer.1.intermediate.dense"
        try m.setControl(FrequencyControl(k: 4, mode: .dynamic), site: site)
        #expect(try m.control(site: site).k == 4)
        #expect(try m.control(site: "encoder.layer.1.output.dense") == .released)
        let e = try SpikeBERTReferenceTests.expected.get()
        let p = Probe()
        _ = try m.forward(ids: e["a.ids"]!.ints, typeIds: e["a.types"]!.ints, probe: p)
        #expect(p.trace[site]!.k == 4)
        #expect(p.trace["encoder.layer.1.output.dense"]!.k == 2)
    }
}
