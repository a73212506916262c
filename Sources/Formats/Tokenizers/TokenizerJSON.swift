// TokenizerJSON: reads a Hugging Face tokenizer.json into an HFTokenizer. Only the sections
// spikescope runs are interpreted (see HFTokenizer.swift for what is supported); every missing
// or mistyped field becomes a TokenizerError naming the JSON path, and every unknown component
// type an `unsupported` error naming the path and listing what is supported. Uses Foundation's
// JSONSerialization; it is not a general JSON library.

import Foundation

/// Typed access to JSONSerialization output with errors that name the file and the JSON path.
struct JSONReader {
    let file: String

    func object(_ v: Any?, _ path: String) throws -> [String: Any] {
        guard let d = v as? [String: Any] else { throw TokenizerError.badField(file: file, path: path, expected: "an object") }
        return d
    }
    func array(_ v: Any?, _ path: String) throws -> [Any] {
        guard let a = v as? [Any] else { throw TokenizerError.badField(file: file, path: path, expected: "an array") }
        return a
    }
    func string(_ v: Any?, _ path: String) throws -> String {
        guard let s = v as? String else { throw TokenizerError.badField(file: file, path: path, expected: "a string") }
        return s
    }
    /// nil for absent or JSON null.
    func optionalString(_ v: Any?, _ path: String) throws -> String? {
        if v == nil || v is NSNull { return nil }
        return try string(v, path)
    }
    func int(_ v: Any?, _ path: String) throws -> Int {
        if let n = v as? Int { return n }
        if let d = v as? Double, d.rounded() == d, abs(d) < 1e15 { return Int(d) }
        throw TokenizerError.badField(file: file, path: path, expected: "an integer")
    }
    func bool(_ v: Any?, _ path: String, default value: Bool) throws -> Bool {
        if v == nil || v is NSNull { return value }
        if let b = v as? Bool { return b }
        throw TokenizerError.badField(file: file, path: path, expected: "true or false")
    }
}

extension HFTokenizer {
    /// Loads a Hugging Face tokenizer.json.
    /// - Throws: `TokenizerError` for unreadable files, invalid JSON, missing fields and
    ///   unsupported component types (the message names the type and the JSON path).
    /// - Cost: one pass over the file; the GPT-NeoX 20B file (50k merges) loads in well under a second.
    public static func load(jsonFile path: String) throws -> HFTokenizer {
        let data: Data
        do { data = try RegularFile.read(path, maxBytes: 1 << 30, what: "a tokenizer.json") } catch let e as FormatError {
            throw TokenizerError.unreadable(file: path, reason: e.ioReason)
        }
        return try load(jsonData: data, file: path)
    }

