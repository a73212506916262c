// Display width of a Character in terminal cells (0, 1 or 2), in pure Swift so that layout
// and snapshots do not depend on the C library's locale tables.
// Not a full UAX #11 implementation: it covers the East Asian Wide/Fullwidth blocks and emoji
// presentation, which is what spikescope's text (prompts, tokens, UI glyphs) meets. Ambiguous-
// width characters (e.g. box drawing, ·, …) count as 1, as in every UTF-8 terminal's default.

extension Character {
    /// Cells this character occupies: 0 for control characters, 2 for wide (CJK, emoji), else 1.
    public var terminalWidth: Int {
        let scalars = unicodeScalars
        guard let first = scalars.first else { return 0 }
        let v = first.value
        // Fast path for single scalars of the blocks widgets draw with (Latin, box drawing,
        // blocks, geometric shapes below the emoji ones at U+25FD, arrows, braille): width 1.
        if scalars.count == 1 {
            switch v {
            case 0x20...0x7E, 0xA0...0x2FF, 0x2190...0x21FF, 0x2500...0x25FC, 0x2800...0x28FF: return 1
            default: break
            }
        }
        if v < 0x20 || (v >= 0x7F && v < 0xA0) { return 0 }
        // A grapheme that is only combining marks / zero-width joiners occupies nothing.
        if unicodeScalars.allSatisfy({ Character.isZeroWidth($0) }) { return 0 }
        // Emoji presentation selector (VS16) turns a text-style symbol into a 2-cell emoji.
        if unicodeScalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
        if first.properties.isEmojiPresentation { return 2 }
        return Character.isWide(v) ? 2 : 1
    }

    static func isZeroWidth(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return true
        default: return s.value == 0x200B
        }
    }

    /// East Asian Wide (W) and Fullwidth (F) blocks, from Unicode's EastAsianWidth.txt
    /// (coarsened to whole blocks; all listed ranges are W or F in Unicode 15).
    static func isWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x2E80...0x303E,
             0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
             0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19,
             0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F,
             0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }
}

extension StringProtocol {
    /// Total display width in cells (sum of `Character.terminalWidth`).
    public var terminalWidth: Int { reduce(0) { $0 + $1.terminalWidth } }
}

/// Text fitting helpers shared by widgets.
public enum TextFit {
    /// `text` cut to at most `width` cells; when cut, the last cell is `ellipsis`.
    public static func truncate(_ text: String, to width: Int, ellipsis: Character = "…") -> String {
        guard width > 0 else { return "" }
        if text.terminalWidth <= width { return text }
        var out = ""
        var used = 0
        let budget = width - ellipsis.terminalWidth
        for ch in text {
            let w = ch.terminalWidth
            if used + w > budget { break }
            out.append(ch)
            used += w
        }
        out.append(ellipsis)
        return out
    }

    /// Pads with spaces (or cuts with ellipsis) to exactly `width` cells.
    public static func pad(_ text: String, to width: Int, alignment: Alignment = .left,
                           ellipsis: Character = "…") -> String {
        let t = truncate(text, to: width, ellipsis: ellipsis)
        let gap = max(0, width - t.terminalWidth)
        switch alignment {
        case .left: return t + String(repeating: " ", count: gap)
        case .right: return String(repeating: " ", count: gap) + t
        case .center:
            return String(repeating: " ", count: gap / 2) + t + String(repeating: " ", count: gap - gap / 2)
        }
    }

    /// Word wrap to `width` cells: breaks at spaces, hard-breaks words longer than a line.
    /// Explicit newlines start new lines. Leading spaces of a paragraph are kept, and its
    /// continuation lines are indented by `hangingIndent` cells (clamped below `width`).
    /// Always returns at least one line.
    public static func wrap(_ text: String, width: Int, hangingIndent: Int = 0) -> [String] {
        guard width > 0 else { return [""] }
        let hang = String(repeating: " ", count: min(max(0, hangingIndent), width - 1))
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let lead = paragraph.prefix { $0 == " " }
            var line = String(lead.prefix(width - 1))
            var lineWidth = line.count
            var atStart = true // nothing but indentation on this line yet
            // Empty words (from runs of spaces) are kept so "key  text" keeps its two spaces,
            // except at the start of a continuation line.
            for word in paragraph.dropFirst(lead.count).split(separator: " ", omittingEmptySubsequences: false) {
                if word.isEmpty && atStart { continue }
                var w = String(word)
                var ww = w.terminalWidth
                let sep = atStart ? 0 : 1
                if lineWidth + sep + ww <= width {
                    line += (atStart ? "" : " ") + w
                    lineWidth += sep + ww
                    atStart = false
                    continue
                }
                if !atStart { lines.append(line); line = hang; lineWidth = hang.count; atStart = true }
                // Hard-break a word wider than the rest of the line.
                while lineWidth + ww > width {
                    var head = "", hw = 0
                    var rest = Substring(w)
                    while let c = rest.first, lineWidth + hw + c.terminalWidth <= width {
                        head.append(c); hw += c.terminalWidth; rest = rest.dropFirst()
                    }
                    if head.isEmpty { break } // a 2-cell char in a 1-cell line: emit as is
                    lines.append(line + head)
                    line = hang; lineWidth = hang.count
                    w = String(rest)
                    ww = w.terminalWidth
                }
                line += w
                lineWidth += ww
                atStart = w.isEmpty
            }
            lines.append(line)
        }
        return lines.isEmpty ? [""] : lines
    }
}

/// Horizontal alignment of text within its area.
public enum Alignment: Hashable, Sendable { case left, center, right }
