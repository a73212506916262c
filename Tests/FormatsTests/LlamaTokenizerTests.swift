// Llama-family tokenizer tests: the two kinds of tokenizer.json LLaMA-family models ship —
// SentencePiece-style BPE with byte fallback (Llama-2/TinyLlama/Mistral, in the Prepend+Replace
// layout and the older Metaspace one) and Llama-3/Qwen2 byte-level BPE with a regex Split —
// against Hugging Face `tokenizers` outputs written by
// `Tests/Reference/make_tokenizer_fixtures.py --llama` (Fixtures/tokenizers/{sp-bpe,
// sp-metaspace,byte-bpe}/). Ids, tokens, offsets and decoded text must be identical, for the file
// as written and for its variants (sections swapped in the JSON, byte tokens removed, …). Also
// the load errors of broken or unsupported Llama-style files. Not the BERT/GPT-NeoX fixtures
// (TokenizerFixtureTests) nor the generic loader errors (TokenizerLoaderTests).

import Foundation
import Testing
@testable import Formats

/// One string of expected.json.
struct LlamaCase: Decodable {
    var text: String
    var pair: String?
    var ids: [Int]
    var tokens: [String]?
    var type_ids: [Int]?
    var offsets: [[Int]]?
    var ids_no_special: [Int]?
    var decoded: String?
    var decoded_no_skip: String?
}

enum LlamaFixtures {
    static let names = ["sp-bpe", "sp-metaspace", "byte-bpe"]

    static func folder(_ name: String) -> URL { TokenizerFixtures.folder.appendingPathComponent(name) }
    static func tokenizerPath(_ name: String) -> String { folder(name).appendingPathComponent("tokenizer.json").path }

    static func cases(_ name: String) throws -> [LlamaCase] {
        struct File: Decodable { var cases: [LlamaCase] }
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: folder(name).appendingPathComponent("expected.json"))).cases
    }

    /// expected.json's variants: a name, the JSON changes, and (text, ids, decoded) per string.
    static func variants(_ name: String) throws -> [[String: Any]] {
        let o = try JSONSerialization.jsonObject(with: Data(contentsOf: folder(name).appendingPathComponent("expected.json"))) as! [String: Any]
        return o["variants"] as! [[String: Any]]
    }

    /// tokenizer.json as a mutable object.
    static func json(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: tokenizerPath(name)))) as! [String: Any]
    }

    /// The file with a variant's changes, as make_tokenizer_fixtures.py's variant_json makes it.
    static func apply(_ variant: [String: Any], to base: [String: Any]) -> [String: Any] {
        var o = base
        for (k, v) in variant["top"] as? [String: Any] ?? [:] { o[k] = v }
        var m = o["model"] as! [String: Any]
        for (k, v) in variant["model"] as? [String: Any] ?? [:] { m[k] = v }
        var vocab = m["vocab"] as! [String: Any]
        for t in variant["remove_vocab"] as? [String] ?? [] { vocab[t] = nil }
        m["vocab"] = vocab
        o["model"] = m
        return o
    }

    static func load(_ object: [String: Any], file: String = "t.json") throws -> HFTokenizer {
        try HFTokenizer.load(jsonData: JSONSerialization.data(withJSONObject: object), file: file)
    }

    static func loadError(_ object: [String: Any]) throws -> TokenizerError? {
        do { _ = try load(object); return nil } catch let e as TokenizerError { return e }
    }
}

