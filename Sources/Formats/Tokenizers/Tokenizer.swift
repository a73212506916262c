// Tokenizer: the one protocol every tokenizer in spikescope answers, and the Encoding it returns.
// It is the contract between text and token ids; it is not a trainer (we only load tokenizers
// that others built) and it does no truncation or padding (callers cut to their context length).
//
// Offsets follow what Hugging Face `tokenizers` reports to Python: [start, end) in Unicode
// scalars (Python `str` code points) of the text the token came from. Tokens of the second text
// of a pair carry offsets into that second text; special tokens added by a post-processor carry
// (0, 0).

/// The result of encoding one text or one pair of texts.
public struct Encoding: Equatable, Sendable {
    /// Token ids, in order.
    public var ids: [Int]
    /// The vocabulary string of each id (byte-level tokens are in the GPT-2 byte alphabet, e.g. "Ġthe").
    public var tokens: [String]
    /// 0 for the first text (and the specials around it), 1 for the second text of a pair.
    public var typeIds: [Int]
    /// [start, end) of each token in Unicode scalars of its source text.
    public var offsets: [Range<Int>]

    public init(ids: [Int] = [], tokens: [String] = [], typeIds: [Int] = [], offsets: [Range<Int>] = []) {
        self.ids = ids
        self.tokens = tokens
        self.typeIds = typeIds
        self.offsets = offsets
    }

    /// Number of tokens.
    public var count: Int { ids.count }

    mutating func append(id: Int, token: String, typeId: Int, offset: Range<Int>) {
        ids.append(id)
        tokens.append(token)
        typeIds.append(typeId)
        offsets.append(offset)
    }

    mutating func append(contentsOf other: Encoding) {
        ids += other.ids
        tokens += other.tokens
        typeIds += other.typeIds
        offsets += other.offsets
    }
}

/// Text to token ids and back.
public protocol Tokenizer: Sendable {
    /// Encodes `text` (and `pair`, the second text of a sentence pair).
    /// - Parameter addSpecialTokens: apply the post-processor (e.g. BERT's `[CLS] A [SEP] B [SEP]`).
    /// - Throws: `TokenizerError` when the input cannot be encoded (e.g. a character outside a
    ///   char vocabulary that has no unknown character).
    /// - Cost: linear in the text for WordPiece and char vocabularies; byte-level BPE is
    ///   quadratic in the length of each pre-tokenized word (words are short).
    func encode(_ text: String, pair: String?, addSpecialTokens: Bool) throws -> Encoding
    /// Turns ids back into text. Ids outside the vocabulary are skipped.
    func decode(_ ids: [Int]) -> String
    /// Number of ids (largest id + 1).
    var vocabSize: Int { get }
    /// The id of a token string, if it is in the vocabulary.
    func id(of token: String) -> Int?
    /// The token string of an id.
    func token(of id: Int) -> String?
    var unkId: Int? { get }
    var clsId: Int? { get }
    var sepId: Int? { get }
    var padId: Int? { get }
    var eosId: Int? { get }
}

extension Tokenizer {
    /// Encodes with special tokens and no pair.
    public func encode(_ text: String, pair: String? = nil) throws -> Encoding {
        try encode(text, pair: pair, addSpecialTokens: true)
    }
    public func encode(_ text: String, addSpecialTokens: Bool) throws -> Encoding {
        try encode(text, pair: nil, addSpecialTokens: addSpecialTokens)
    }
}
