// `spikescope tokenize`: shows how a text becomes token ids with a given tokenizer — ids,
// tokens, type ids and offsets — as a table or as JSON. Only argument handling and printing;
// the tokenizers are in Formats/Tokenizers.

import ArgumentParser
import Experiments
import Foundation
import Formats

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Show the token ids, tokens, type ids and offsets a tokenizer gives for a text.",
        discussion: """
            Examples:
              spikescope tokenize --tokenizer 20B_tokenizer.json --text "Hello world" --json
              spikescope tokenize --tokenizer vocab.txt --text "Is it?" --pair "Yes." --json
            """)

    @Option(help: "Tokenizer file: HF tokenizer.json (BPE or WordPiece), BERT vocab.txt, or a char vocabulary JSON (or a model folder holding one).")
    var tokenizer: String

    @Option(help: "The text to tokenize.")
    var text: String?

    @Option(help: "Read the text to tokenize from this UTF-8 file.")
    var file: String?

    @Option(help: "Second text of a sentence pair (BERT: [CLS] text [SEP] pair [SEP]).")
    var pair: String?

    @Flag(help: "Print one JSON object {\"ids\", \"tokens\", \"type_ids\", \"offsets\"}.")
    var json = false

    @Flag(help: "Do not add special tokens such as [CLS] and [SEP].")
    var noSpecialTokens = false

    @Option(help: "Char vocabularies: the character that stands for unknown characters.")
    var unknownChar: String = " "

    @Flag(help: "BERT vocab.txt only: the model is cased (no lowercasing or accent stripping).")
    var cased = false

    func validate() throws {
        if text != nil && file != nil {
            throw ValidationError("Give either --text or --file, not both.")
        }
        if text == nil && file == nil {
            throw ValidationError("Give the text to tokenize with --text TEXT or --file PATH.")
        }
        if unknownChar.unicodeScalars.count != 1 {
            throw ValidationError("The value '\(unknownChar)' is invalid for '--unknown-char <unknown-char>': give exactly one character.")
        }
    }

    func run() throws {
        // TokenizerError and CorpusError describe themselves in one line; ArgumentParser prints
        // "Error: <description>" to stderr and exits with status 1.
        let tok = try TokenizerLoader.load(path: tokenizer, unknownCharacter: unknownChar.first, lowercase: !cased)
        let input = try text ?? TextCorpus.readUTF8(file: file!)
        let e = try tok.encode(input, pair: pair, addSpecialTokens: !noSpecialTokens)
        print(json ? Tokenize.json(e) : Tokenize.table(e))
    }

    /// `{"ids": [...], "tokens": [...], "type_ids": [...], "offsets": [[s, e], ...]}` on one line.
    static func json(_ e: Encoding) -> String {
        let ids = e.ids.map(String.init).joined(separator: ", ")
        let tokens = e.tokens.map(jsonString).joined(separator: ", ")
        let types = e.typeIds.map(String.init).joined(separator: ", ")
        let offsets = e.offsets.map { "[\($0.lowerBound), \($0.upperBound)]" }.joined(separator: ", ")
        return "{\"ids\": [\(ids)], \"tokens\": [\(tokens)], \"type_ids\": [\(types)], \"offsets\": [\(offsets)]}"
    }

    static func table(_ e: Encoding) -> String {
        var lines = ["   #      id  type  offsets     token"]
        for i in 0..<e.count {
            let n = String(i).leftPad(4), id = String(e.ids[i]).leftPad(7), t = String(e.typeIds[i]).leftPad(5)
            let o = "[\(e.offsets[i].lowerBound), \(e.offsets[i].upperBound))".rightPad(11)
            lines.append("\(n) \(id) \(t)  \(o) \(jsonString(e.tokens[i]))")
        }
        lines.append("\(e.count) tokens")
        return lines.joined(separator: "\n")
    }

    /// A JSON string literal (Formats.JSONValue's escaping).
    static func jsonString(_ s: String) -> String { JSONValue.quoted(s) }
}

private extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
    func rightPad(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
