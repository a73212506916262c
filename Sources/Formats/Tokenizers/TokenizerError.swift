// TokenizerError: everything that can go wrong loading a tokenizer file or encoding text.
// Each message says what is wrong, in which file and where, and ends with a hint. It is not
// used for GLUE or corpus files (GLUEError, CorpusError).

/// An error from loading or using a tokenizer.
public enum TokenizerError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file could not be read at all.
    case unreadable(file: String, reason: String)
    /// The file is not valid JSON (or not the JSON shape expected).
    case invalidJSON(file: String, reason: String)
    /// A required field is missing or has the wrong type. `path` is a JSON path like `model.vocab`.
    case badField(file: String, path: String, expected: String)
    /// `model.type` (or `normalizer.type`, …) names something spikescope does not implement.
    case unsupported(file: String, component: String, type: String, hint: String)
    /// The file is none of the tokenizer formats spikescope knows.
    case unknownFormat(file: String, reason: String)
    /// A token named by the file (merges, unk_token, a template's special token) is not in the vocabulary.
    case missingToken(file: String, token: String, where: String)
    /// A character of the input has no id and the vocabulary has no unknown character.
    case unknownCharacter(character: String, offset: Int, file: String)
    /// No tokenizer file was found beside a model.
    case notFound(near: String, tried: [String])

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "cannot read tokenizer '\(file)': \(reason). Hint: check the path and permissions."
        case let .invalidJSON(file, reason):
            return "tokenizer '\(file)' is not valid JSON: \(reason). Hint: is the file truncated, or not a tokenizer.json?"
        case let .badField(file, path, expected):
            return "tokenizer '\(file)': field '\(path)' is missing or not \(expected). Hint: was the file written by Hugging Face tokenizers?"
        case let .unsupported(file, component, type, hint):
            return "tokenizer '\(file)': \(component) type '\(type)' is not supported. Hint: \(hint)"
        case let .unknownFormat(file, reason):
            return "'\(file)' is not a tokenizer spikescope knows: \(reason). Hint: give a Hugging Face tokenizer.json (BPE or WordPiece), a BERT vocab.txt, or a char vocabulary JSON."
        case let .missingToken(file, token, location):
            return "tokenizer '\(file)': token '\(token)' named in \(location) is not in the vocabulary. Hint: the vocabulary and the rest of the file do not belong together."
        case let .unknownCharacter(character, offset, file):
            let scalars = character.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }.joined(separator: " ")
            return "character '\(character)' (\(scalars)) at offset \(offset) is not in the char vocabulary '\(file)', which has no unknown character. Hint: choose an unknown character that is in the vocabulary (e.g. ' ')."
        case let .notFound(near, tried):
            return "no tokenizer found beside '\(near)' (tried \(tried.joined(separator: ", "))). Hint: pass --tokenizer PATH."
        }
    }
}
