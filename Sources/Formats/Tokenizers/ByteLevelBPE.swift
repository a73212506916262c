// Byte-level BPE: the GPT-2 / GPT-NeoX "20B" tokenizer family (SpikeGPT-216M). This file holds
// the three pieces specific to it: the byte-to-unicode alphabet, the GPT-2 pre-tokenizer split,
// and the BPE merge model. Loading the JSON and the shared pipeline live in HFTokenizer.swift.
// It does not implement BPE dropout, byte_fallback or end-of-word suffixes (refused at load).
//
// Legend: a "word" is one piece of the GPT-2 split; its UTF-8 bytes become one printable
// character each (the byte alphabet), and BPE merges adjacent symbols by merge rank.

/// GPT-2's reversible byte alphabet: bytes 33-126, 161-172, 174-255 stand for themselves, the
/// other 68 bytes get U+0100, U+0101, … in byte order (so the space 0x20 is 'Ġ' U+0120).
enum ByteAlphabet {
    static let byteToChar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    static let charToByte: [Unicode.Scalar: UInt8] = {
        var d: [Unicode.Scalar: UInt8] = [:]
        for (b, c) in byteToChar.enumerated() { d[c] = UInt8(b) }
        return d
    }()

    /// The bytes a byte-level token stands for; a token with characters outside the alphabet
    /// (an added token such as a run of spaces) stands for its own UTF-8 bytes.
    static func bytes(of token: String) -> [UInt8] {
        var out: [UInt8] = []
        for c in token.unicodeScalars {
            guard let b = charToByte[c] else { return Array(token.utf8) }
            out.append(b)
        }
        return out
    }
}

/// The GPT-2 split, by hand (no regex engine), equivalent to
///   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
/// At each position the first alternative that matches wins, as in a backtracking regex.
/// Returns ranges of scalars covering the whole input.
func gpt2Split(_ s: [Unicode.Scalar]) -> [Range<Int>] {
    enum Kind { case letter, number, space, other }
    func kind(_ c: Unicode.Scalar) -> Kind {
        if c.properties.isWhitespace { return .space }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }
    let kinds = s.map(kind)
    let n = s.count
    var pieces: [Range<Int>] = []
    var i = 0
    func run(from j: Int, _ k: Kind) -> Int {
        var e = j
        while e < n && kinds[e] == k { e += 1 }
        return e
    }
    while i < n {
        // 's 't 're 've 'm 'll 'd (case-sensitive, as in GPT-2)
        if s[i] == "'" && i + 1 < n {
            let a = s[i + 1]
            if a == "s" || a == "t" || a == "m" || a == "d" {
                pieces.append(i..<i + 2); i += 2; continue
            }
            if i + 2 < n {
                let b = s[i + 2]
                if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") {
                    pieces.append(i..<i + 3); i += 3; continue
                }
            }
        }
        // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+': an optional single ' ' then a run.
        if s[i] == " " && i + 1 < n && kinds[i + 1] != .space {
            let e = run(from: i + 1, kinds[i + 1])
            pieces.append(i..<e); i = e; continue
        }
        if kinds[i] != .space {
            let e = run(from: i, kinds[i])
            pieces.append(i..<e); i = e; continue
        }
        // '\s+(?!\S)' then '\s+': a whitespace run; if a non-space follows, leave its last
        // whitespace character to start the next piece (unless the run is a single character).
        let e = run(from: i, .space)
        if e < n && e - i > 1 {
            pieces.append(i..<e - 1); i = e - 1
        } else {
            pieces.append(i..<e); i = e
        }
    }
    return pieces
}

/// The BPE merge model: a vocabulary and ranked merges over byte-alphabet symbols.
struct BPEModel: Sendable {
    var vocab: [String: Int]
    /// (left id, right id) packed as left << 32 | right  →  (rank, merged id)
    var merges: [UInt64: (rank: Int, id: Int)]
    var unkId: Int?
    var fuseUnk: Bool
    var ignoreMerges: Bool

    static func key(_ a: Int, _ b: Int) -> UInt64 { UInt64(UInt32(truncatingIfNeeded: a)) << 32 | UInt64(UInt32(truncatingIfNeeded: b)) }

    /// Encodes one word given as symbols (one string per byte-alphabet character).
    /// Returns (id, [first, last+1) symbol range) per token.
    ///   repeat: find the adjacent pair with the lowest merge rank (leftmost on ties); merge it.
    func encode(symbols: [String]) -> [(id: Int, range: Range<Int>)] {
        if ignoreMerges, let id = vocab[symbols.joined()] { return [(id, 0..<symbols.count)] }
        var parts: [(id: Int, range: Range<Int>)] = []
        parts.reserveCapacity(symbols.count)
        for (i, sym) in symbols.enumerated() {
            if let id = vocab[sym] {
                parts.append((id, i..<i + 1))
            } else if let unk = unkId {
                if fuseUnk, let last = parts.last, last.id == unk, last.range.upperBound == i {
                    parts[parts.count - 1].range = last.range.lowerBound..<i + 1
                } else {
                    parts.append((unk, i..<i + 1))
                }
            } // no unk token: the symbol is dropped, as HF does
        }
        while parts.count > 1 {
            var best = -1
            var bestRank = Int.max
            var bestId = 0
            for j in 0..<parts.count - 1 {
                if let m = merges[BPEModel.key(parts[j].id, parts[j + 1].id)], m.rank < bestRank {
                    best = j; bestRank = m.rank; bestId = m.id
                }
            }
            if best < 0 { break }
            parts[best] = (bestId, parts[best].range.lowerBound..<parts[best + 1].range.upperBound)
            parts.remove(at: best + 1)
        }
        return parts
    }
}
