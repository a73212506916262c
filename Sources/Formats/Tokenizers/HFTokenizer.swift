// HFTokenizer: a Hugging Face `tokenizer.json` pipeline — added tokens, normalizer,
// pre-tokenizer, model (BPE or WordPiece), post-processor, decoder — run the way HF `tokenizers`
// runs it, so ids, tokens, type ids and offsets match it. Parsing of the JSON is in
// TokenizerJSON.swift; the parts are in Normalizer, PreTokenizer, ByteLevelBPE (the BPE model),
// WordPiece, PostProcessor and Decoder.swift. The two kinds of BPE LLaMA-family models ship both
// work: byte-level (GPT-2, Llama-3, Qwen2: ByteLevel, regex Split) and SentencePiece-style with
// byte fallback (Llama-2, TinyLlama, Mistral: Prepend/Replace or Metaspace, "<0xNN>" tokens).
// Not supported (refused at load with the type and JSON path named): Unigram and WordLevel
// models, BPE dropout and subword prefixes/suffixes, and normalizers, pre-tokenizers and
// post-processors other than those their files list; truncation and padding are ignored.
//
// Pipeline for one text (HF tokenizer/mod.rs, encode_single_sequence):
//   1. split out added tokens that match the raw text (normalized: false), e.g. <|endoftext|>, <s>;
//   2. normalize each remaining piece; split out added tokens with normalized: true;
//   3. pre-tokenize each piece into words; 4. the model turns each word into tokens;
//   5. post-process (templates, offset trimming), merging A and B.
//
// Known limit: Foundation's JSONSerialization and Swift's [String: Int] compare strings by
// canonical equivalence, so "é" and "e\u{301}" (or "Å" U+212B and U+00C5) are one key: a
// vocabulary holding both keeps only one. The BPE model looks symbols up by exact scalars
// (VocabKey), so input is never mapped to an equivalent but different piece; byte-level
// vocabularies cannot contain such pairs, and all-MiniLM-L6-v2's has none, but a SentencePiece
// vocabulary with such a pair would lose one of its ids, and a cased WordPiece model fed NFD text
// could find a piece HF would miss.

import Foundation

/// A token the file lists in `added_tokens`: matched in the input before the model runs.
struct AddedToken: Sendable {
    var content: String
    var id: Int
    var special: Bool
    var normalized = false
    var lstrip = false
    var rstrip = false
    var singleWord = false
}

enum TokenModel: Sendable {
    case bpe(BPEModel)
    case wordPiece(WordPieceModel)
}

/// A tokenizer loaded from a Hugging Face tokenizer.json (or built from a BERT vocab.txt).
public struct HFTokenizer: Tokenizer {
    /// The file it was loaded from (for messages).
    public let file: String
    let model: TokenModel
    let vocab: [String: Int]
    let idToToken: [Int: String]
    public let vocabSize: Int
    let addedTokens: [AddedToken]
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer
    let postProcessor: PostProcessor
    let decoder: TokenDecoder
    let specialIds: Set<Int>
    /// Added tokens by first scalar, longest first: raw-text ones and normalized-text ones.
    let rawMatch: [Unicode.Scalar: [(scalars: [Unicode.Scalar], token: AddedToken)]]
    let normalizedMatch: [Unicode.Scalar: [(scalars: [Unicode.Scalar], token: AddedToken)]]

    init(file: String, model: TokenModel, vocab: [String: Int], addedTokens: [AddedToken],
         normalizer: Normalizer?, preTokenizer: PreTokenizer, postProcessor: PostProcessor, decoder: TokenDecoder) {
        self.file = file
        self.model = model
        var vocab = vocab
        for a in addedTokens where vocab[a.content] == nil { vocab[a.content] = a.id }
        self.vocab = vocab
        // A dictionary, not an array: a hostile file with one id of 2^30 must not allocate gigabytes.
        var table: [Int: String] = [:]
        for (token, id) in vocab { table[id] = token }
        if case .bpe(let m) = model { for (key, id) in m.vocab { table[id] = key.string } }
        for a in addedTokens { table[a.id] = a.content }
        self.idToToken = table
        self.vocabSize = (table.keys.max() ?? -1) + 1
        self.addedTokens = addedTokens
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.postProcessor = postProcessor
        self.decoder = decoder
        self.specialIds = Set(addedTokens.filter(\.special).map(\.id))
        func index(_ list: [AddedToken]) -> [Unicode.Scalar: [(scalars: [Unicode.Scalar], token: AddedToken)]] {
            var d: [Unicode.Scalar: [(scalars: [Unicode.Scalar], token: AddedToken)]] = [:]
            for a in list {
                let s = Array(a.content.unicodeScalars)
                guard let f = s.first else { continue }
                d[f, default: []].append((s, a))
            }
            for k in d.keys { d[k]!.sort { $0.scalars.count > $1.scalars.count } }
            return d
        }
        // Without a normalizer every added token is matched on the raw text.
        rawMatch = index(addedTokens.filter { !$0.normalized || normalizer == nil })
        normalizedMatch = index(normalizer == nil ? [] : addedTokens.filter { $0.normalized })
    }

    public func id(of token: String) -> Int? { vocab[token] }
    public func token(of id: Int) -> String? { idToToken[id] }

