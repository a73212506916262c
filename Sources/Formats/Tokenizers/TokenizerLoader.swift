// TokenizerLoader: opens any tokenizer file spikescope knows by looking at its content, and
// finds the tokenizer that belongs to a model when the user did not name one. It does not
// guess between formats silently: an unknown type is an error naming the file and the type.
//
// Dispatch on content:
//   UTF-16 text, or a JSON object whose keys are all integers → CharVocab (SpikeGPT char models)
//   a JSON object with "model"                                  → HFTokenizer (BPE or WordPiece)
//   anything else that is UTF-8 text, one token per line, containing [UNK] → BERT vocab.txt

import Foundation

public enum TokenizerLoader {
    /// File names tried, in order, in the model's folder by `find(besideModel:)`.
    public static let candidateNames = ["tokenizer.json", "20B_tokenizer.json", "vocab.txt", "vocab.json", "vocab_book.json"]

    /// Loads a tokenizer from a file, or from a folder holding one of `candidateNames`.
    /// - Parameters:
    ///   - unknownCharacter: for char vocabularies, the character standing for unknown ones.
    ///   - lowercase: for a bare vocab.txt, whether the model is uncased.
    /// - Throws: `TokenizerError`.
    public static func load(path: String, unknownCharacter: Character? = " ", lowercase: Bool = true) throws -> any Tokenizer {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw TokenizerError.unreadable(file: path, reason: "no such file")
        }
        if isDir.boolValue { return try load(path: try find(besideModel: path), unknownCharacter: unknownCharacter, lowercase: lowercase) }
        let data: Data
        do { data = try RegularFile.read(path, maxBytes: 1 << 30, what: "a tokenizer file") } catch let e as FormatError {
            throw TokenizerError.unreadable(file: path, reason: e.ioReason)
        }
        if data.isEmpty { throw TokenizerError.unknownFormat(file: path, reason: "the file is empty") }
        let bytes = [UInt8](data.prefix(4))
        let utf16 = (bytes.count >= 2 && ((bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF)))
            || (bytes.count == 4 && (bytes[1] == 0 || bytes[0] == 0))
        if utf16 { return try CharVocab(data: data, file: path, unknownCharacter: unknownCharacter) }
        let first = data.first(where: { ![0x20, 0x09, 0x0A, 0x0D, 0xEF, 0xBB, 0xBF].contains($0) })
        if first == UInt8(ascii: "{") {
            let root: Any
            do { root = try JSONSerialization.jsonObject(with: data.starts(with: [0xEF, 0xBB, 0xBF]) ? data.dropFirst(3) : data, options: []) } catch {
                throw TokenizerError.invalidJSON(file: path, reason: jsonReason(error))
            }
            guard let object = root as? [String: Any] else {
                throw TokenizerError.unknownFormat(file: path, reason: "the JSON is not an object")
            }
            if object["model"] != nil { return try HFTokenizer.load(jsonData: data, file: path) }
            if !object.isEmpty && object.keys.allSatisfy({ Int($0) != nil }) {
                return try CharVocab(data: data, file: path, unknownCharacter: unknownCharacter)
            }
            let keys = object.keys.sorted().prefix(5).joined(separator: ", ")
            throw TokenizerError.unknownFormat(file: path, reason: "a JSON object with keys \(keys) is neither a tokenizer.json (no \"model\") nor a char vocabulary (keys are not ids)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.unknownFormat(file: path, reason: "not JSON and not UTF-8 text")
        }
        if text.split(separator: "\n").contains(where: { $0.trimmingCharacters(in: .whitespaces) == "[UNK]" }) {
            return try HFTokenizer.wordPiece(vocabFile: path, lowercase: lowercase)
        }
        throw TokenizerError.unknownFormat(file: path, reason: "a text file without a [UNK] line is not a BERT vocab.txt")
    }

    /// The tokenizer file next to a model: `model` may be the model file or its folder.
    /// - Throws: `TokenizerError.notFound` listing the names tried.
    public static func find(besideModel model: String) throws -> String {
        // The one search (ModelFiles); a path that does not exist is searched from its folder.
        let path = FileManager.default.fileExists(atPath: model) ? model : URL(fileURLWithPath: model).deletingLastPathComponent().path
        guard let t = (try? ModelFiles.locate(path))?.tokenizer else { throw TokenizerError.notFound(near: model, tried: candidateNames) }
        return t
    }
}
