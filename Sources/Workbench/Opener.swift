// Opener: a model file plus its tokenizer → what the workbench and the CLI run.
// Tokenizer search: the path given; else `ModelFiles.tokenizer` (`<model stem>.vocab.json` / `<stem>.tokenizer.json`
// beside the weights, our own checkpoints; else the names TokenizerLoader knows, in the folder).
// What it is not: a cache — every call reads the files.

import Foundation
import Formats
import Models

public struct OpenedModel: Sendable {
    public var loaded: LoadedModel
    public var tokenizer: (any Tokenizer)?
    public var tokenizerPath: String?
    public var codec: TextCodec
}

public enum Opener {
    public static func tokenizerPath(besideWeights weights: String) -> String? { (try? ModelFiles.locate(weights))?.tokenizer }

    /// Opens a model and its tokenizer. `tokenizer` nil → searched beside the model; when none is
    /// found, the codec throws on text input (token ids still work).
    public static func open(model: String, tokenizer: String? = nil) throws -> OpenedModel {
        let loaded = try ModelLoader.load(path: model)
        let tokPath = tokenizer ?? tokenizerPath(besideWeights: loaded.weightsPath)
        let tok = try tokPath.map { try TokenizerLoader.load(path: $0) }
        return OpenedModel(loaded: loaded, tokenizer: tok, tokenizerPath: tokPath,
                           codec: codec(tok, modelPath: loaded.weightsPath))
    }

    public static func codec(_ tok: (any Tokenizer)?, modelPath: String) -> TextCodec {
        guard let tok else {
            return TextCodec(name: "none", encode: { _, _ in
                throw TokenizerError.notFound(near: modelPath, tried: ["<model>.vocab.json"] + TokenizerLoader.candidateNames)
            }, decode: { ids in ids.map(String.init).joined(separator: " ") })
        }
        return TextCodec(name: String(describing: type(of: tok)), encode: { text, pair in
            let e = try tok.encode(text, pair: pair)
            return (e.ids, e.typeIds, e.tokens)
        }, decode: { tok.decode($0) })
    }
}
