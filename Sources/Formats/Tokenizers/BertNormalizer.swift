// BertNormalizer and BertPreTokenizer: BERT's text clean-up and word splitting, as Hugging Face
// `tokenizers` implements them for tokenizer.json files and as Google's BERT did for vocab.txt
// models. Not the WordPiece model itself (WordPiece.swift).
//
// Normalizer steps, in this order (HF normalizers/bert.rs):
//   1. clean_text: drop U+0000, U+FFFD and control characters (categories Cc, Cf, Cn, Co, except
//      \t \n \r); map every whitespace character to ' '.
//   2. handle_chinese_chars: put a space before and after each CJK ideograph (ranges below).
//   3. strip_accents (defaults to the value of lowercase): NFD, then drop nonspacing marks (Mn).
//   4. lowercase: per-scalar full lowercase mapping.
// Pre-tokenizer: split on whitespace (dropped) and make every punctuation character its own word.

struct BertNormalizer: Sendable {
    var cleanText = true
    var handleChineseChars = true
    var stripAccents: Bool? = nil
    var lowercase = true

    func apply(_ t: AlignedText) -> AlignedText {
        var t = t
        if cleanText {
            t = t.mapScalars { c in
                if c.value == 0 || c.value == 0xFFFD || bertIsControl(c) { return [] }
                if bertIsWhitespace(c) { return [" "] }
                return [c]
            }
        }
        if handleChineseChars {
            t = t.mapScalars { c in isChineseChar(c) ? [" ", c, " "] : [c] }
        }
        if stripAccents ?? lowercase {
            t = t.mapClusters { $0.decomposedStringWithCanonicalMapping }
            t = t.mapScalars { $0.properties.generalCategory == .nonspacingMark ? [] : [$0] }
        }
        if lowercase {
            t = t.mapScalars(lowercaseScalar)
        }
        return t
    }
}

/// BERT whitespace: ' ', \t, \n, \r and every White_Space character.
func bertIsWhitespace(_ c: Unicode.Scalar) -> Bool {
    c == " " || c == "\t" || c == "\n" || c == "\r" || c.properties.isWhitespace
}

/// BERT control: categories Cc, Cf, Cn (unassigned), Co (private use), but not \t \n \r.
func bertIsControl(_ c: Unicode.Scalar) -> Bool {
    if c == "\t" || c == "\n" || c == "\r" { return false }
    switch c.properties.generalCategory {
    case .control, .format, .unassigned, .privateUse: return true
    default: return false
    }
}

/// BERT punctuation: every ASCII symbol !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~ plus Unicode categories
/// Pc Pd Ps Pe Pi Pf Po.
func bertIsPunctuation(_ c: Unicode.Scalar) -> Bool {
    let v = c.value
    if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
    switch c.properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
         .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
    default: return false
    }
}

/// CJK Unified Ideographs blocks, as listed in Google BERT's tokenization.py `_is_chinese_char`
/// (Hangul, Hiragana and Katakana are deliberately not included there).
func isChineseChar(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
         0x2B740...0x2B81F, 0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
        return true
    default:
        return false
    }
}

/// Splits normalized text into words: whitespace separates and is dropped, each punctuation
/// character is a word of its own. Returns ranges of normalized scalars.
func bertPreTokenize(_ t: AlignedText) -> [Range<Int>] {
    var words: [Range<Int>] = []
    var start: Int? = nil
    for (i, c) in t.scalars.enumerated() {
        if c.properties.isWhitespace || c == " " || c == "\t" || c == "\n" || c == "\r" {
            if let s = start { words.append(s..<i); start = nil }
        } else if bertIsPunctuation(c) {
            if let s = start { words.append(s..<i); start = nil }
            words.append(i..<i + 1)
        } else if start == nil {
            start = i
        }
    }
    if let s = start { words.append(s..<t.count) }
    return words
}
