// TokenRegex: the patterns of a tokenizer.json (`{"Regex": …}` or `{"String": …}`) as used by the
// Split pre-tokenizer and the Replace normalizer and decoder, matched on Unicode scalars. Regexes
// run on ICU (NSRegularExpression); HF runs them on Oniguruma. The two agree on the syntax these
// files use (\p{L}, \p{N}, \s = Unicode White_Space, (?i:…), (?!…), {m,n}); an exotic Oniguruma
// construct ICU does not know is refused at load. It is not a general regex library, and it
// offers no protection against patterns that backtrack catastrophically.
//
// NSRegularExpression reports UTF-16 ranges; they are turned back into scalar indices here, so
// callers only see scalar ranges (astral characters such as emoji are one scalar, two UTF-16 units).

import Foundation

/// A compiled pattern. Immutable; NSRegularExpression is documented as safe to share between threads.
final class TokenRegex: @unchecked Sendable {
    /// The pattern as written in the file (for messages).
    let source: String
    /// A literal string pattern (matched scalar by scalar), or nil for a regex.
    let literal: [Unicode.Scalar]?
    private let regex: NSRegularExpression?

    /// A literal pattern: every occurrence, left to right, without overlaps.
    init(literal: String) {
        source = literal
        self.literal = Array(literal.unicodeScalars)
        regex = nil
    }

    /// A regex pattern. Throws the ICU error when the pattern does not compile.
    init(regex pattern: String) throws {
        source = pattern
        literal = nil
        regex = try NSRegularExpression(pattern: pattern, options: [])
    }

    /// [start, end) scalar ranges of the non-overlapping matches in `scalars`, left to right.
    /// Empty matches are reported (as empty ranges), as Oniguruma's find_iter reports them.
    func matches(in scalars: [Unicode.Scalar]) -> [Range<Int>] {
        if let literal {
            guard !literal.isEmpty, literal.count <= scalars.count else { return [] }
            var out: [Range<Int>] = []
            var i = 0
            while i + literal.count <= scalars.count {
                if scalars[i] == literal[0] && scalars[i..<i + literal.count].elementsEqual(literal) {
                    out.append(i..<i + literal.count)
                    i += literal.count
                } else {
                    i += 1
                }
            }
            return out
        }
        guard let regex, !scalars.isEmpty else { return [] }
        // UTF-16 offset of each scalar boundary → scalar index (every boundary is a scalar start,
        // as NSRegularExpression never splits a surrogate pair).
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        let text = String(view)
        var scalarAt = [Int](repeating: 0, count: text.utf16.count + 1)
        var u = 0
        for (i, c) in scalars.enumerated() {
            scalarAt[u] = i
            if c.value > 0xFFFF { scalarAt[u + 1] = i; u += 2 } else { u += 1 }
        }
        scalarAt[u] = scalars.count
        var out: [Range<Int>] = []
        regex.enumerateMatches(in: text, options: [], range: NSRange(location: 0, length: u)) { m, _, _ in
            guard let r = m?.range, r.location != NSNotFound else { return }
            out.append(scalarAt[r.location]..<scalarAt[r.location + r.length])
        }
        return out
    }

    /// Matches and the text between them, covering all of `scalars`: (range, isMatch) in order,
    /// as HF's Pattern::find_matches (an empty text is one empty non-match).
    func segments(of scalars: [Unicode.Scalar]) -> [(range: Range<Int>, isMatch: Bool)] {
        if scalars.isEmpty { return [(0..<0, false)] }
        var out: [(range: Range<Int>, isMatch: Bool)] = []
        var last = 0
        for m in matches(in: scalars) {
            if m.lowerBound > last { out.append((last..<m.lowerBound, false)) }
            out.append((m, true))
            last = m.upperBound
        }
        if last < scalars.count { out.append((last..<scalars.count, false)) }
        return out
    }
}
