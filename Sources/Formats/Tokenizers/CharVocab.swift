// CharVocab: a character-level vocabulary, one id per Unicode scalar, as SpikeGPT's char models
// were released with: a JSON object {"0": "\n", "1": " ", …} mapping id strings to single
// characters, written by Python with encoding="utf-16" (so UTF-16 with a BOM). UTF-8 and
// BOM-less UTF-16 (detected from the zero bytes) are accepted too. Characters not in the
// vocabulary become the unknown character's id (SpikeGPT's `stoi.get(c, UNKNOWN_CHAR)`), or an
// error when there is none. Not a subword tokenizer.

import Foundation

public struct CharVocab: Tokenizer {
    public let file: String
    /// id → character (one Unicode scalar).
    public let characters: [Int: Unicode.Scalar]
    public let vocabSize: Int
    let ids: [Unicode.Scalar: Int]
    /// Id used for characters outside the vocabulary; nil = such characters are an error.
    public let unknownId: Int?

    /// Loads a char vocabulary JSON.
    /// - Parameter unknownCharacter: the character whose id stands for unknown characters
    ///   (SpikeGPT's run.py uses ' ' or '\u{E083}'); if it is not in the vocabulary, unknown
    ///   characters are an error at encode time.
    /// - Throws: `TokenizerError` for unreadable files, bad encodings, non-object JSON, keys that
    ///   are not integers or values that are not exactly one character.
    public static func load(file path: String, unknownCharacter: Character? = " ") throws -> CharVocab {
        let data: Data
        do { data = try RegularFile.read(path, maxBytes: 64 << 20, what: "a char vocabulary") } catch let e as FormatError {
            throw TokenizerError.unreadable(file: path, reason: e.ioReason)
        }
        return try CharVocab(data: data, file: path, unknownCharacter: unknownCharacter)
    }

