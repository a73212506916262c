// TokenDecoder: the `decoder` section of a Hugging Face tokenizer.json, which turns tokens back
// into text: ByteLevel (GPT-2 byte alphabet), WordPiece ("##" joins), and the SentencePiece-style
// chain of Llama/Mistral (Replace "▁" → " ", ByteFallback "<0xNN>" → bytes, Fuse, Strip) or
// Metaspace, and Sequence of these. Each step maps a list of token strings to a list of strings
// (HF's decode_chain); the results are concatenated. It does not undo normalization (lowercasing,
// NFC), and it is for display: an unknown decoder type degrades to joining tokens with spaces
// instead of refusing the tokenizer (see TokenizerJSON.swift).

import Foundation

indirect enum TokenDecoder: Sendable {
    /// Tokens joined with spaces (HF's behaviour when the file has no decoder).
    case none
    case byteLevel
    case wordPiece(prefix: String, cleanup: Bool)
    /// Every match of `pattern` in each token becomes `content`.
    case replace(pattern: TokenRegex, content: String)
    /// Runs of "<0xNN>" tokens become the string their bytes spell ("�" per byte if not UTF-8).
    case byteFallback
    /// All tokens joined into one.
    case fuse
    /// Up to `start` leading and `stop` trailing `content` characters removed from each token.
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    /// "▁" becomes " ", except in the first token (where it is dropped) unless the scheme is never.
    case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme)
    case sequence([TokenDecoder])

    /// The decoded text of `tokens` (special tokens already removed by the caller).
    func decode(_ tokens: [String]) -> String {
        if case .none = self { return tokens.joined(separator: " ") }
        return chain(tokens).joined()
    }

    /// One step of decoding (HF's decode_chain).
    func chain(_ tokens: [String]) -> [String] {
        switch self {
        case .none:
            return tokens
        case .sequence(let list):
            return list.reduce(tokens) { $1.chain($0) }
        case .byteLevel:
            let bytes = tokens.flatMap { ByteAlphabet.bytes(of: $0) }
            return [String(decoding: bytes, as: UTF8.self)]
        case let .wordPiece(prefix, cleanup):
            return tokens.enumerated().map { i, t in
                var piece = t
                if i > 0 {
                    // By scalars: a combining mark after "##" would join the last '#' into one
                    // Character and defeat String.hasPrefix.
                    if piece.unicodeScalars.starts(with: prefix.unicodeScalars) {
                        piece = String(String.UnicodeScalarView(piece.unicodeScalars.dropFirst(prefix.unicodeScalars.count)))
                    } else {
                        piece = " " + piece
                    }
                }
                return cleanup ? cleanUpSpaces(piece) : piece
            }
        case let .replace(pattern, content):
            let with = Array(content.unicodeScalars)
            return tokens.map { token in
                let s = Array(token.unicodeScalars)
                var out = String.UnicodeScalarView()
                for seg in pattern.segments(of: s) {
                    if seg.isMatch { out.append(contentsOf: with) } else { out.append(contentsOf: s[seg.range]) }
                }
                return String(out)
            }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                // Valid UTF-8 exactly when decoding replaced nothing (String(validating:) needs macOS 15).
                let s = String(decoding: pending, as: UTF8.self)
                if s.utf8.elementsEqual(pending) {
                    out.append(s)
                } else {
                    out.append(contentsOf: repeatElement("\u{FFFD}", count: pending.count))
                }
                pending.removeAll()
            }
            for t in tokens {
                if let b = byteFallbackValue(t) {
                    pending.append(b)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case let .strip(content, start, stop):
            return tokens.map { token in
                let s = Array(token.unicodeScalars)
                var lo = 0
                while lo < min(start, s.count) && s[lo] == content { lo += 1 }
                var hi = s.count
                while s.count - hi < stop && hi > lo && s[hi - 1] == content { hi -= 1 }
                var view = String.UnicodeScalarView()
                view.append(contentsOf: s[lo..<hi])
                return String(view)
            }
        case let .metaspace(replacement, scheme):
            return tokens.enumerated().map { i, token in
                var view = String.UnicodeScalarView()
                for c in token.unicodeScalars {
                    if c == replacement {
                        if i == 0 && scheme != .never { continue }
                        view.append(" ")
                    } else {
                        view.append(c)
                    }
                }
                return String(view)
            }
        }
    }
}

/// The byte a "<0xNN>" token stands for. Like HF: exactly 6 bytes, "<0x" … ">", and the two
/// characters between parsed as a hexadecimal u8 (Rust's from_str_radix, which also takes "+F").
func byteFallbackValue(_ token: String) -> UInt8? {
    let u = Array(token.utf8)
    guard u.count == 6, u[0] == UInt8(ascii: "<"), u[1] == UInt8(ascii: "0"), u[2] == UInt8(ascii: "x"),
          u[5] == UInt8(ascii: ">") else { return nil }
    func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
    if u[3] == UInt8(ascii: "+") { return hex(u[4]) }
    guard let a = hex(u[3]), let b = hex(u[4]) else { return nil }
    return a << 4 | b
}

/// HF's WordPiece decoder clean-up, applied to each token with its leading space: the spaces
/// BERT's splitting put before punctuation and English contractions are removed.
private func cleanUpSpaces(_ s: String) -> String {
    var s = s
    for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                   (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
        s = s.replacingOccurrences(of: a, with: b)
    }
    return s
}
