// PreTokenizer: the `pre_tokenizer` section of a Hugging Face tokenizer.json, which cuts the
// normalized text into words before the model sees them: ByteLevel (GPT-2's split and byte
// alphabet), BertPreTokenizer, Metaspace (SentencePiece's "▁" for spaces), Split (a regex or a
// string with HF's five delimiter behaviours; Llama-3 and Qwen2 use it) and Sequence. Each piece
// keeps its alignment to the original text (AlignedText). Other types (Whitespace, Digits,
// Punctuation, UnicodeScripts, …) are refused at load.

/// Metaspace's prepend_scheme: when the "▁" is put in front of a piece.
enum PrependScheme: String, Sendable {
    /// Every piece that does not start with "▁".
    case always
    /// Only a piece that starts the text (original offset 0), e.g. not the text after a special token.
    case first
    case never
}

/// HF's SplitDelimiterBehavior: what happens to the matches of a Split pattern.
enum SplitBehavior: String, Sendable, CaseIterable {
    /// Dropped.
    case removed = "Removed"
    /// Pieces of their own.
    case isolated = "Isolated"
    /// Joined to the piece before.
    case mergedWithPrevious = "MergedWithPrevious"
    /// Joined to the piece after.
    case mergedWithNext = "MergedWithNext"
    /// Runs of matches (and runs of non-matches) joined into one piece.
    case contiguous = "Contiguous"
}

indirect enum PreTokenizer: Sendable {
    case none
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case bert
    /// Spaces become `replacement` ("▁"), which is prepended per `prependScheme`; with `split`
    /// each "▁" starts a new piece.
    case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme, split: Bool)
    case split(pattern: TokenRegex, behavior: SplitBehavior, invert: Bool)
    case sequence([PreTokenizer])

    var isByteLevel: Bool {
        switch self {
        case .byteLevel: return true
        case .sequence(let l): return l.contains { $0.isByteLevel }
        default: return false
        }
    }

    /// The non-empty pieces of `t`, in order (HF drops empty pieces after every step).
    func split(_ t: AlignedText) -> [AlignedText] {
        switch self {
        case .none:
            return t.count == 0 ? [] : [t]
        case .sequence(let l):
            return l.reduce([t]) { pieces, p in pieces.flatMap { p.split($0) } }
        case .bert:
            return bertPreTokenize(t).map { t.slice($0) }
        case let .byteLevel(addPrefixSpace, useRegex):
            var t = t
            // HF prepends the space (aligned to the first character) unless one is there.
            if addPrefixSpace, let first = t.scalars.first, first != " " {
                t = AlignedText(scalars: [" "] + t.scalars, origin: [t.origin[0]] + t.origin)
            }
            return useRegex ? gpt2Split(t.scalars).map { t.slice($0) } : [t]
        case let .metaspace(replacement, scheme, split):
            guard t.count > 0 else { return [] }
            var t = t.mapScalars { $0 == " " ? [replacement] : [$0] }
            let prepend: Bool
            switch scheme {
            case .always: prepend = t.scalars[0] != replacement
            // HF: offsets_original().0 == 0, i.e. the piece starts the text it was given.
            case .first: prepend = t.scalars[0] != replacement && t.origin[0].lowerBound == 0
            case .never: prepend = false
            }
            if prepend { t = AlignedText(scalars: [replacement] + t.scalars, origin: [t.origin[0]] + t.origin) }
            guard split else { return [t] }
            var segments: [(range: Range<Int>, isMatch: Bool)] = []
            var last = 0
            for (i, c) in t.scalars.enumerated() where c == replacement {
                if i > last { segments.append((last..<i, false)) }
                segments.append((i..<i + 1, true))
                last = i + 1
            }
            if last < t.count { segments.append((last..<t.count, false)) }
            return applySplitBehavior(.mergedWithNext, segments).map { t.slice($0) }
        case let .split(pattern, behavior, invert):
            var segments = pattern.segments(of: t.scalars)
            if invert { segments = segments.map { ($0.range, !$0.isMatch) } }
            return applySplitBehavior(behavior, segments).map { t.slice($0) }
        }
    }
}

/// HF's NormalizedString::split: from (range, isMatch) segments covering the text to the ranges
/// of the pieces kept, empty ones left out.
func applySplitBehavior(_ behavior: SplitBehavior, _ segments: [(range: Range<Int>, isMatch: Bool)]) -> [Range<Int>] {
    /// Walks `segs` in order, joining a segment to the piece before it when `join(isMatch,
    /// previousIsMatch)` holds (`union` joins two ranges in walk order).
    func merge(_ segs: [(range: Range<Int>, isMatch: Bool)], join: (Bool, Bool) -> Bool,
               union: (Range<Int>, Range<Int>) -> Range<Int>) -> [Range<Int>] {
        var pieces: [Range<Int>] = [], previous = false
        for s in segs {
            if join(s.isMatch, previous), let last = pieces.last { pieces[pieces.count - 1] = union(last, s.range) }
            else { pieces.append(s.range) }
            previous = s.isMatch
        }
        return pieces
    }
    let forward = { (last: Range<Int>, next: Range<Int>) in last.lowerBound..<next.upperBound }
    let pieces: [Range<Int>]
    switch behavior {
    case .isolated:
        pieces = segments.map(\.range)
    case .removed:
        pieces = segments.filter { !$0.isMatch }.map(\.range)
    case .contiguous:
        pieces = merge(segments, join: { $0 == $1 }, union: forward)
    case .mergedWithPrevious:
        pieces = merge(segments, join: { $0 && !$1 }, union: forward)
    case .mergedWithNext:
        pieces = merge(segments.reversed(), join: { $0 && !$1 }, union: { last, next in next.lowerBound..<last.upperBound }).reversed()
    }
    return pieces.filter { !$0.isEmpty }
}