    /// Loads tokenizer.json content; `file` is used in messages.
    public static func load(jsonData data: Data, file: String) throws -> HFTokenizer {
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data, options: []) } catch {
            throw TokenizerError.invalidJSON(file: file, reason: jsonReason(error))
        }
        let r = JSONReader(file: file)
        let top = try r.object(root, "(root)")
        let modelJSON = try r.object(top["model"], "model")

        // added_tokens
        var added: [AddedToken] = []
        if let list = top["added_tokens"], !(list is NSNull) {
            for (i, item) in try r.array(list, "added_tokens").enumerated() {
                let p = "added_tokens[\(i)]"
                let o = try r.object(item, p)
                added.append(AddedToken(
                    content: try r.string(o["content"], p + ".content"),
                    id: try r.int(o["id"], p + ".id"),
                    special: try r.bool(o["special"], p + ".special", default: false),
                    normalized: try r.bool(o["normalized"], p + ".normalized", default: !(try r.bool(o["special"], p + ".special", default: false))),
                    lstrip: try r.bool(o["lstrip"], p + ".lstrip", default: false),
                    rstrip: try r.bool(o["rstrip"], p + ".rstrip", default: false),
                    singleWord: try r.bool(o["single_word"], p + ".single_word", default: false)))
            }
        }

        // model: its type first, so that an unsupported kind (Unigram's vocab is a list of
        // [piece, score]) is named as such rather than as a malformed vocab.
        var modelType = try r.optionalString(modelJSON["type"], "model.type")
        if modelType == nil { modelType = modelJSON["merges"] != nil ? "BPE" : (modelJSON["continuing_subword_prefix"] != nil ? "WordPiece" : nil) }
        guard modelType == "BPE" || modelType == "WordPiece" else {
            throw TokenizerError.unsupported(file: file, component: "model", type: modelType ?? "(missing)",
                                             hint: "spikescope reads BPE and WordPiece models; Unigram and WordLevel tokenizers are not supported.")
        }
        let rawVocab = try r.object(modelJSON["vocab"], "model.vocab")
        var vocab: [String: Int] = [:]
        var exact: [VocabKey: Int] = [:]
        vocab.reserveCapacity(rawVocab.count)
        exact.reserveCapacity(rawVocab.count)
        for (k, v) in rawVocab {
            let id = try r.int(v, "model.vocab[\"\(k)\"]")
            guard id >= 0 && id < Int(Int32.max) else {
                throw TokenizerError.badField(file: file, path: "model.vocab[\"\(k)\"]", expected: "an id between 0 and 2^31-1")
            }
            vocab[k] = id
            exact[VocabKey(k)] = id
        }
        for a in added where a.id < 0 || a.id >= Int(Int32.max) {
            throw TokenizerError.badField(file: file, path: "added_tokens (\(a.content))", expected: "an id between 0 and 2^31-1")
        }
        let model: TokenModel
        switch modelType {
        case "BPE":
            model = .bpe(try parseBPE(modelJSON, vocab: exact, r))
        case "WordPiece":
            let unkName = try r.string(modelJSON["unk_token"], "model.unk_token")
            guard let unk = vocab[unkName] else {
                throw TokenizerError.missingToken(file: file, token: unkName, where: "model.unk_token")
            }
            var m = WordPieceModel(vocab: vocab, unkId: unk)
            m.prefix = try r.optionalString(modelJSON["continuing_subword_prefix"], "model.continuing_subword_prefix") ?? "##"
            if let v = modelJSON["max_input_chars_per_word"], !(v is NSNull) { m.maxInputCharsPerWord = try r.int(v, "model.max_input_chars_per_word") }
            model = .wordPiece(m)
        default:
            throw TokenizerError.unsupported(file: file, component: "model", type: modelType ?? "(missing)",
                                             hint: "spikescope reads BPE and WordPiece models; Unigram and WordLevel tokenizers are not supported.")
        }

        let normalizer = try parseNormalizer(top["normalizer"], "normalizer", r)
        let pre = try parsePreTokenizer(top["pre_tokenizer"], "pre_tokenizer", r)
        let post = try parsePostProcessor(top["post_processor"], "post_processor", vocab: vocab, r)
        let decoder = try parseDecoder(top["decoder"], r)
        return HFTokenizer(file: file, model: model, vocab: vocab, addedTokens: added, normalizer: normalizer,
                           preTokenizer: pre, postProcessor: post, decoder: decoder)
    }

    private static func parseBPE(_ m: [String: Any], vocab: [VocabKey: Int], _ r: JSONReader) throws -> BPEModel {
        if let d = m["dropout"], !(d is NSNull), let x = d as? Double, x > 0 {
            throw TokenizerError.unsupported(file: r.file, component: "model.dropout", type: "\(x)", hint: "BPE dropout is for training; save the tokenizer with dropout null.")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let s = try r.optionalString(m[key], "model." + key), !s.isEmpty {
                throw TokenizerError.unsupported(file: r.file, component: "model." + key, type: s,
                                                 hint: "spikescope reads byte-level and SentencePiece-style BPE, without subword prefixes or end-of-word suffixes.")
            }
        }
        var unkId: Int? = nil
        if let unk = try r.optionalString(m["unk_token"], "model.unk_token") {
            guard let id = vocab[VocabKey(unk)] else { throw TokenizerError.missingToken(file: r.file, token: unk, where: "model.unk_token") }
            unkId = id
        }
        var merges: [UInt64: (rank: Int, id: Int)] = [:]
        let list = try r.array(m["merges"], "model.merges")
        merges.reserveCapacity(list.count)
        for (rank, item) in list.enumerated() {
            let p = "model.merges[\(rank)]"
            let a: String, b: String
            if let s = item as? String {
                // "a b": exactly one separating space (tokens never contain a plain space).
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw TokenizerError.badField(file: r.file, path: p, expected: "a merge \"a b\" with one space") }
                a = String(parts[0]); b = String(parts[1])
            } else if let pair = item as? [Any], pair.count == 2 {
                a = try r.string(pair[0], p + "[0]"); b = try r.string(pair[1], p + "[1]")
            } else {
                throw TokenizerError.badField(file: r.file, path: p, expected: "a string \"a b\" or a pair [a, b]")
            }
            guard let ia = vocab[VocabKey(a)] else { throw TokenizerError.missingToken(file: r.file, token: a, where: p) }
            guard let ib = vocab[VocabKey(b)] else { throw TokenizerError.missingToken(file: r.file, token: b, where: p) }
            let ab = a + b
            guard let merged = vocab[VocabKey(ab)] else { throw TokenizerError.missingToken(file: r.file, token: ab, where: p) }
            // A repeated pair keeps its last rank, as HF's HashMap collect does.
            merges[BPEModel.key(ia, ib)] = (rank, merged)
        }
        var model = BPEModel(vocab: vocab, merges: merges, unkId: unkId,
                             fuseUnk: try r.bool(m["fuse_unk"], "model.fuse_unk", default: false),
                             ignoreMerges: try r.bool(m["ignore_merges"], "model.ignore_merges", default: false))
        // byte_fallback: a symbol missing from the vocabulary becomes its UTF-8 bytes as "<0xNN>"
        // tokens. HF does not require all 256 of them: a symbol with a missing byte token falls
        // back to the unknown token instead.
        if try r.bool(m["byte_fallback"], "model.byte_fallback", default: false) {
            model.byteIds = (0..<256).map { vocab[VocabKey(String(format: "<0x%02X>", $0))] }
        }
        return model
    }

    /// `{"String": s}` or `{"Regex": r}` (Split and Replace patterns).
    private static func parsePattern(_ v: Any?, _ path: String, _ r: JSONReader) throws -> TokenRegex {
        let o = try r.object(v, path)
        if let s = o["String"] { return TokenRegex(literal: try r.string(s, path + ".String")) }
        guard let re = o["Regex"] else {
            throw TokenizerError.badField(file: r.file, path: path, expected: "{\"String\": …} or {\"Regex\": …}")
        }
        let source = try r.string(re, path + ".Regex")
        do {
            return try TokenRegex(regex: source)
        } catch {
            throw TokenizerError.unsupported(file: r.file, component: path + ".Regex", type: source,
                                             hint: "the pattern does not compile in ICU, the regex engine spikescope uses (HF uses Oniguruma); only the common syntax (\\p{L}, \\s, (?i:…), (?!…)) is supported.")
        }
    }

    /// One character (Metaspace replacement, Strip content), as HF's `char`.
    private static func scalar(_ v: Any?, _ path: String, _ r: JSONReader) throws -> Unicode.Scalar {
        let s = try r.string(v, path)
        guard s.unicodeScalars.count == 1, let c = s.unicodeScalars.first else {
            throw TokenizerError.badField(file: r.file, path: path, expected: "a single character")
        }
        return c
    }

    /// Metaspace's replacement and prepend scheme, with HF's reading of the legacy add_prefix_space.
    private static func parseMetaspace(_ o: [String: Any], _ path: String, _ r: JSONReader) throws -> (Unicode.Scalar, PrependScheme, Bool) {
        let replacement = try scalar(o["replacement"], path + ".replacement", r)
        var scheme = PrependScheme.always
        if let s = try r.optionalString(o["prepend_scheme"], path + ".prepend_scheme") {
            guard let p = PrependScheme(rawValue: s) else {
                throw TokenizerError.badField(file: r.file, path: path + ".prepend_scheme", expected: "\"first\", \"always\" or \"never\"")
            }
            scheme = p
        }
        if let a = o["add_prefix_space"], !(a is NSNull), try !r.bool(a, path + ".add_prefix_space", default: true) {
            // HF: add_prefix_space false requires prepend_scheme "never" (and it defaults to "always").
            guard scheme == .never else {
                throw TokenizerError.badField(file: r.file, path: path + ".add_prefix_space", expected: "consistent with prepend_scheme (false needs \"never\")")
            }
        }
        return (replacement, scheme, try r.bool(o["split"], path + ".split", default: true))
    }

    private static func parseNormalizer(_ v: Any?, _ path: String, _ r: JSONReader) throws -> Normalizer? {
        if v == nil || v is NSNull { return nil }
        let o = try r.object(v, path)
        let type = try r.string(o["type"], path + ".type")
        switch type {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Prepend":
            return .prepend(try r.string(o["prepend"], path + ".prepend"))
        case "Replace":
            return .replace(pattern: try parsePattern(o["pattern"], path + ".pattern", r), content: try r.string(o["content"], path + ".content"))
        case "BertNormalizer":
            var b = BertNormalizer()
            b.cleanText = try r.bool(o["clean_text"], path + ".clean_text", default: true)
            b.handleChineseChars = try r.bool(o["handle_chinese_chars"], path + ".handle_chinese_chars", default: true)
            b.lowercase = try r.bool(o["lowercase"], path + ".lowercase", default: true)
            if let s = o["strip_accents"], !(s is NSNull) { b.stripAccents = try r.bool(s, path + ".strip_accents", default: false) }
            return .bert(b)
        case "Sequence":
            let list = try r.array(o["normalizers"], path + ".normalizers")
            return .sequence(try list.enumerated().compactMap { try parseNormalizer($1, path + ".normalizers[\($0)]", r) })
        default:
            throw TokenizerError.unsupported(file: r.file, component: path, type: type,
                                             hint: "supported normalizers: NFC, NFD, NFKC, NFKD, Lowercase, BertNormalizer, Prepend, Replace, Sequence.")
        }
    }

    private static func parsePreTokenizer(_ v: Any?, _ path: String, _ r: JSONReader) throws -> PreTokenizer {
        if v == nil || v is NSNull { return .none }
        let o = try r.object(v, path)
        let type = try r.string(o["type"], path + ".type")
        switch type {
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: try r.bool(o["add_prefix_space"], path + ".add_prefix_space", default: true),
                              useRegex: try r.bool(o["use_regex"], path + ".use_regex", default: true))
        case "BertPreTokenizer":
            return .bert
        case "Metaspace":
            let (replacement, scheme, split) = try parseMetaspace(o, path, r)
            return .metaspace(replacement: replacement, prependScheme: scheme, split: split)
        case "Split":
            let b = try r.string(o["behavior"], path + ".behavior")
            guard let behavior = SplitBehavior(rawValue: b) else {
                throw TokenizerError.badField(file: r.file, path: path + ".behavior",
                                              expected: "one of " + SplitBehavior.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return .split(pattern: try parsePattern(o["pattern"], path + ".pattern", r), behavior: behavior,
                          invert: try r.bool(o["invert"], path + ".invert", default: false))
        case "Sequence":
            let list = try r.array(o["pretokenizers"], path + ".pretokenizers")
            return .sequence(try list.enumerated().map { try parsePreTokenizer($1, path + ".pretokenizers[\($0)]", r) })
        default:
            throw TokenizerError.unsupported(file: r.file, component: path, type: type,
                                             hint: "supported pre-tokenizers: ByteLevel, BertPreTokenizer, Metaspace, Split (regex or string), Sequence of these.")
        }
    }

    private static func parsePostProcessor(_ v: Any?, _ path: String, vocab: [String: Int], _ r: JSONReader) throws -> PostProcessor {
        if v == nil || v is NSNull { return .none }
        let o = try r.object(v, path)
        let type = try r.string(o["type"], path + ".type")
        func namedPair(_ key: String) throws -> (String, Int) {
            let a = try r.array(o[key], path + "." + key)
            guard a.count == 2 else { throw TokenizerError.badField(file: r.file, path: path + "." + key, expected: "a pair [token, id]") }
            return (try r.string(a[0], path + "." + key + "[0]"), try r.int(a[1], path + "." + key + "[1]"))
        }
        switch type {
        case "ByteLevel":
            return .byteLevel(trimOffsets: try r.bool(o["trim_offsets"], path + ".trim_offsets", default: true),
                              addPrefixSpace: try r.bool(o["add_prefix_space"], path + ".add_prefix_space", default: true))
        case "BertProcessing":
            return .bert(cls: try namedPair("cls"), sep: try namedPair("sep"))
        case "RobertaProcessing":
            return .roberta(cls: try namedPair("cls"), sep: try namedPair("sep"),
                            trimOffsets: try r.bool(o["trim_offsets"], path + ".trim_offsets", default: true),
                            addPrefixSpace: try r.bool(o["add_prefix_space"], path + ".add_prefix_space", default: true))
        case "TemplateProcessing":
            func template(_ key: String) throws -> [TemplateItem] {
                try r.array(o[key], path + "." + key).enumerated().map { i, item in
                    let p = path + ".\(key)[\(i)]"
                    let e = try r.object(item, p)
                    if let s = e["Sequence"] {
                        let so = try r.object(s, p + ".Sequence")
                        let which = try r.string(so["id"], p + ".Sequence.id")
                        return .sequence(second: which == "B", typeId: try r.int(so["type_id"], p + ".Sequence.type_id"))
                    }
                    let so = try r.object(e["SpecialToken"], p + ".SpecialToken")
                    return .special(name: try r.string(so["id"], p + ".SpecialToken.id"), typeId: try r.int(so["type_id"], p + ".SpecialToken.type_id"))
                }
            }
            var specials: [String: [(token: String, id: Int)]] = [:]
            let table = try r.object(o["special_tokens"], path + ".special_tokens")
            for (name, value) in table {
                let p = path + ".special_tokens.\(name)"
                let so = try r.object(value, p)
                let ids = try r.array(so["ids"], p + ".ids").enumerated().map { try r.int($1, p + ".ids[\($0)]") }
                let tokens = try r.array(so["tokens"], p + ".tokens").enumerated().map { try r.string($1, p + ".tokens[\($0)]") }
                guard ids.count == tokens.count else { throw TokenizerError.badField(file: r.file, path: p, expected: "as many ids as tokens") }
                specials[name] = Array(zip(tokens, ids)).map { (token: $0.0, id: $0.1) }
            }
            let single = try template("single"), pair = try template("pair")
            for case let .special(name, _) in single + pair where specials[name] == nil {
                throw TokenizerError.missingToken(file: r.file, token: name, where: path + ".special_tokens")
            }
            return .template(single: single, pair: pair, specials: specials)
        case "Sequence":
            let list = try r.array(o["processors"], path + ".processors")
            return .sequence(try list.enumerated().map { try parsePostProcessor($1, path + ".processors[\($0)]", vocab: vocab, r) })
        default:
            throw TokenizerError.unsupported(file: r.file, component: path, type: type,
                                             hint: "supported post-processors: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence.")
        }
    }

    /// Unknown decoders (anywhere in a Sequence) and malformed ones fall back to joining tokens
    /// with spaces: decoding is for display only, and refusing the whole tokenizer for it would
    /// block encoding too.
    private static func parseDecoder(_ v: Any?, _ r: JSONReader) throws -> TokenDecoder {
        guard v != nil, !(v is NSNull) else { return .none }
        return (try? decoderStep(v, "decoder", r)) ?? .none
    }

    private static func decoderStep(_ v: Any?, _ path: String, _ r: JSONReader) throws -> TokenDecoder {
        let o = try r.object(v, path)
        let type = try r.string(o["type"], path + ".type")
        switch type {
        case "ByteLevel": return .byteLevel
        case "WordPiece":
            return .wordPiece(prefix: try r.optionalString(o["prefix"], path + ".prefix") ?? "##",
                              cleanup: try r.bool(o["cleanup"], path + ".cleanup", default: true))
        case "Replace":
            return .replace(pattern: try parsePattern(o["pattern"], path + ".pattern", r), content: try r.string(o["content"], path + ".content"))
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            let start = try r.int(o["start"], path + ".start"), stop = try r.int(o["stop"], path + ".stop")
            guard start >= 0, stop >= 0 else { throw TokenizerError.badField(file: r.file, path: path, expected: "start and stop >= 0") }
            return .strip(content: try scalar(o["content"], path + ".content", r), start: start, stop: stop)
        case "Metaspace":
            let (replacement, scheme, _) = try parseMetaspace(o, path, r)
            return .metaspace(replacement: replacement, prependScheme: scheme)
        case "Sequence":
            let list = try r.array(o["decoders"], path + ".decoders")
            return .sequence(try list.enumerated().map { try decoderStep($1, path + ".decoders[\($0)]", r) })
        default:
            throw TokenizerError.unsupported(file: r.file, component: path, type: type,
                                             hint: "supported decoders: ByteLevel, WordPiece, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence.")
        }
    }
}

/// A one-line reason from a JSONSerialization error (its description differs across platforms).
func jsonReason(_ error: Error) -> String {
    let ns = error as NSError
    var reason = (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
    while reason.hasSuffix(".") { reason.removeLast() }
    return reason
}
