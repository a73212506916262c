// Normalizer: the `normalizer` section of a Hugging Face tokenizer.json (NFC, NFD, NFKC, NFKD,
// Lowercase, BertNormalizer, Sequence). It rewrites text before splitting and keeps the
// alignment to the original (see AlignedText). Other normalizer types are refused at load.

import Foundation

indirect enum Normalizer: Sendable {
    case nfc, nfd, nfkc, nfkd, lowercase
    case bert(BertNormalizer)
    case sequence([Normalizer])

    func apply(_ t: AlignedText) -> AlignedText {
        switch self {
        case .nfc: return t.mapClusters { $0.precomposedStringWithCanonicalMapping }
        case .nfd: return t.mapClusters { $0.decomposedStringWithCanonicalMapping }
        case .nfkc: return t.mapClusters { $0.precomposedStringWithCompatibilityMapping }
        case .nfkd: return t.mapClusters { $0.decomposedStringWithCompatibilityMapping }
        case .lowercase: return t.mapScalars(lowercaseScalar)
        case .bert(let b): return b.apply(t)
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