    public init(data: Data, file: String, unknownCharacter: Character? = " ") throws {
        self.file = file
        guard let text = decodeText(data) else {
            throw TokenizerError.unknownFormat(file: file, reason: "the char vocabulary is neither UTF-8 nor UTF-16")
        }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: Data(text.utf8), options: []) } catch {
            throw TokenizerError.invalidJSON(file: file, reason: jsonReason(error))
        }
        guard let table = root as? [String: Any] else {
            throw TokenizerError.badField(file: file, path: "(root)", expected: "an object mapping ids to characters")
        }
        var pairs: [(Int, Unicode.Scalar)] = []
        for (k, v) in table {
            guard let id = Int(k), id >= 0, id < 10_000_000 else {
                throw TokenizerError.badField(file: file, path: "\"\(k)\"", expected: "a key that is a non-negative integer id")
            }
            guard let s = v as? String, s.unicodeScalars.count == 1, let c = s.unicodeScalars.first else {
                throw TokenizerError.badField(file: file, path: "\"\(k)\"", expected: "a single character")
            }
            pairs.append((id, c))
        }
        var chars: [Int: Unicode.Scalar] = [:]
        var ids: [Unicode.Scalar: Int] = [:]
        // SpikeGPT builds stoi = {v: int(k)}: when a character repeats, the key iterated last wins;
        // Python keeps file order, so sort by id to be deterministic (the released file has no repeats).
        for (id, c) in pairs.sorted(by: { $0.0 < $1.0 }) { chars[id] = c; ids[c] = id }
        self.characters = chars
        self.vocabSize = (chars.keys.max() ?? -1) + 1
        self.ids = ids
        if let u = unknownCharacter, u.unicodeScalars.count == 1, let id = ids[u.unicodeScalars.first!] {
            self.unknownId = id
        } else {
            self.unknownId = nil
        }
    }

    /// A vocabulary of the given characters, ids in order; characters outside it are errors.
    public init(characters: [String], file: String = "(built)") {
        self.file = file
        var chars: [Int: Unicode.Scalar] = [:], ids: [Unicode.Scalar: Int] = [:]
        for (i, c) in characters.enumerated() {
            guard c.unicodeScalars.count == 1, let s = c.unicodeScalars.first else { continue }
            chars[i] = s
            if ids[s] == nil { ids[s] = i }
        }
        self.characters = chars
        self.vocabSize = characters.count
        self.ids = ids
        self.unknownId = nil
    }

    /// The vocabulary of `text`: its distinct scalars, sorted (as the trainer builds it).
    public init(building text: String) {
        self.init(characters: Set(text.unicodeScalars.map { String($0) }).sorted())
    }

    /// Characters by id (0..<vocabSize; "" where an id has none).
    public var chars: [String] { (0..<vocabSize).map { characters[$0].map { String($0) } ?? "" } }
    public var count: Int { vocabSize }

    /// The ids of `text`, strictly: a character outside the vocabulary is an error naming it and
    /// its offset in `source` (even when an unknown character is set; training must not guess).
    public func ids(_ text: String, source: String = "text") throws -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(text.utf8.count)
        for (i, s) in text.unicodeScalars.enumerated() {
            guard let id = ids[s] else { throw TokenizerError.unknownCharacter(character: String(s), offset: i, file: source) }
            out.append(id)
        }
        return out
    }

    /// SpikeGPT's layout: a JSON object id → character, keys sorted (UTF-8).
    public func jsonData() throws -> Data {
        var obj: [String: String] = [:]
        for (i, c) in characters { obj[String(i)] = String(c) }
        return try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
    }

    public func id(of token: String) -> Int? {
        guard token.unicodeScalars.count == 1 else { return nil }
        return ids[token.unicodeScalars.first!]
    }
    public func token(of id: Int) -> String? {
        guard let c = characters[id] else { return nil }
        return String(c)
    }
    public var unkId: Int? { unknownId }
    public var clsId: Int? { nil }
    public var sepId: Int? { nil }
    public var padId: Int? { nil }
    public var eosId: Int? { nil }

    /// One id per Unicode scalar; a pair is simply appended (type id 1). No special tokens exist.
    public func encode(_ text: String, pair: String?, addSpecialTokens: Bool) throws -> Encoding {
        var out = Encoding()
        for (typeId, t) in [(0, Optional(text)), (1, pair)] {
            guard let t else { continue }
            for (i, c) in t.unicodeScalars.enumerated() {
                if let id = ids[c] {
                    out.append(id: id, token: String(c), typeId: typeId, offset: i..<i + 1)
                } else if let u = unknownId {
                    out.append(id: u, token: token(of: u) ?? "", typeId: typeId, offset: i..<i + 1)
                } else {
                    throw TokenizerError.unknownCharacter(character: String(c), offset: i, file: file)
                }
            }
        }
        return out
    }

    public func decode(_ ids: [Int]) -> String {
        var s = String.UnicodeScalarView()
        for id in ids { if let t = token(of: id) { s.append(contentsOf: t.unicodeScalars) } }
        return String(s)
    }
}

/// Text from bytes: UTF-8 (with or without BOM), UTF-16 with a BOM, or BOM-less UTF-16 when
/// every other byte of the first characters is zero (ASCII-heavy JSON).
func decodeText(_ data: Data) -> String? {
    let b = [UInt8](data)
    if b.count >= 2 && b[0] == 0xFF && b[1] == 0xFE { return String(data: data.dropFirst(2), encoding: .utf16LittleEndian) }
    if b.count >= 2 && b[0] == 0xFE && b[1] == 0xFF { return String(data: data.dropFirst(2), encoding: .utf16BigEndian) }
    if b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF { return String(data: data.dropFirst(3), encoding: .utf8) }
    if b.count >= 4 && b.count % 2 == 0 {
        if b[0] != 0 && b[1] == 0 && b[3] == 0 { return String(data: data, encoding: .utf16LittleEndian) }
        if b[0] == 0 && b[1] != 0 && b[2] == 0 { return String(data: data, encoding: .utf16BigEndian) }
    }
    return String(data: data, encoding: .utf8)
}
