// WordPiece: BERT's subword model (greedy longest match from the left, continuation pieces
// prefixed with "##"), loaded from a tokenizer.json (model.type "WordPiece") or from a bare
// vocab.txt (one token per line, id = line number). Normalization and word splitting are in
// BertNormalizer.swift; the pipeline in HFTokenizer.swift. Not a trainer.

import Foundation

struct WordPieceModel: Sendable {
    var vocab: [String: Int]
    var unkId: Int
    var prefix: String = "##"
    /// Words longer than this (in Unicode scalars) become a single unknown token.
    /// 100 is the default of Google BERT and HF tokenizers.
    var maxInputCharsPerWord: Int = 100

    /// Encodes one word (normalized scalars). Returns (id, range of scalars in the word) per piece.
    ///   start = 0; while start < n: the longest [start, end) with (start > 0 ? "##" : "") + piece
    ///   in the vocabulary; none → the whole word is [UNK].
    func encode(word: ArraySlice<Unicode.Scalar>) -> [(id: Int, range: Range<Int>)] {
        let chars = Array(word)
        let n = chars.count
        if n > maxInputCharsPerWord { return [(unkId, 0..<n)] }
        var out: [(id: Int, range: Range<Int>)] = []
        var start = 0
        while start < n {
            var end = n
            var found: Int? = nil
            while start < end {
                var view = String.UnicodeScalarView()
                view.append(contentsOf: chars[start..<end])
                let piece = start > 0 ? prefix + String(view) : String(view)
                if let id = vocab[piece] { found = id; break }
                end -= 1
            }
            guard let id = found else { return [(unkId, 0..<n)] }
            out.append((id, start..<end))
            start = end
        }
        return out
    }
}

extension HFTokenizer {
    /// A BERT WordPiece tokenizer from a bare vocab.txt, with the pipeline BERT used:
    /// BertNormalizer (lowercase and accent stripping when `lowercase`), BertPreTokenizer,
    /// and `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]` when those tokens are in the vocabulary.
    /// - Parameter lowercase: true for "uncased" models (the usual case); a vocab.txt alone
    ///   cannot say which.
    /// - Throws: `TokenizerError` if the file cannot be read, is not UTF-8 or has no `[UNK]`.
    public static func wordPiece(vocabFile path: String, lowercase: Bool = true) throws -> HFTokenizer {
        let data: Data
        do { data = try RegularFile.read(path, maxBytes: 256 << 20, what: "a vocab.txt") } catch let e as FormatError {
            throw TokenizerError.unreadable(file: path, reason: e.ioReason)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.unknownFormat(file: path, reason: "vocab.txt is not valid UTF-8")
        }
        var vocab: [String: Int] = [:]
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        // As HF and Google BERT read it: id = line number, trailing whitespace trimmed, a
        // repeated token keeps its last line.
        for (i, raw) in lines.enumerated() {
            var token = Substring(raw)
            while let last = token.unicodeScalars.last, last.properties.isWhitespace {
                token = Substring(token.unicodeScalars.dropLast())
            }
            vocab[String(token)] = i
        }
        guard let unk = vocab["[UNK]"] else {
            throw TokenizerError.missingToken(file: path, token: "[UNK]", where: "the unknown token of a BERT vocab.txt")
        }
        var added: [AddedToken] = []
        for special in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] {
            if let id = vocab[special] { added.append(AddedToken(content: special, id: id, special: true)) }
        }
        var post: PostProcessor = .none
        if let cls = vocab["[CLS]"], let sep = vocab["[SEP]"] {
            post = .bert(cls: ("[CLS]", cls), sep: ("[SEP]", sep))
        }
        return HFTokenizer(
            file: path,
            model: .wordPiece(WordPieceModel(vocab: vocab, unkId: unk)),
            vocab: vocab,
            addedTokens: added,
            normalizer: .bert(BertNormalizer(lowercase: lowercase)),
            preTokenizer: .bert,
            postProcessor: post,
            decoder: .wordPiece(prefix: "##", cleanup: true))
    }
}
