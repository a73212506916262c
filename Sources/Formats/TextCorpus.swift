// TextCorpus: plain text for language-model training — one UTF-8 file, or a folder of .txt
// files read in sorted name order — and a deterministic train/validation split. `load` holds the
// text; `scan` streams scalars from memory-mapped files for corpora too big to hold as a String.
// It does not tokenize (see Tokenizers/).

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
        let files = try files(at: path)
        var text = ""
        for f in files {
            let part = try readUTF8(file: f)
            if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
            text += part
        }
        if text.isEmpty { throw CorpusError.empty(path: path) }
        return TextCorpus(text: text, files: files)
    }

    /// The files a corpus path stands for: the file itself, or a folder's `.txt` files, sorted.
    static func files(at path: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CorpusError.unreadable(file: path, reason: "no such file or folder")
        }
        guard isDir.boolValue else { return [path] }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw CorpusError.unreadable(file: path, reason: RegularFile.reason(Int32((error as NSError).code)))
        }
        return names.filter { $0.lowercased().hasSuffix(".txt") }.sorted()
            .map { URL(fileURLWithPath: path).appendingPathComponent($0).path }
    }

    /// Streams the corpus at `path` scalar by scalar, joined exactly as `load` joins it (a "\n"
    /// between files when the previous one does not end in one), without ever holding the text:
    /// each file is memory-mapped and validated as UTF-8 first. For corpora of hundreds of MB.
    /// - Parameter body: gets each scalar, the file it is in and its byte offset there (the
    ///   joining "\n" reports the previous file's size).
    /// - Returns: the number of scalars.
    /// - Throws: `CorpusError` (unreadable, invalid UTF-8 with the offset, empty); `body`'s errors.
    @discardableResult
    public static func scan(path: String, _ body: (UInt32, String, Int) throws -> Void) throws -> Int {
        var count = 0
        var last: UInt32? = nil
        for file in try files(at: path) {
            let map: MappedFile
            do { map = try MappedFile(path: file) } catch let e as FormatError { throw CorpusError.unreadable(file: file, reason: e.ioReason) }
            let b = map.all
            let bom = (b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) ? 3 : 0
            let bytes = UnsafeRawBufferPointer(rebasing: b[bom...])
            if let bad = firstInvalidUTF8(bytes) { throw CorpusError.invalidUTF8(file: file, offset: bad + bom) }
            if bytes.isEmpty { continue }
            if let l = last, l != 0x0A { try body(0x0A, file, 0); count += 1 }
            var i = 0
            let n = bytes.count
            while i < n {
                let c = UInt32(bytes[i])
                var s: UInt32, len: Int
                if c < 0x80 { s = c; len = 1 }
                else if c < 0xE0 { s = c & 0x1F; len = 2 }
                else if c < 0xF0 { s = c & 0x0F; len = 3 }
                else { s = c & 0x07; len = 4 }
                for k in 1..<len { s = s << 6 | (UInt32(bytes[i + k]) & 0x3F) }  // validated above
                try body(s, file, i + bom)
                count += 1
                last = s
                i += len
            }
        }
        if count == 0 { throw CorpusError.empty(path: path) }
        return count
    }

    /// Reads a whole file as UTF-8 (a leading BOM is dropped).
    /// - Throws: `CorpusError.invalidUTF8` with the offset of the first bad byte.
    public static func readUTF8(file: String) throws -> String {
        let data: Data
        do { data = try RegularFile.read(file, maxBytes: 4 << 30, what: "a text corpus") } catch let e as FormatError {
            throw CorpusError.unreadable(file: file, reason: e.ioReason)
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
func firstInvalidUTF8<C: RandomAccessCollection>(_ b: C) -> Int? where C.Element == UInt8, C.Index == Int {
    var i = 0
    let n = b.count
    let base = b.startIndex
    func cont(_ j: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool { j < n && b[base + j] >= lo && b[base + j] <= hi }
    while i < n {
        let c = b[base + i]
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
