// ModelFiles: the files that make up a model, found from one path the user gives.
//
// What it is: given a weights file or a model folder, the weights file plus the config.json,
// tokenizer.json, vocab.txt and char-vocabulary JSON found beside it (HF folder layout; SpikeGPT
// releases put the tokenizer next to the .pth). Only names are checked, never contents.
// What it is not: a downloader, or a parser of any of these files (see Checkpoint, JSONValue and
// the tokenizer readers).

import Foundation

public struct ModelFiles: Sendable, Equatable {
    /// The folder searched.
    public let folder: String
    /// The weights file (see `Checkpoint.resolve`), nil when the folder has none.
    public let weights: String?
    public let config: String?
    public let tokenizerJSON: String?
    public let vocabTxt: String?
    /// A character vocabulary (a JSON object of id -> character), e.g. SpikeGPT's char models.
    public let charVocab: String?
    /// The tokenizer that goes with these weights: `<weights stem>.vocab.json` or
    /// `<weights stem>.tokenizer.json` (how spikescope's own checkpoints name theirs), else the
    /// first of `TokenizerLoader.candidateNames` in the folder. The one search every caller uses.
    public let tokenizer: String?

    /// Candidate names for a char vocabulary, in the order tried ("vocab_book.json" is the file in
    /// the SpikeGPT repository); after them, any single other "*vocab*.json" in the folder.
    public static let charVocabNames = ["vocab.json", "vocab_book.json", "char_vocab.json", "enwik8_vocab.json"]

    /// Looks beside `path` (a file: its folder; a folder: inside it). Throws only when `path`
    /// does not exist.
    public static func locate(_ path: String) throws -> ModelFiles {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FormatError.io(path: path, reason: "no such file or folder")
        }
        let folder = isDir.boolValue ? path : URL(fileURLWithPath: path).deletingLastPathComponent().path
        let weights = isDir.boolValue ? (try? Checkpoint.resolve(path)) : path
        func beside(_ names: [String]) -> String? {
            for n in names {
                let p = folder + "/" + n
                if FileManager.default.fileExists(atPath: p) { return p }
            }
            return nil
        }
        let all = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        // SpikeGPT ships "20B_tokenizer.json": after tokenizer.json, the first *tokenizer.json.
        let tok = beside(["tokenizer.json"]) ?? all.first(where: { $0.hasSuffix("tokenizer.json") }).map { folder + "/" + $0 }
        var chars = beside(charVocabNames)
        if chars == nil {
            let others = all.filter { $0.hasSuffix(".json") && $0.contains("vocab") && !$0.contains("tokenizer") }
            if others.count == 1 { chars = folder + "/" + others[0] }
        }
        let stem = weights.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
        let tokenizer = beside(stem.map { [$0 + ".vocab.json", $0 + ".tokenizer.json"] } ?? []) ?? beside(TokenizerLoader.candidateNames)
        return ModelFiles(folder: folder, weights: weights, config: beside(["config.json"]), tokenizerJSON: tok,
                          vocabTxt: beside(["vocab.txt"]), charVocab: chars, tokenizer: tokenizer)
    }

    /// The parsed config.json, or nil when there is none.
    public func loadConfig() throws -> JSONValue? {
        guard let config else { return nil }
        return try JSONValue.parse(file: config)
    }
}
