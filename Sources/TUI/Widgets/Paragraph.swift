// Paragraph: multi-line styled text, either word-wrapped or cut with an ellipsis per line,
// with vertical scrolling. Not an editor (see TextField).

public struct Paragraph: Widget {
    public enum Overflow: Hashable, Sendable {
        /// Each line is cut to the width with the ellipsis.
        case truncate
        /// Lines are word-wrapped. A wrapped line keeps its first span's style when that span is
        /// whole on the first row (a bold key column); the rest takes the last span's style.
        /// Continuation rows are indented to the second span when the first ends in spaces.
        case wrap
    }
    public var lines: [Line]
    public var overflow: Overflow
    public var alignment: Alignment
    /// Lines skipped at the top.
    public var scroll: Int
    public var ellipsis: Character

    public init(_ lines: [Line], overflow: Overflow = .truncate, alignment: Alignment = .left,
                scroll: Int = 0, caps: Capabilities) {
        self.lines = lines
        self.overflow = overflow
        self.alignment = alignment
        self.scroll = max(0, scroll)
        self.ellipsis = caps.glyphs.ellipsis
    }
    public init(_ text: String, style: Style = .plain, overflow: Overflow = .wrap,
                alignment: Alignment = .left, caps: Capabilities) {
        self.init(text.split(separator: "\n", omittingEmptySubsequences: false).map { Line(String($0), style: style) },
                  overflow: overflow, alignment: alignment, caps: caps)
    }

    /// The lines as they will be laid out at `width` (after wrapping).
    public func laidOut(width: Int) -> [Line] {
        switch overflow {
        case .truncate: return lines
        case .wrap:
            return lines.flatMap { line -> [Line] in
                if line.width <= width { return [line] }
                let style = line.spans.last?.style ?? .plain
                return Paragraph.wrap(line, width: width, style: style)
            }
        }
    }

    static func wrap(_ line: Line, width: Int, style: Style) -> [Line] {
        // A "label  text" line (first span ends in spaces) hangs its continuation rows under text.
        let first = line.spans.first
        let hang = (line.spans.count > 1 && (first?.text.hasSuffix(" ") ?? false)) ? (first?.width ?? 0) : 0
        let rows = TextFit.wrap(line.plainText, width: width, hangingIndent: hang)
        return rows.enumerated().map { (i, row) in
            if i == 0, let f = first, hang > 0, row.hasPrefix(f.text) {
                return Line([Span(f.text, style: f.style), Span(String(row.dropFirst(f.text.count)), style: style)])
            }
            return Line(row, style: style)
        }
    }

    public func render(in area: Rect, into buf: inout ScreenBuffer) {
        guard !area.isEmpty else { return }
        let shown = laidOut(width: area.width).dropFirst(scroll).prefix(area.height)
        for (i, line) in shown.enumerated() {
            line.render(in: Rect(x: area.x, y: area.y + i, width: area.width, height: 1), into: &buf,
                        alignment: alignment, ellipsis: ellipsis)
        }
    }
}
