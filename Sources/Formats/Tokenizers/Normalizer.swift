// Normalizer: the `normalizer` section of a Hugging Face tokenizer.json (NFC, NFD, NFKC, NFKD,
// Lowercase, BertNormalizer, Prepend and Replace — Llama-2's "▁" for spaces — and Sequence). It
// rewrites text before splitting and keeps the alignment to the original (see AlignedText).
// Other normalizer types (Precompiled, Strip, StripAccents, NMT, …) are refused at load.

import Foundation

indirect enum Normalizer: Sendable {
    case nfc, nfd, nfkc, nfkd, lowercase
    case bert(BertNormalizer)
    /// `prefix` in front of a non-empty text, aligned to its first character.
    case prepend(String)
    /// Every match of `pattern` becomes `content`, aligned to the characters it replaces.
    case replace(pattern: TokenRegex, content: String)
    case sequence([Normalizer])

    func apply(_ t: AlignedText) -> AlignedText {
        switch self {
        case .nfc: return t.mapClusters { $0.precomposedStringWithCanonicalMapping }
        case .nfd: return t.mapClusters { $0.decomposedStringWithCanonicalMapping }
        case .nfkc: return t.mapClusters { $0.precomposedStringWithCompatibilityMapping }
        case .nfkd: return t.mapClusters { $0.decomposedStringWithCompatibilityMapping }
        case .lowercase: return t.mapScalars(lowercaseScalar)
        case .bert(let b): return b.apply(t)
        case .prepend(let prefix):
            guard t.count > 0 else { return t }
            let p = Array(prefix.unicodeScalars)
            return AlignedText(scalars: p + t.scalars, origin: Array(repeating: t.origin[0], count: p.count) + t.origin)
        case let .replace(pattern, content):
            return replaceMatches(t, pattern, Array(content.unicodeScalars))
        case .sequence(let list): return list.reduce(t) { $1.apply($0) }
        }
    }
}

/// Full Unicode lowercase mapping of one scalar, without context (like Rust's `char::to_lowercase`,
/// which HF uses: 'Σ' always becomes 'σ', never the final form 'ς').
func lowercaseScalar(_ c: Unicode.Scalar) -> [Unicode.Scalar] {
    if c.isASCII {
        if c.value >= 65 && c.value <= 90 { return [Unicode.Scalar(c.value + 32)!] }
        return [c]
    }
    return Array(c.properties.lowercaseMapping.unicodeScalars)
}

/// HF's NormalizedString::replace: each match is replaced by `content`; the new characters take
/// the original span of what they replace (one for one when a space becomes "▁"). An empty match
/// inserts `content` aligned to the character after it.
private func replaceMatches(_ t: AlignedText, _ pattern: TokenRegex, _ content: [Unicode.Scalar]) -> AlignedText {
    let matches = pattern.matches(in: t.scalars)
    guard !matches.isEmpty else { return t }
    var s: [Unicode.Scalar] = []
    var o: [Range<Int>] = []
    s.reserveCapacity(t.count)
    o.reserveCapacity(t.count)
    var last = 0
    for m in matches {
        s.append(contentsOf: t.scalars[last..<m.lowerBound])
        o.append(contentsOf: t.origin[last..<m.lowerBound])
        let span: Range<Int>
        if m.isEmpty {
            span = m.lowerBound < t.count ? t.origin[m.lowerBound] : t.span(m)
        } else if m.count == content.count {
            // One for one: each new character keeps the span of the one it replaces.
            for (k, c) in content.enumerated() { s.append(c); o.append(t.origin[m.lowerBound + k]) }
            last = m.upperBound
            continue
        } else {
            span = t.span(m)
        }
        for c in content { s.append(c); o.append(span) }
        last = m.upperBound
    }
    s.append(contentsOf: t.scalars[last...])
    o.append(contentsOf: t.origin[last...])
    return AlignedText(scalars: s, origin: o)
}
