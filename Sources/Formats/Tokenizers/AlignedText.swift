// AlignedText: a text being normalized, kept as Unicode scalars, each remembering which scalars
// of the ORIGINAL text it came from. That is how offsets survive lowercasing, accent stripping,
// NFC and the spaces BERT puts around Chinese characters. It is not a general string type.
//
// Legend: `scalars[i]` is the i-th normalized scalar; `origin[i]` the [start, end) range of
// original scalars it stands for. A token covering normalized scalars [a, b) has the original
// offsets [origin[a].lowerBound, origin[b-1].upperBound).

import Foundation

struct AlignedText {
    var scalars: [Unicode.Scalar]
    var origin: [Range<Int>]

    /// `text` whose first scalar is scalar `base` of the original text.
    init(_ text: Substring.UnicodeScalarView, base: Int) {
        scalars = Array(text)
        origin = (0..<scalars.count).map { base + $0 ..< base + $0 + 1 }
    }

    init(scalars: [Unicode.Scalar], origin: [Range<Int>]) {
        self.scalars = scalars
        self.origin = origin
    }

    var count: Int { scalars.count }

    /// The original offsets of normalized scalars [a, b); (o, o) for an empty range.
    func span(_ r: Range<Int>) -> Range<Int> {
        if r.isEmpty {
            let at = r.lowerBound < origin.count ? origin[r.lowerBound].lowerBound : (origin.last?.upperBound ?? 0)
            return at..<at
        }
        let lo = origin[r.lowerBound].lowerBound
        let hi = max(lo, origin[r.upperBound - 1].upperBound)
        return lo..<hi
    }

    func string(_ r: Range<Int>) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars[r])
        return String(s)
    }

    func slice(_ r: Range<Int>) -> AlignedText {
        AlignedText(scalars: Array(scalars[r]), origin: Array(origin[r]))
    }

    /// Replaces each scalar by zero or more scalars, all aligned to the one they came from.
    func mapScalars(_ f: (Unicode.Scalar) -> [Unicode.Scalar]) -> AlignedText {
        var s: [Unicode.Scalar] = []
        var o: [Range<Int>] = []
        s.reserveCapacity(scalars.count)
        o.reserveCapacity(scalars.count)
        for (i, c) in scalars.enumerated() {
            for d in f(c) {
                s.append(d)
                o.append(origin[i])
            }
        }
        return AlignedText(scalars: s, origin: o)
    }

    /// Applies a string transformation (NFC, NFD, …) one grapheme cluster at a time. A cluster the
    /// transformation leaves unchanged keeps its per-scalar alignment. In a changed one of n input
    /// and m output scalars, output scalar k is aligned to input scalar min(k, n-1) when m >= n,
    /// and when it shrank (m < n, composition) the first output scalar stands for the first n-m+1
    /// inputs and output k >= 1 for input k + n - m: HF consumes the original characters in
    /// order, the composed starter taking the marks composed into it.
    func mapClusters(_ f: (String) -> String) -> AlignedText {
        var s: [Unicode.Scalar] = []
        var o: [Range<Int>] = []
        s.reserveCapacity(scalars.count)
        o.reserveCapacity(scalars.count)
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        var i = 0
        for character in String(view) {
            let n = character.unicodeScalars.count
            // Fast path: ASCII never changes under canonical or compatibility normalization.
            if n == 1, character.unicodeScalars.first!.isASCII {
                s.append(scalars[i]); o.append(origin[i])
                i += 1
                continue
            }
            let input = String(character)
            let output = f(input)
            // Compare scalars: Swift's String == is canonical equivalence and would call "é" and
            // "e\u{301}" equal.
            if output.unicodeScalars.elementsEqual(input.unicodeScalars) {
                for k in 0..<n { s.append(scalars[i + k]); o.append(origin[i + k]) }
            } else {
                // As HF's alignment tracking does: a composed "é" from "e\u{301}" keeps the offsets
                // of the "e" only, both scalars of a decomposed "é" keep the offsets of the "é",
                // and in "X\u{308}\u{301}" → "Ẍ\u{301}" the acute keeps its own.
                let m = output.unicodeScalars.count
                for (k, d) in output.unicodeScalars.enumerated() {
                    let source = m < n ? (k == 0 ? 0 : k + n - m) : min(k, n - 1)
                    s.append(d); o.append(origin[i + source])
                }
            }
            i += n
        }
        return AlignedText(scalars: s, origin: o)
    }
}
