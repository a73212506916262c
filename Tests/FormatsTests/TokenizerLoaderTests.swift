// Tokenizer loading tests: dispatch on content, finding a tokenizer beside a model, and the
// messages for broken or unsupported files (each names the file, what is wrong and a hint).

import Foundation
import Testing
@testable import Formats

@Suite("Tokenizer loading and errors")
struct TokenizerLoaderTests {
    static let bpe = TokenizerFixtures.path("bpe_small.json")

    func temp(_ name: String, _ data: Data) throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("spikescope-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        let f = d.appendingPathComponent(name)
        try data.write(to: f)
        return f.path
    }

    /// bpe_small.json as a mutable JSON object.
    func bpeJSON() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.bpe))) as! [String: Any]
    }

    func loadError(_ object: [String: Any]) throws -> TokenizerError? {
        let data = try JSONSerialization.data(withJSONObject: object)
        do { _ = try HFTokenizer.load(jsonData: data, file: "t.json"); return nil } catch let e as TokenizerError { return e }
    }

    @Test("WordPiece tokenizer.json (BertProcessing) matches HF")
    func wordPieceJSON() throws {
        let tok = try TokenizerLoader.load(path: TokenizerFixtures.path("wordpiece_tokenizer.json"))
        try TokenizerFixtures.check(tok, against: "wordpiece_expected.json")
    }

    @Test("find(besideModel:) looks in the model's folder; load(path:) accepts the folder")
    func findBeside() throws {
        let model = try temp("model.pth", Data([1, 2, 3]))
        let folder = URL(fileURLWithPath: model).deletingLastPathComponent()
        #expect(throws: TokenizerError.notFound(near: model, tried: TokenizerLoader.candidateNames)) {
            try TokenizerLoader.find(besideModel: model)
        }
        try FileManager.default.copyItem(atPath: TokenizerFixtures.path("charvocab_utf16.json"), toPath: folder.appendingPathComponent("vocab.json").path)
        #expect(try TokenizerLoader.find(besideModel: model) == folder.appendingPathComponent("vocab.json").path)
        try FileManager.default.copyItem(atPath: Self.bpe, toPath: folder.appendingPathComponent("tokenizer.json").path)
        #expect(try TokenizerLoader.find(besideModel: folder.path) == folder.appendingPathComponent("tokenizer.json").path)
        #expect(try TokenizerLoader.load(path: folder.path) is HFTokenizer)
    }

    @Test("an unknown model type names the file and the type")
    func unsupportedModel() throws {
        var o = try bpeJSON()
        var m = o["model"] as! [String: Any]
        m["type"] = "Unigram"
        o["model"] = m
        let e = try loadError(o)
        #expect(e == .unsupported(file: "t.json", component: "model", type: "Unigram",
                                  hint: "spikescope reads BPE and WordPiece models; Unigram and WordLevel tokenizers are not supported."))
        #expect(e?.description == "tokenizer 't.json': model type 'Unigram' is not supported. Hint: spikescope reads BPE and WordPiece models; Unigram and WordLevel tokenizers are not supported.")
    }

    @Test("unsupported pre-tokenizer and normalizer are refused by name")
    func unsupportedParts() throws {
        var o = try bpeJSON()
        o["pre_tokenizer"] = ["type": "Digits", "individual_digits": true]
        #expect(try loadError(o).map { "\($0)" }?.contains("pre_tokenizer type 'Digits' is not supported") == true)
        o = try bpeJSON()
        o["normalizer"] = ["type": "Sequence", "normalizers": [["type": "NFC"], ["type": "Precompiled"]]]
        #expect(try loadError(o) == .unsupported(file: "t.json", component: "normalizer.normalizers[1]", type: "Precompiled",
                                                 hint: "supported normalizers: NFC, NFD, NFKC, NFKD, Lowercase, BertNormalizer, Prepend, Replace, Sequence."))
    }

    @Test("broken fields name their JSON path")
    func badFields() throws {
        var o = try bpeJSON()
        var m = o["model"] as! [String: Any]
        var merges = m["merges"] as! [Any]
        merges[3] = ["Ġ", "no-such-token"]
        m["merges"] = merges
        o["model"] = m
        #expect(try loadError(o) == .missingToken(file: "t.json", token: "no-such-token", where: "model.merges[3]"))
        m["merges"] = [1, 2]
        o["model"] = m
        #expect(try loadError(o) == .badField(file: "t.json", path: "model.merges[0]", expected: "a string \"a b\" or a pair [a, b]"))
        m["vocab"] = ["a": -5]
        o["model"] = m
        #expect(try loadError(o) == .badField(file: "t.json", path: "model.vocab[\"a\"]", expected: "an id between 0 and 2^31-1"))
        o["model"] = "BPE"
        #expect(try loadError(o) == .badField(file: "t.json", path: "model", expected: "an object"))
    }

    @Test("merges written as \"a b\" strings load like [a, b] pairs")
    func stringMerges() throws {
        var o = try bpeJSON()
        var m = o["model"] as! [String: Any]
        m["merges"] = (m["merges"] as! [[String]]).map { $0.joined(separator: " ") }
        o["model"] = m
        let tok = try HFTokenizer.load(jsonData: JSONSerialization.data(withJSONObject: o), file: "t.json")
        try TokenizerFixtures.check(tok, against: "bpe_small_expected.json")
    }

    @Test("empty, truncated, garbage and unknown JSON files give one-line errors", arguments: [
        ("empty.json", Data(), "the file is empty"),
        ("trunc.json", Data("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\"".utf8), "is not valid JSON"),
        ("garbage.bin", Data([0x00, 0x01, 0x02, 0x03, 0xFF, 0xFE]), "neither UTF-8 nor UTF-16"),
        ("config.json", Data("{\"hidden_size\": 768}".utf8), "neither a tokenizer.json"),
        ("list.txt", Data("hello\nworld\n".utf8), "without a [UNK] line"),
        ("chars.json", Data("{\"0\": \"ab\"}".utf8), "not a single character"),
    ])
    func badFiles(_ name: String, _ data: Data, _ fragment: String) throws {
        let path = try temp(name, data)
        do {
            _ = try TokenizerLoader.load(path: path)
            Issue.record("\(name) loaded")
        } catch let e as TokenizerError {
            #expect(e.description.contains(fragment), "\(e)")
            #expect(e.description.contains(path), "names the file: \(e)")
            #expect(!e.description.contains("\n"))
        }
    }

    @Test("a char vocabulary without the unknown character refuses unknown input")
    func charUnknown() throws {
        let tok = try CharVocab.load(file: TokenizerFixtures.path("charvocab_utf16.json"), unknownCharacter: "\u{E083}")
        #expect(tok.unkId == nil)
        #expect(try tok.encode("the").ids.count == 3)
        #expect(throws: TokenizerError.unknownCharacter(character: "☃", offset: 2, file: TokenizerFixtures.path("charvocab_utf16.json"))) {
            try tok.encode("ab☃")
        }
        #expect(tok.decode(try tok.encode("hello world").ids) == "hello world")
    }

    @Test("BOM-less UTF-16 (both byte orders) and UTF-8 char vocabularies read the same")
    func charEncodings() throws {
        let json = "{\"0\": \"\\n\", \"1\": \" \", \"2\": \"a\", \"3\": \"é\"}"
        var le = Data(), be = Data()
        for u in json.utf16 { le.append(contentsOf: [UInt8(u & 0xFF), UInt8(u >> 8)]); be.append(contentsOf: [UInt8(u >> 8), UInt8(u & 0xFF)]) }
        for data in [le, be, Data(json.utf8), Data([0xFE, 0xFF]) + be] {
            let tok = try TokenizerLoader.load(path: try temp("v.json", data))
            #expect(try tok.encode("a é\n").ids == [2, 1, 3, 0])
        }
    }
}

