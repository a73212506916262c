// Tokenizer fixture tests: our tokenizers against Hugging Face `tokenizers` outputs written by
// Tests/Reference/make_tokenizer_fixtures.py (66 strings + 12 pairs per tokenizer). Ids, tokens,
// type ids, offsets and decoded text must be identical. Not a test of loading errors
// (TokenizerErrorTests) or of the fuzz loop (TokenizerFuzzTests).

import Foundation
import Testing
import TestSupport
@testable import Formats

struct TokenizerCase: Decodable {
    var text: String
    var pair: String?
    var ids: [Int]
    var tokens: [String]?
    var type_ids: [Int]?
    var offsets: [[Int]]
    var decoded: String?
    var ids_no_special: [Int]?
}

struct TokenizerCases: Decodable {
    var cases: [TokenizerCase]
}

enum TokenizerFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tokenizers")

    static func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    static func cases(_ name: String) throws -> [TokenizerCase] {
        try JSONDecoder().decode(TokenizerCases.self, from: Data(contentsOf: folder.appendingPathComponent(name))).cases
    }

    /// The package root: the nearest folder above this file holding Package.swift.
    static var packageRoot: URL {
        var u = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while u.path != "/" {
            if FileManager.default.fileExists(atPath: u.appendingPathComponent("Package.swift").path) { return u }
            u = u.deletingLastPathComponent()
        }
        return u
    }

    /// Compares every case; returns the number of cases checked.
    @discardableResult
    static func check(_ tokenizer: any Tokenizer, against name: String, decode: Bool = true) throws -> Int {
        let all = try cases(name)
        for c in all {
            let label = "text \(String(reflecting: c.text))" + (c.pair.map { " pair \(String(reflecting: $0))" } ?? "")
            let e = try tokenizer.encode(c.text, pair: c.pair, addSpecialTokens: true)
            #expect(e.ids == c.ids, "ids differ for \(label)")
            if let t = c.tokens { #expect(e.tokens == t, "tokens differ for \(label)") }
            if let t = c.type_ids { #expect(e.typeIds == t, "type ids differ for \(label)") }
            #expect(e.offsets.map { [$0.lowerBound, $0.upperBound] } == c.offsets, "offsets differ for \(label)")
            if decode, let d = c.decoded { #expect(tokenizer.decode(e.ids) == d, "decode differs for \(label)") }
            if let plain = c.ids_no_special {
                #expect(try tokenizer.encode(c.text, pair: nil, addSpecialTokens: false).ids == plain,
                        "ids without special tokens differ for \(label)")
            }
        }
        return all.count
    }
}

@Suite("Tokenizers match HF tokenizers")
struct TokenizerFixtureTests {
    @Test("byte-level BPE trained with tokenizers (20B layout)")
    func byteLevelBPE() throws {
        let tok = try HFTokenizer.load(jsonFile: TokenizerFixtures.path("bpe_small.json"))
        #expect(tok.eosId == 0)
        #expect(tok.vocabSize == 709)
        let n = try TokenizerFixtures.check(tok, against: "bpe_small_expected.json")
        #expect(n >= 60)
    }

    @Test("byte-level BPE with add_prefix_space")
    func byteLevelBPEPrefix() throws {
        let tok = try HFTokenizer.load(jsonFile: TokenizerFixtures.path("bpe_prefix.json"))
        try TokenizerFixtures.check(tok, against: "bpe_prefix_expected.json")
    }

    @Test("WordPiece from a bare vocab.txt")
    func wordPieceVocabTxt() throws {
        let tok = try HFTokenizer.wordPiece(vocabFile: TokenizerFixtures.path("wordpiece_vocab.txt"))
        #expect(tok.clsId == 2 && tok.sepId == 3 && tok.unkId == 1 && tok.padId == 0)
        try TokenizerFixtures.check(tok, against: "wordpiece_expected.json")
    }

    @Test("the loader dispatches vocab.txt to WordPiece")
    func loaderVocabTxt() throws {
        let tok = try TokenizerLoader.load(path: TokenizerFixtures.path("wordpiece_vocab.txt"))
        #expect(tok is HFTokenizer)
        try TokenizerFixtures.check(tok, against: "wordpiece_expected.json")
    }

    @Test("SpikeGPT-style char vocabulary in UTF-16 with BOM")
    func charVocab() throws {
        let raw = try Data(contentsOf: TokenizerFixtures.folder.appendingPathComponent("charvocab_utf16.json"))
        #expect(raw.prefix(2) == Data([0xFF, 0xFE]), "fixture should start with a UTF-16LE BOM")
        let tok = try TokenizerLoader.load(path: TokenizerFixtures.path("charvocab_utf16.json"), unknownCharacter: " ")
        #expect(tok is CharVocab)
        try TokenizerFixtures.check(tok, against: "charvocab_expected.json", decode: false)
    }

    @Test("real BERT tokenizer of all-MiniLM-L6-v2 (from .downloads/minilm)")
    func miniLM() throws {
        let path = try TestData.minilm().appendingPathComponent("tokenizer.json").path
        let tok = try TokenizerLoader.load(path: path)
        #expect(tok.vocabSize == 30522)
        #expect(tok.clsId == 101 && tok.sepId == 102 && tok.unkId == 100)
        let n = try TokenizerFixtures.check(tok, against: "minilm_expected.json")
        #expect(n >= 60)
    }
}
