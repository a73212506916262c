// BERTConfig: the hyper-parameters of a (spiking) BERT, read from an HF `config.json`.
//
// What it is: a small struct with example values (all-MiniLM-L6-v2 in the comments), parsed with
// Foundation's JSONSerialization; SpikeLM's extra keys `T` and `input_bits` are read when present.
// What it is not: the weights (SpikeBERT.init checks those against this config) or the tokenizer.

import Foundation
import Formats

/// Hyper-parameters of a BERT encoder. Example values: all-MiniLM-L6-v2.
public struct BERTConfig: Sendable, Equatable {
    /// Activation inside the FFN (`hidden_act`).
    public enum Activation: String, Sendable, Equatable {
        /// 0.5·x·(1 + erf(x/√2)): HF "gelu", and the released SpikeLM `gelu`.
        case gelu
        /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))): HF "gelu_new" / "gelu_pytorch_tanh".
        case geluTanh
        case relu
    }

    public var vocabSize: Int             // 30522
    public var hiddenSize: Int            // 384  (C)
    public var layers: Int                // 6
    public var heads: Int                 // 12
    public var intermediateSize: Int      // 1536
    public var maxPositions: Int          // 512
    public var typeVocabSize: Int         // 2
    public var layerNormEps: Float        // 1e-12
    public var activation: Activation     // .gelu
    /// Classifier classes (`num_labels`, else the size of `id2label`); nil when the config says nothing.
    public var numLabels: Int?
    /// Class names ordered by id (from `id2label`); empty when absent.
    public var labels: [String]
    /// SpikeLM timesteps T (`T`); 4 when absent (SpikeLM reports T = 1 and T = 4).
    public var steps: Int
    /// SpikeLM `input_bits`: 2 ternary (elastic bi-spike), 1 signed, 32 no spiking; nil when absent.
    public var inputBits: Int?

    public var headSize: Int { hiddenSize / heads }

    /// The most timesteps any caller may ask for (config `T`, `--timesteps`, a session file).
    public static let maxTimesteps = 64

    public init(vocabSize: Int, hiddenSize: Int, layers: Int, heads: Int, intermediateSize: Int,
                maxPositions: Int = 512, typeVocabSize: Int = 2, layerNormEps: Float = 1e-12,
                activation: Activation = .gelu, numLabels: Int? = nil, labels: [String] = [],
                steps: Int = 4, inputBits: Int? = nil) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.maxPositions = maxPositions
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.activation = activation
        self.numLabels = numLabels
        self.labels = labels
        self.steps = steps
        self.inputBits = inputBits
    }

    /// Reads `config.json`. Throws `ModelError.invalidConfig` naming the file and key.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try RegularFile.read(url.path, maxBytes: 16 << 20, what: "a config.json") } catch let e as FormatError {
            throw ModelError.invalidConfig(file: url.path, key: "(file)", reason: "cannot be read: \(e.ioReason)",
                                           hint: "a BERT directory holds config.json beside model.safetensors")
        }
        try self.init(json: data, file: url.path)
    }

    /// Parses the JSON text of an HF BERT `config.json`.
    public init(json: Data, file: String = "config.json") throws {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: json) } catch {
            // Foundation's message has no position; our own parser says where it broke.
            var detail = "is not valid JSON"
            do { _ = try json.withUnsafeBytes { try JSONValue.parse($0, path: file) } } catch let e as FormatError {
                if case let .json(_, offset, reason) = e { detail = "is not valid JSON at byte offset \(offset): \(reason)" }
            } catch {}
            throw ModelError.invalidConfig(file: file, key: "(file)", reason: detail,
                                           hint: "check the file is an HF config.json")
        }
        guard let dict = object as? [String: Any] else {
            throw ModelError.invalidConfig(file: file, key: "(top level)", reason: "is not a JSON object",
                                           hint: "an HF config.json is one object of keys")
        }
        try self.init(dictionary: dict, file: file)
    }

    /// Parses an already-decoded config dictionary.
    public init(dictionary d: [String: Any], file: String = "config.json") throws {
        // Upper bounds keep a hostile config from allocating before the weights are checked
        // against it: far above any released BERT (BERT-large: 24 layers, 1024 wide, 16 heads).
        func int(_ key: String, default def: Int? = nil, min lo: Int = 1, max hi: Int = 1 << 20) throws -> Int {
            guard let v = d[key] else {
                if let def { return def }
                throw ModelError.invalidConfig(file: file, key: key, reason: "is missing",
                                               hint: "every BERT config.json has it; is this a BERT model?")
            }
            if let s = v as? String {
                throw ModelError.invalidConfig(file: file, key: key, reason: "is the string \"\(s)\", expected an integer",
                                               hint: "write the number without quotes")
            }
            guard let num = v as? NSNumber, !JSONDescribe.isBool(v), let n = Int(exactly: num.doubleValue) else {
                throw ModelError.invalidConfig(file: file, key: key, reason: "is \(JSONDescribe.value(v)), expected an integer",
                                               hint: "fix the value in the file")
            }
            guard n >= lo, n <= hi else {
                throw ModelError.invalidConfig(file: file, key: key, reason: "is \(n), expected \(lo)…\(hi)",
                                               hint: "fix the value in the file")
            }
            return n
        }
        let hidden = try int("hidden_size", max: 1 << 16)
        let heads = try int("num_attention_heads", max: 1024)
        guard hidden % heads == 0 else {
            throw ModelError.invalidConfig(file: file, key: "num_attention_heads",
                                           reason: "is \(heads), which does not divide hidden_size \(hidden)",
                                           hint: "hidden_size must be heads × head size")
        }
        var eps: Float = 1e-12
        if let v = d["layer_norm_eps"] {
            guard let e = v as? Double, e >= 0 else {
                throw ModelError.invalidConfig(file: file, key: "layer_norm_eps", reason: "is \(v), expected a number ≥ 0",
                                               hint: "HF BERT uses 1e-12")
            }
            eps = Float(e)
        }
        var act = Activation.gelu
        if let v = d["hidden_act"] {
            switch v as? String {
            case "gelu"?: act = .gelu
            case "gelu_new"?, "gelu_pytorch_tanh"?, "gelu_fast"?: act = .geluTanh
            case "relu"?: act = .relu
            default:
                throw ModelError.invalidConfig(file: file, key: "hidden_act", reason: "is \(v), which spikescope does not implement",
                                               hint: "supported: gelu, gelu_new, gelu_pytorch_tanh, relu")
            }
        }
        var labels: [String] = []
        if let map = d["id2label"] as? [String: Any] {
            let pairs = map.compactMap { k, v in Int(k).map { ($0, "\(v)") } }.sorted { $0.0 < $1.0 }
            labels = pairs.map { $0.1 }
        }
        var numLabels: Int? = labels.isEmpty ? nil : labels.count
        if d["num_labels"] != nil { numLabels = try int("num_labels") }
        var bits: Int? = nil
        if d["input_bits"] != nil {
            let b = try int("input_bits")
            guard [1, 2, 32].contains(b) else {
                throw ModelError.invalidConfig(file: file, key: "input_bits", reason: "is \(b), expected 1, 2 or 32",
                                               hint: "SpikeLM uses 2 (ternary spikes); 1 is sign spikes, 32 no spikes")
            }
            bits = b
        }
        self.init(vocabSize: try int("vocab_size", max: 1 << 22), hiddenSize: hidden, layers: try int("num_hidden_layers", max: 1024),
                  heads: heads, intermediateSize: try int("intermediate_size", max: 1 << 18),
                  maxPositions: try int("max_position_embeddings", default: 512, max: 1 << 20),
                  typeVocabSize: try int("type_vocab_size", default: 2, max: 1 << 16),
                  layerNormEps: eps, activation: act, numLabels: numLabels, labels: labels,
                  steps: try int("T", default: 4, max: BERTConfig.maxTimesteps), inputBits: bits)
    }
}