@Suite("LlamaTokenizer: SentencePiece byte-fallback BPE and Llama-3/Qwen2 byte-level BPE match HF")
struct LlamaTokenizerTests {
    @Test("every string and pair: ids, tokens, offsets, type ids and decode equal HF's", arguments: LlamaFixtures.names)
    func fixture(_ name: String) throws {
        let tok = try TokenizerLoader.load(path: LlamaFixtures.tokenizerPath(name))
        let hf = try #require(tok as? HFTokenizer)
        let cases = try LlamaFixtures.cases(name)
        #expect(cases.count >= 45)
        for c in cases {
            let label = "\(name): \(String(reflecting: c.text))" + (c.pair.map { " + \(String(reflecting: $0))" } ?? "")
            let e = try tok.encode(c.text, pair: c.pair, addSpecialTokens: true)
            #expect(e.ids == c.ids, "ids differ for \(label)")
            if let t = c.tokens { #expect(e.tokens == t, "tokens differ for \(label)") }
            if let o = c.offsets { #expect(e.offsets.map { [$0.lowerBound, $0.upperBound] } == o, "offsets differ for \(label)") }
            if let t = c.type_ids { #expect(e.typeIds == t, "type ids differ for \(label)") }
            if let plain = c.ids_no_special {
                #expect(try tok.encode(c.text, pair: nil, addSpecialTokens: false).ids == plain, "ids without specials differ for \(label)")
            }
            if let d = c.decoded { #expect(tok.decode(c.ids) == d, "decode differs for \(label)") }
            if let d = c.decoded_no_skip { #expect(hf.decode(c.ids, skipSpecialTokens: false) == d, "decode (specials kept) differs for \(label)") }
        }
    }

    @Test("variants of each file (other layouts, Qwen2, Split behaviours, missing byte tokens) equal HF's", arguments: LlamaFixtures.names)
    func variants(_ name: String) throws {
        let base = try LlamaFixtures.json(name)
        let variants = try LlamaFixtures.variants(name)
        #expect(variants.count >= 4)
        for v in variants {
            let vname = v["name"] as! String
            let tok = try LlamaFixtures.load(LlamaFixtures.apply(v, to: base), file: "\(name) [\(vname)]")
            for c in v["cases"] as! [[String: Any]] {
                let text = c["text"] as! String
                let label = "\(name) [\(vname)]: \(String(reflecting: text))"
                let ids = c["ids"] as! [Int]
                #expect(try tok.encode(text).ids == ids, "ids differ for \(label)")
                #expect(tok.decode(ids) == c["decoded"] as! String, "decode differs for \(label)")
            }
        }
    }

    @Test("the fixtures exercise what they are for: byte fallback, <s>, ignore_merges, special tokens")
    func coverage() throws {
        let sp = try HFTokenizer.load(jsonFile: LlamaFixtures.tokenizerPath("sp-bpe"))
        #expect(sp.unkId == 0 && sp.clsId == 1 && sp.eosId == 2)
        #expect(sp.vocabSize >= 300 && sp.vocabSize <= 400)
        #expect(sp.id(of: "<0x00>") == 3 && sp.id(of: "<0xFF>") == 258)
        // A character the training text never had becomes its UTF-8 bytes, and decodes back.
        let e = try sp.encode("🦩 Ω")
        #expect(e.ids.first == 1)
        #expect(e.tokens.contains("<0xF0>") && e.tokens.contains("<0xCE>"))
        #expect(sp.decode(e.ids) == "🦩 Ω")

        let bb = try HFTokenizer.load(jsonFile: LlamaFixtures.tokenizerPath("byte-bpe"))
        // ignore_merges: a word that is in the vocabulary is one token, even where merges would split it.
        #expect(try bb.encode(" antidisestablishmentarianism", addSpecialTokens: false).tokens == ["Ġantidisestablishmentarianism"])
        let chat = try bb.encode("<|im_start|>user\nhi<|im_end|>", addSpecialTokens: false)
        #expect(chat.tokens.first == "<|im_start|>" && chat.tokens.last == "<|im_end|>")
        #expect(bb.eosId == bb.id(of: "<|endoftext|>"))
    }

    @Test("decode(encode(text)) gives the text back, on random multilingual text", arguments: ["sp-bpe", "byte-bpe"])
    func roundTrip(_ name: String) throws {
        let tok = try HFTokenizer.load(jsonFile: LlamaFixtures.tokenizerPath(name))
        var rng = SplitMix(seed: 7)
        // No "<" (special tokens) and no "▁" (SentencePiece's space): those do not round-trip in HF either.
        let alphabet = Array("abcdeE ç\u{301}中文😀👍🏽\u{1F9A9}Ω\t\n\r  12345.,!'?\u{A0}\u{3000}\u{200D}ไ𝔘").map(String.init)
        for _ in 0..<300 {
            let text = (0..<Int(rng.next() % 40)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }.joined()
            let ids = try tok.encode(text, addSpecialTokens: false).ids
            #expect(tok.decode(ids).unicodeScalars.elementsEqual(text.unicodeScalars), "\(String(reflecting: text))")
        }
    }

    @Test("a long text without a pre-tokenizer is one BPE word: encodes quickly and round-trips")
    func longText() throws {
        let tok = try HFTokenizer.load(jsonFile: LlamaFixtures.tokenizerPath("sp-bpe"))
        let text = String(repeating: "Le café est très bon 😀, the quick brown fox; 中文 12345.\n", count: 3000)
        let clock = ContinuousClock()
        var ids: [Int] = []
        let elapsed = try clock.measure { ids = try tok.encode(text, addSpecialTokens: false).ids }
        #expect(tok.decode(ids) == text)
        #expect(elapsed < .seconds(20), "\(elapsed) for \(text.unicodeScalars.count) characters")
    }

    @Test("mutated Llama tokenizer.json files and random component mixes never crash; offsets stay in the text")
    func fuzz() throws {
        var rng = SplitMix(seed: 0x11A3A)
        let seeds = try LlamaFixtures.names.map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: LlamaFixtures.tokenizerPath($0)))) }
        var loaded = 0
        for i in 0..<TokenizerFuzzTests.iterations(600) {
            let data = Data(TokenizerFuzzTests.mutate(seeds[i % seeds.count], &rng))
            guard let tok = try? HFTokenizer.load(jsonData: data, file: "fuzz.json") else { continue }
            loaded += 1
            let text = TokenizerFuzzTests.randomText(&rng)
            let e = try tok.encode(text, pair: TokenizerFuzzTests.randomText(&rng), addSpecialTokens: true)
            #expect(e.ids.count == e.tokens.count && e.ids.count == e.offsets.count)
            _ = tok.decode(e.ids + [-1, Int.max])
        }
        // Whole sections swapped between the kinds, some of them nonsensical together.
        let pieces: [String: [Any]] = [
            "normalizer": [NSNull(), ["type": "NFC"], ["type": "Prepend", "prepend": "▁"],
                           ["type": "Replace", "pattern": ["Regex": "\\s*"], "content": "_"],
                           ["type": "Sequence", "normalizers": [["type": "Prepend", "prepend": "▁"], ["type": "Replace", "pattern": ["String": " "], "content": "▁"]]]],
            "pre_tokenizer": [NSNull(), ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true],
                              ["type": "Split", "pattern": ["Regex": "a*"], "behavior": "MergedWithNext", "invert": true],
                              ["type": "Split", "pattern": ["String": ""], "behavior": "Isolated", "invert": false],
                              ["type": "ByteLevel", "add_prefix_space": true, "use_regex": true]],
            "decoder": [NSNull(), ["type": "ByteLevel"], ["type": "Strip", "content": " ", "start": 99, "stop": 99],
                        ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "always"],
                        ["type": "Sequence", "decoders": [["type": "ByteFallback"], ["type": "Fuse"]]]],
        ]
        let bases = try LlamaFixtures.names.map { try LlamaFixtures.json($0) }
        for _ in 0..<TokenizerFuzzTests.iterations(300) {
            var o = bases[Int(rng.next() % UInt64(bases.count))]
            for (key, options) in pieces where rng.next() % 2 == 0 { o[key] = options[Int(rng.next() % UInt64(options.count))] }
            var m = o["model"] as! [String: Any]
            for key in ["byte_fallback", "ignore_merges", "fuse_unk"] where rng.next() % 3 == 0 { m[key] = rng.next() % 2 == 0 }
            o["model"] = m
            let tok = try LlamaFixtures.load(o, file: "mix.json")
            let text = TokenizerFuzzTests.randomText(&rng)
            let e = try tok.encode(text)
            let n = text.unicodeScalars.count
            #expect(e.offsets.allSatisfy { $0.lowerBound >= 0 && $0.lowerBound <= $0.upperBound && $0.upperBound <= n }, "\(String(reflecting: text))")
            _ = tok.decode(e.ids)
        }
        print("llama tokenizer fuzz: \(loaded) mutated files loaded and encoded, 0 crashes")
    }

    // MARK: errors

    @Test("an unknown normalizer in a Llama-2 layout names the file, the JSON path and what is supported")
    func unknownNormalizer() throws {
        var o = try LlamaFixtures.json("sp-bpe")
        o["normalizer"] = ["type": "Sequence", "normalizers": [["type": "Prepend", "prepend": "▁"], ["type": "Precompiled", "precompiled_charsmap": "AAAA"]]]
        let e = try #require(try LlamaFixtures.loadError(o))
        #expect(e == .unsupported(file: "t.json", component: "normalizer.normalizers[1]", type: "Precompiled",
                                  hint: "supported normalizers: NFC, NFD, NFKC, NFKD, Lowercase, BertNormalizer, Prepend, Replace, Sequence."))
        #expect(e.description.contains("'t.json'") && e.description.contains("normalizer.normalizers[1]") && e.description.contains("Prepend, Replace"))
    }

    @Test("unsupported or broken pre-tokenizers, patterns and Metaspace fields are refused by path")
    func brokenParts() throws {
        let base = try LlamaFixtures.json("byte-bpe")
        var seq = (base["pre_tokenizer"] as! [String: Any])["pretokenizers"] as! [[String: Any]]

        var o = base
        o["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [seq[0], ["type": "Digits", "individual_digits": true]]]
        #expect(try LlamaFixtures.loadError(o) == .unsupported(file: "t.json", component: "pre_tokenizer.pretokenizers[1]", type: "Digits",
                                                               hint: "supported pre-tokenizers: ByteLevel, BertPreTokenizer, Metaspace, Split (regex or string), Sequence of these."))

        seq[0]["pattern"] = ["Regex": "(?<unclosed"]
        o["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": seq]
        let bad = try #require(try LlamaFixtures.loadError(o))
        guard case let .unsupported(_, component, type, _) = bad else { Issue.record("\(bad)"); return }
        #expect(component == "pre_tokenizer.pretokenizers[0].pattern.Regex" && type == "(?<unclosed")

        seq[0]["pattern"] = ["Regex": "x"]
        seq[0]["behavior"] = "Sideways"
        o["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": seq]
        #expect(try LlamaFixtures.loadError(o) == .badField(file: "t.json", path: "pre_tokenizer.pretokenizers[0].behavior",
                                                            expected: "one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous"))
        seq[0]["behavior"] = "Isolated"
        seq[0]["pattern"] = ["Glob": "*"]
        o["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": seq]
        #expect(try LlamaFixtures.loadError(o) == .badField(file: "t.json", path: "pre_tokenizer.pretokenizers[0].pattern",
                                                            expected: "{\"String\": …} or {\"Regex\": …}"))

        var m = try LlamaFixtures.json("sp-metaspace")
        m["pre_tokenizer"] = ["type": "Metaspace", "replacement": "▁", "add_prefix_space": false, "prepend_scheme": "first"]
        #expect(try LlamaFixtures.loadError(m) == .badField(file: "t.json", path: "pre_tokenizer.add_prefix_space",
                                                            expected: "consistent with prepend_scheme (false needs \"never\")"))
        m["pre_tokenizer"] = ["type": "Metaspace", "replacement": "__", "prepend_scheme": "first"]
        #expect(try LlamaFixtures.loadError(m) == .badField(file: "t.json", path: "pre_tokenizer.replacement", expected: "a single character"))
        m["pre_tokenizer"] = ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"]
        #expect(try LlamaFixtures.loadError(m) == .badField(file: "t.json", path: "pre_tokenizer.prepend_scheme", expected: "\"first\", \"always\" or \"never\""))
    }

    @Test("model errors: merges naming missing tokens, a missing unk_token, subword prefixes")
    func modelErrors() throws {
        var o = try LlamaFixtures.json("sp-bpe")
        var m = o["model"] as! [String: Any]
        var merges = m["merges"] as! [Any]
        merges[2] = ["▁", "<0xZZ>"]
        m["merges"] = merges
        o["model"] = m
        #expect(try LlamaFixtures.loadError(o) == .missingToken(file: "t.json", token: "<0xZZ>", where: "model.merges[2]"))

        o = try LlamaFixtures.json("sp-bpe")
        m = o["model"] as! [String: Any]
        m["unk_token"] = "<unknown>"
        o["model"] = m
        #expect(try LlamaFixtures.loadError(o) == .missingToken(file: "t.json", token: "<unknown>", where: "model.unk_token"))

        m["unk_token"] = "<unk>"
        m["continuing_subword_prefix"] = "##"
        o["model"] = m
        #expect(try LlamaFixtures.loadError(o).map { "\($0)" }?.contains("model.continuing_subword_prefix type '##' is not supported") == true)
    }

    @Test("byte_fallback with no byte tokens at all loads, as in HF: unknown characters become <unk>")
    func noByteTokens() throws {
        var o = try LlamaFixtures.json("sp-bpe")
        var m = o["model"] as! [String: Any]
        var vocab = m["vocab"] as! [String: Any]
        for b in 0..<256 { vocab[String(format: "<0x%02X>", b)] = nil }
        m["vocab"] = vocab
        o["model"] = m
        let tok = try LlamaFixtures.load(o)
        // "Ω" and "🦩" are not in the vocabulary; with fuse_unk the run "Ω🦩" is one <unk>.
        let e = try tok.encode("aΩ🦩 b", addSpecialTokens: false)
        #expect(e.tokens.contains("<unk>"))
        #expect(e.tokens.filter { $0 == "<unk>" }.count == 1)
        #expect(e.tokens.allSatisfy { byteFallbackValue($0) == nil })
    }

    @Test("an unknown decoder degrades to joining tokens with spaces instead of refusing the tokenizer")
    func unknownDecoder() throws {
        var o = try LlamaFixtures.json("sp-bpe")
        o["decoder"] = ["type": "Sequence", "decoders": [["type": "Replace", "pattern": ["String": "▁"], "content": " "], ["type": "CTC"]]]
        let tok = try LlamaFixtures.load(o)
        let ids = try tok.encode("hello world", addSpecialTokens: false).ids
        #expect(tok.decode(ids) == ids.compactMap { tok.token(of: $0) }.joined(separator: " "))
    }

    @Test("HF decoders step by step: ByteFallback, Strip, Metaspace (values from tokenizers 0.23)")
    func decoderSteps() {
        // decoders.ByteFallback().decode([...]) == "a中b��": a run that is not UTF-8 gives one "�"
        // per byte; "<0x+A>" is a byte (Rust's from_str_radix takes a sign).
        #expect(TokenDecoder.byteFallback.chain(["a", "<0xE4>", "<0xB8>", "<0xAD>", "b", "<0xFF>", "<0x+A>"]) ==
                ["a", "中", "b", "\u{FFFD}", "\u{FFFD}"])
        #expect(TokenDecoder.byteFallback.chain(["<0x41>", "<0x0a>", "<0x4G>", "<0x410>"]) == ["A\n", "<0x4G>", "<0x410>"])
        #expect(TokenDecoder.strip(content: " ", start: 1, stop: 0).decode(["  a ", "b"]) == " a b")
        #expect(TokenDecoder.strip(content: " ", start: 0, stop: 2).decode(["a   ", "x"]) == "a x")
        #expect(TokenDecoder.metaspace(replacement: "▁", prependScheme: .first).decode(["▁a▁b", "▁c"]) == "ab c")
        #expect(TokenDecoder.metaspace(replacement: "▁", prependScheme: .never).decode(["▁a"]) == " a")
    }
}
