// The Widget protocol and styled text (Span, Line). A widget only draws into a ScreenBuffer
// within a Rect (ratatui's contract): no terminal, clock or disk, and nothing outside its area.

/// Something that draws itself into `area` of a buffer.
public protocol Widget {
    func render(in area: Rect, into buffer: inout ScreenBuffer)
}

/// A run of text with one style.
public struct Span: Hashable, Sendable, ExpressibleByStringLiteral {
    public var text: String
    public var style: Style
    public init(_ text: String, style: Style = .plain) { self.text = text; self.style = style }
    public init(stringLiteral value: String) { self.init(value) }
    public var width: Int { text.terminalWidth }
}

/// One line of styled spans.
public struct Line: Hashable, Sendable, ExpressibleByStringLiteral {
    public var spans: [Span]
    public init(_ spans: [Span]) { self.spans = spans }
    public init(_ text: String, style: Style = .plain) { self.spans = [Span(text, style: style)] }
    public init(stringLiteral value: String) { self.init(value) }
    public var width: Int { spans.reduce(0) { $0 + $1.width } }
    public var plainText: String { spans.map(\.text).joined() }

    /// Draws the line in `rect`'s first row, cutting with `ellipsis` when it does not fit.
    /// Returns the column after the last cell written.
    @discardableResult
    public func render(in rect: Rect, into buffer: inout ScreenBuffer, alignment: Alignment = .left,
                       ellipsis: Character = "…") -> Int {
        guard !rect.isEmpty else { return rect.x }
        if buffer.asciiSpellings, !spans.allSatisfy({ $0.text.unicodeScalars.allSatisfy(\.isASCII) }) {
            // Spell the symbols out first, so the width and the cut below are the spelled text's.
            let spelled = Line(spans.map { Span(ScreenBuffer.asciiSpelled($0.text), style: $0.style) })
            return spelled.render(in: rect, into: &buffer, alignment: alignment, ellipsis: ellipsis)
        }
        let total = width
        var x: Int
        switch alignment {
        case .left: x = rect.x
        case .right: x = rect.right - min(total, rect.width)
        case .center: x = rect.x + max(0, rect.width - total) / 2
        }
        if total <= rect.width {
            for s in spans { x = buffer.write(s.text, x: x, y: rect.y, style: s.style, clip: rect) }
            return x
        }
        // Too long: write up to width-1 cells then the ellipsis in the style of the cut span.
        let budget = rect.width - ellipsis.terminalWidth
        var used = 0
        var lastStyle = spans.last?.style ?? .plain
        outer: for s in spans {
            lastStyle = s.style
            for ch in s.text {
                let w = ch.terminalWidth
                if used + w > budget { break outer }
                buffer.put(ch, x: x, y: rect.y, style: s.style, clip: rect)
                x += w; used += w
            }
        }
        buffer.put(ellipsis, x: x, y: rect.y, style: lastStyle, clip: rect)
        return x + ellipsis.terminalWidth
    }
}
