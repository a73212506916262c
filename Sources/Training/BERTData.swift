// BERT classifier data: the deterministic WordPiece vocabulary of a GLUE file, GLUE data encoded
// with that vocabulary, and the config.json that makes a trained classifier loadable.
//
// What it is: data preparation for BERT-style training forms (the model's own training form is
// in Models/SpikeBERT/SpikeBERT+Trainable.swift). Rows are token ids padded with [PAD] = id 0.
// What it is not: MLM pre-training, or a general WordPiece trainer (the vocabulary is whole
// words: no ## pieces).

import Foundation
import Engine
import Neurons
import Formats
import Models

/// A BERT vocab.txt built from the words of a text: `[PAD] [UNK] [CLS] [SEP] [MASK]` (ids 0…4)
/// then every distinct lowercased word and punctuation mark, sorted by Unicode scalars.
/// Splitting follows BERT's basic tokenizer on ASCII text: whitespace separates words and each
/// punctuation/symbol character is its own token, so `HFTokenizer.wordPiece(vocabFile:)` maps
/// every word of the text to exactly one id.
public enum BERTVocabularyBuilder {
    public static let specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    /// The basic-tokenizer pieces of `text`, lowercased.
    public static func words(_ text: String) -> [String] {
        var out: [String] = []
        var cur = ""
        for ch in text.lowercased() {
            if ch.isWhitespace {
                if !cur.isEmpty { out.append(cur); cur = "" }
            } else if ch.isPunctuation || ch.isSymbol {
                if !cur.isEmpty { out.append(cur); cur = "" }
                out.append(String(ch))
            } else {
                cur.append(ch)
            }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    /// The vocabulary (one token per line, id = line) of `sentences`.
    public static func build(sentences: [String]) -> [String] {
        var seen = Set<String>()
        for s in sentences { for w in words(s) { seen.insert(w) } }
        seen.subtract(specials)
        return specials + seen.sorted { Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) }
    }

    /// The sentences of a GLUE TSV (both sentences of a pair task), read by `Formats.GLUEFile`,
    /// the one GLUE reader: the task from the folder name, else SST-2's layout.
    public static func sentences(glue url: URL) throws -> [String] {
        let file = try GLUEFile.load(path: url.path, task: GLUETask.recognise(path: url.path) ?? .sst2)
        return file.rows.flatMap { [$0.text] + ($0.textPair.map { [$0] } ?? []) }
    }

    /// Writes `vocab` as vocab.txt (atomically).
    public static func write(_ vocab: [String], to url: URL) throws {
        try Data((vocab.joined(separator: "\n") + "\n").utf8).write(to: url, options: .atomic)
    }
}

/// GLUE classification data tokenized with a BERT vocab.txt: `[CLS] words [SEP]`, cropped to
/// `length` (keeping [SEP]) and padded with [PAD] = 0.
extension ClassificationData {
    /// - Parameters:
    ///   - train: rows to train on (all of them when `dev` is given).
    ///   - dev: held-out rows used as the validation set; nil → the last 10% of `train`.
    /// - Throws: `TrainingError.badData` for unreadable files, or labels of `dev` not in `train`.
    public static func glue(train: URL, dev: URL?, tokenizer: any Tokenizer, length: Int) throws -> ClassificationData {
        guard length >= 2 else {
            throw TrainingError.badConfig(field: "context", value: "\(length)", reason: "a BERT row needs [CLS] and [SEP]", hint: "try --context 32")
        }
        let sep = tokenizer.sepId ?? 3
        func encode(_ s: String) throws -> [Int] {
            var ids = try tokenizer.encode(s, addSpecialTokens: true).ids
            if ids.count > length { ids = Array(ids.prefix(length - 1)) + [sep] }
            return ids
        }
        var data = try ClassificationData.glue(train, encode: encode, pad: 0, length: length)
        if let dev {
            let d = try ClassificationData.glue(dev, encode: encode, pad: 0, length: length)
            // Class indices come from each file's sorted labels: they must be the same list.
            guard d.labels == data.labels || Set(d.labels).isSubset(of: data.labels) else {
                throw TrainingError.badData(path: dev.path, reason: "labels \(d.labels) differ from the training file's \(data.labels)",
                                            hint: "dev and train must use the same label column values")
            }
            let remap = d.labels.map { data.labels.firstIndex(of: $0)! }
            data.train += data.validation
            data.validation = (d.train + d.validation).map { (ids: $0.ids, label: remap[$0.label]) }
        }
        return data
    }
}
