// TextCorpus: plain text for language-model training — one UTF-8 file, or a folder of .txt
// files read in sorted name order — and a deterministic train/validation split. It does not
// tokenize (see Tokenizers/) and does not stream: corpora for spikescope fit in memory.

import Foundation

/// An error reading a text corpus.
public enum CorpusError: Error, Equatable, CustomStringConvertible, Sendable {
    case unreadable(file: String, reason: String)
    /// The bytes at `offset` are not valid UTF-8.
    case invalidUTF8(file: String, offset: Int)
    /// A folder without any .txt file, or an empty file.
    case empty(path: String)
    case badFraction(Double)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "cannot read corpus '\(file)': \(reason). Hint: check the path and permissions."
        case let .invalidUTF8(file, offset):
            return "text file '\(file)' is not valid UTF-8 at byte offset \(offset). Hint: convert it, e.g. iconv -f latin1 -t utf-8."
        case let .empty(path):
            return "corpus '\(path)' has no text (an empty file, or a folder without .txt files). Hint: point at a UTF-8 .txt file or a folder of them."
        case let .badFraction(f):
            return "validation fraction \(f) is outside [0, 1). Hint: use e.g. 0.1."
        }
    }
}

/// A training text, with the files it came from.
public struct TextCorpus: Sendable {
    public let text: String
    public let files: [String]

    public init(text: String, files: [String] = []) {
        self.text = text
        self.files = files
    }

    /// Loads a UTF-8 file, or every `.txt` file of a folder (not recursive) in sorted order,
    /// joined with "\n" where a file does not already end with one.
    /// - Throws: `CorpusError` (invalid UTF-8 names the file and byte offset).
    public static func load(path: String) throws -> TextCorpus {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CorpusError.unreadable(file: path, reason: "no such file or folder")
        }
        var files = [path]
        if isDir.boolValue {
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
                throw CorpusError.unreadable(file: path, reason: error.localizedDescription)
            }
            files = names.filter { $0.lowercased().hasSuffix(".txt") }.sorted()
                .map { URL(fileURLWithPath: path).appendingPathComponent($0).path }
        }
        var text = ""
        for f in files {
            let part = try readUTF8(file: f)
            if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
            text += part
        }
        if text.isEmpty { throw CorpusError.empty(path: path) }
        return TextCorpus(text: text, files: files)
    }

    /// Reads a whole file as UTF-8 (a leading BOM is dropped).
    /// - Throws: `CorpusError.invalidUTF8` with the offset of the first bad byte.
    public static func readUTF8(file: String) throws -> String {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw CorpusError.unreadable(file: file, reason: error.localizedDescription)
        }
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if let bad = firstInvalidUTF8(bytes) {
            throw CorpusError.invalidUTF8(file: file, offset: bad + (data.count - bytes.count))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Splits off the last `validFraction` of the text (counted in Unicode scalars, cut at a
    /// character boundary) as validation: the same corpus always splits the same way.
    ///   cut = floor(scalars × (1 − validFraction))
    public func split(validFraction: Double) throws -> (train: String, valid: String) {
        guard validFraction >= 0 && validFraction < 1 else { throw CorpusError.badFraction(validFraction) }
        let scalars = text.unicodeScalars
        let cut = Int((Double(scalars.count) * (1 - validFraction)).rounded(.down))
        var index = scalars.index(scalars.startIndex, offsetBy: cut)
        // Do not cut inside a grapheme cluster (e.g. a flag emoji): move to its start.
        index = text.rangeOfComposedCharacterSequence(at: index).lowerBound
        return (String(text[..<index]), String(text[index...]))
    }
}

/// Offset of the first byte that does not belong to a valid UTF-8 sequence, or nil.
/// Valid: 00-7F | C2-DF 80-BF | E0 A0-BF 80-BF | E1-EC,EE-EF 2×80-BF | ED 80-9F 80-BF
///      | F0 90-BF 2×80-BF | F1-F3 3×80-BF | F4 80-8F 2×80-BF   (RFC 3629, table 3-7 of Unicode)
func firstInvalidUTF8(_ b: [UInt8]) -> Int? {
    var i = 0
    let n = b.count
    func cont(_ j: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool { j < n && b[j] >= lo && b[j] <= hi }
    while i < n {
        let c = b[i]
        if c < 0x80 { i += 1; continue }
        switch c {
        case 0xC2...0xDF:
            guard cont(i + 1) else { return i }
            i += 2
        case 0xE0:
            guard cont(i + 1, 0xA0), cont(i + 2) else { return i }
            i += 3
        case 0xE1...0xEC, 0xEE...0xEF:
            guard cont(i + 1), cont(i + 2) else { return i }
            i += 3
        case 0xED:
            guard cont(i + 1, 0x80, 0x9F), cont(i + 2) else { return i }
            i += 3
        case 0xF0:
            guard cont(i + 1, 0x90), cont(i + 2), cont(i + 3) else { return i }
            i += 4
        case 0xF1...0xF3:
            guard cont(i + 1), cont(i + 2), cont(i + 3) else { return i }
            i += 4
        case 0xF4:
            guard cont(i + 1, 0x80, 0x8F), cont(i + 2), cont(i + 3) else { return i }
            i += 4
        default:
            return i
        }
    }
    return nil
}