    public var unkId: Int? {
        switch model {
        case .bpe(let m): return m.unkId
        case .wordPiece(let m): return m.unkId
        }
    }
    public var clsId: Int? { vocab["[CLS]"] ?? vocab["<s>"] }
    public var sepId: Int? { vocab["[SEP]"] ?? vocab["</s>"] }
    public var padId: Int? { vocab["[PAD]"] ?? vocab["<|padding|>"] ?? vocab["<pad>"] }
    public var eosId: Int? { vocab["<|endoftext|>"] ?? vocab["</s>"] ?? vocab["<|end_of_text|>"] }

    public func encode(_ text: String, pair: String?, addSpecialTokens: Bool) throws -> Encoding {
        var parts = [encodeOne(text, typeId: 0)]
        if let pair { parts.append(encodeOne(pair, typeId: 1)) }
        var out = Encoding()
        for e in postProcessor.process(parts, addSpecialTokens: addSpecialTokens) { out.append(contentsOf: e) }
        return out
    }

    /// Steps 1-4 of the pipeline for one text.
    func encodeOne(_ text: String, typeId: Int) -> Encoding {
        var out = Encoding()
        let raw = AlignedText(Substring(text).unicodeScalars, base: 0)
        for segment in splitAdded(raw, rawMatch) {
            switch segment {
            case let .added(token, range):
                out.append(id: token.id, token: token.content, typeId: typeId, offset: raw.span(range))
            case let .text(range):
                var piece = raw.slice(range)
                if let normalizer { piece = normalizer.apply(piece) }
                for inner in splitAdded(piece, normalizedMatch) {
                    switch inner {
                    case let .added(token, r):
                        out.append(id: token.id, token: token.content, typeId: typeId, offset: piece.span(r))
                    case let .text(r):
                        for word in preTokenizer.split(piece.slice(r)) where word.count > 0 {
                            encodeWord(word, typeId: typeId, into: &out)
                        }
                    }
                }
            }
        }
        return out
    }

    private func encodeWord(_ word: AlignedText, typeId: Int, into out: inout Encoding) {
        switch model {
        case .wordPiece(let m):
            for (id, r) in m.encode(word: word.scalars[...]) {
                out.append(id: id, token: idToToken[id] ?? "", typeId: typeId, offset: word.span(r))
            }
        case .bpe(let m):
            var symbols: [String] = []
            var origin: [Range<Int>] = []
            if preTokenizer.isByteLevel {
                for (i, c) in word.scalars.enumerated() {
                    for b in String(c).utf8 {
                        symbols.append(String(ByteAlphabet.byteToChar[Int(b)]))
                        origin.append(word.origin[i])
                    }
                }
            } else {
                symbols = word.scalars.map { String($0) }
                origin = word.origin
            }
            let symbolText = AlignedText(scalars: [], origin: origin)
            for (id, r) in m.encode(symbols: symbols) {
                out.append(id: id, token: idToToken[id] ?? "", typeId: typeId, offset: symbolText.span(r))
            }
        }
    }

    enum Segment {
        case added(AddedToken, Range<Int>)
        case text(Range<Int>)
    }

    /// Leftmost-longest matching of added tokens (HF uses an Aho-Corasick automaton with the same
    /// semantics). lstrip/rstrip widen a match over neighbouring whitespace; single_word requires
    /// that no word character touches the match.
    func splitAdded(_ t: AlignedText, _ table: [Unicode.Scalar: [(scalars: [Unicode.Scalar], token: AddedToken)]]) -> [Segment] {
        if table.isEmpty || t.count == 0 { return t.count == 0 ? [] : [.text(0..<t.count)] }
        var segments: [Segment] = []
        var textStart = 0
        var i = 0
        let s = t.scalars
        func isWordChar(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic || c.properties.numericType != nil }
        while i < s.count {
            var matched: (AddedToken, Range<Int>)? = nil
            if let candidates = table[s[i]] {
                for (pattern, token) in candidates where i + pattern.count <= s.count {
                    if !s[i..<i + pattern.count].elementsEqual(pattern) { continue }
                    var lo = i, hi = i + pattern.count
                    if token.singleWord {
                        if lo > 0 && isWordChar(s[lo - 1]) { continue }
                        if hi < s.count && isWordChar(s[hi]) { continue }
                    }
                    if token.lstrip { while lo > textStart && s[lo - 1].properties.isWhitespace { lo -= 1 } }
                    if token.rstrip { while hi < s.count && s[hi].properties.isWhitespace { hi += 1 } }
                    matched = (token, lo..<hi)
                    break
                }
            }
            if let (token, r) = matched {
                if r.lowerBound > textStart { segments.append(.text(textStart..<r.lowerBound)) }
                segments.append(.added(token, r))
                textStart = r.upperBound
                i = r.upperBound
            } else {
                i += 1
            }
        }
        if textStart < s.count { segments.append(.text(textStart..<s.count)) }
        return segments
    }

    /// Ids back to text, skipping special tokens (HF's default skip_special_tokens=True) and ids
    /// outside the vocabulary.
    public func decode(_ ids: [Int]) -> String {
        decode(ids, skipSpecialTokens: true)
    }

    /// Ids back to text; with `skipSpecialTokens` false, special tokens such as <s> are kept.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        decoder.decode(ids.compactMap { id -> String? in
            skipSpecialTokens && specialIds.contains(id) ? nil : token(of: id)
        })
    }
}
