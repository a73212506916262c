// BPE: the byte-to-unicode alphabet and GPT-2 split of byte-level BPE (GPT-2, GPT-NeoX "20B" of
// SpikeGPT-216M, Llama-3, Qwen2, SmolLM), and the BPE merge model shared with SentencePiece-style
// BPE (Llama-2, TinyLlama, Mistral), including its byte fallback to "<0xNN>" tokens. Loading the
// JSON and the shared pipeline live in HFTokenizer.swift and TokenizerJSON.swift. It does not
// implement BPE dropout or subword prefixes/end-of-word suffixes (refused at load).
//
// Legend: a "word" is one piece of the pre-tokenizer; its symbols are the characters of the
// byte alphabet (byte-level) or its Unicode scalars (SentencePiece style), and BPE merges adjacent
// symbols by merge rank, as HF's models/bpe/word.rs does.

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

/// A vocabulary key compared by its exact scalars (UTF-8 bytes). Swift's String == is canonical
/// equivalence, under which "Å" (U+212B) and "Å" (U+00C5) are one key; HF's are Rust strings.
struct VocabKey: Hashable, Sendable {
    let string: String
    init(_ s: String) { string = s }
    static func == (a: VocabKey, b: VocabKey) -> Bool { a.string.utf8.elementsEqual(b.string.utf8) }
    func hash(into h: inout Hasher) {
        var s = string
        s.withUTF8 { h.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// The BPE merge model: a vocabulary and ranked merges over symbols (byte-alphabet characters or
/// Unicode scalars).
struct BPEModel: Sendable {
    var vocab: [VocabKey: Int]
    /// (left id, right id) packed as left << 32 | right  →  (rank, merged id)
    var merges: [UInt64: (rank: Int, id: Int)]
    var unkId: Int?
    var fuseUnk: Bool
    var ignoreMerges: Bool
    /// byte_fallback: the ids of "<0x00>"…"<0xFF>" (nil where the vocabulary lacks one); empty when off.
    var byteIds: [Int?] = []

    static func key(_ a: Int, _ b: Int) -> UInt64 { UInt64(UInt32(truncatingIfNeeded: a)) << 32 | UInt64(UInt32(truncatingIfNeeded: b)) }

    /// Encodes one word given as symbols. Returns (id, [first, last+1) symbol range) per token;
    /// the byte tokens of one symbol all carry that symbol's range.
    ///   1. with ignore_merges, a word that is itself in the vocabulary is one token;
    ///   2. each symbol becomes its id; if absent, its UTF-8 bytes as "<0xNN>" tokens (byte
    ///      fallback, only if all of them exist), else the unknown token (runs fused with
    ///      fuse_unk), else nothing;
    ///   3. repeat: merge the adjacent pair with the lowest rank, leftmost on ties.
    func encode(symbols: [String]) -> [(id: Int, range: Range<Int>)] {
        if ignoreMerges, let id = vocab[VocabKey(symbols.joined())] { return [(id, 0..<symbols.count)] }
        // Parts carry [start, end) in UTF-8 bytes of the word, accumulated from their lengths as
        // HF's Word does (a byte token is 1 byte, an unknown the bytes it covers, a dropped symbol
        // none), then mapped back to symbols. That is the symbol's own range in every ordinary
        // case, and reproduces HF's offsets in its odd ones (see pendingUnk).
        var parts: [(id: Int, range: Range<Int>)] = []
        parts.reserveCapacity(symbols.count)
        var position = 0
        func add(_ id: Int, _ length: Int) {
            parts.append((id, position..<position + length))
            position += length
        }
        // HF (merge_word) holds an unknown back until the next known symbol or the end, so byte
        // tokens of a later symbol can come before it; kept for identical ids.
        var pendingUnk = 0  // its length in bytes; 0 for none
        for sym in symbols {
            let length = sym.utf8.count
            if let id = vocab[VocabKey(sym)] {
                if pendingUnk > 0, let unk = unkId { add(unk, pendingUnk); pendingUnk = 0 }
                add(id, length)
                continue
            }
            if !byteIds.isEmpty {
                let ids = sym.utf8.map { byteIds[Int($0)] }
                if ids.allSatisfy({ $0 != nil }) {
                    for id in ids { add(id!, 1) }
                    continue
                }
            }
            guard let unk = unkId else { continue }  // no unk token: the symbol is dropped, as HF does
            if pendingUnk > 0 && !fuseUnk { add(unk, pendingUnk); pendingUnk = 0 }
            pendingUnk += length
        }
        if pendingUnk > 0, let unk = unkId { add(unk, pendingUnk) }
        let merged = merge(parts)
        // Byte position → symbol index.
        var symbolOfByte: [Int] = []
        symbolOfByte.reserveCapacity(position)
        for (i, sym) in symbols.enumerated() {
            symbolOfByte.append(contentsOf: repeatElement(i, count: sym.utf8.count))
            if symbolOfByte.count >= position { break }
        }
        return merged.map { ($0.id, symbolOfByte[$0.range.lowerBound]..<symbolOfByte[$0.range.upperBound - 1] + 1) }
    }

    /// HF's Word::merge_all: a min-heap of candidate merges by (rank, position); a popped
    /// candidate whose pair has changed since it was pushed is skipped. O(n log n) in the symbols,
    /// which matters when there is no pre-tokenizer (Llama-2: the whole text is one word).
    private func merge(_ parts: [(id: Int, range: Range<Int>)]) -> [(id: Int, range: Range<Int>)] {
        let n = parts.count
        guard n > 1 else { return parts }
        var ids = parts.map(\.id)
        let lo = parts.map(\.range.lowerBound)
        var hi = parts.map(\.range.upperBound)
        var prev = Array(-1..<n - 1)
        var next = Array(1...n)
        next[n - 1] = -1
        var alive = [Bool](repeating: true, count: n)
        var heap = MergeHeap()
        for j in 0..<n - 1 {
            if let m = merges[BPEModel.key(ids[j], ids[j + 1])] { heap.push(.init(rank: m.rank, pos: j, id: m.id)) }
        }
        while let top = heap.pop() {
            let p = top.pos
            guard alive[p], next[p] >= 0 else { continue }
            let q = next[p]
            guard let m = merges[BPEModel.key(ids[p], ids[q])], m.id == top.id else { continue }
            ids[p] = top.id
            hi[p] = hi[q]
            alive[q] = false
            next[p] = next[q]
            if next[q] >= 0 { prev[next[q]] = p }
            if prev[p] >= 0, let m = merges[BPEModel.key(ids[prev[p]], ids[p])] {
                heap.push(.init(rank: m.rank, pos: prev[p], id: m.id))
            }
            if next[p] >= 0, let m = merges[BPEModel.key(ids[p], ids[next[p]])] {
                heap.push(.init(rank: m.rank, pos: p, id: m.id))
            }
        }
        var out: [(id: Int, range: Range<Int>)] = []
        var j = 0
        while j >= 0 {
            out.append((ids[j], lo[j]..<hi[j]))
            j = next[j]
        }
        return out
    }
}

/// A binary min-heap of merge candidates ordered by (rank, position).
private struct MergeHeap {
    struct Candidate { var rank: Int; var pos: Int; var id: Int }
    private var items: [Candidate] = []

    private static func less(_ a: Candidate, _ b: Candidate) -> Bool {
        a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos
    }

    mutating func push(_ c: Candidate) {
        items.append(c)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.less(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Candidate? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && Self.less(items[l], items[m]) { m = l }
                if r < items.count && Self.less(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return first
    }
}