@Suite("Tokenizer error messages")
struct TokenizerErrorMessageTests {
    @Test("messages say what, where, and end with a hint", arguments: [
        (TokenizerError.missingToken(file: "tok.json", token: "[UNK]", where: "model.unk_token"),
         "tokenizer 'tok.json': token '[UNK]' named in model.unk_token is not in the vocabulary. Hint: the vocabulary and the rest of the file do not belong together."),
        (TokenizerError.badField(file: "tok.json", path: "model.vocab", expected: "an object"),
         "tokenizer 'tok.json': field 'model.vocab' is missing or not an object. Hint: was the file written by Hugging Face tokenizers?"),
        (TokenizerError.unknownCharacter(character: "☃", offset: 4, file: "vocab.json"),
         "character '☃' (U+2603) at offset 4 is not in the char vocabulary 'vocab.json', which has no unknown character. Hint: choose an unknown character that is in the vocabulary (e.g. ' ')."),
        (TokenizerError.notFound(near: "m/model.pth", tried: ["tokenizer.json", "vocab.txt"]),
         "no tokenizer found beside 'm/model.pth' (tried tokenizer.json, vocab.txt). Hint: pass --tokenizer PATH."),
    ])
    func message(_ e: TokenizerError, _ text: String) {
        #expect(e.description == text)
    }
}
