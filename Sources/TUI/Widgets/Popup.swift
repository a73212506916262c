// Popup: a centred modal box (help, "terminal too small", errors): clears its area, draws a
// Block and a wrapped Paragraph. Not an input handler: the caller decides when it is shown.

public struct Popup: Widget {
    public var title: String?
    public var lines: [Line]
    public var width: Int
    public var height: Int
    public var caps: Capabilities
    /// Content lines skipped at the top (for help longer than the screen).
    public var scroll: Int = 0

    /// - Parameters: width/height: the box size including border, shrunk to the area.
    public init(title: String?, lines: [Line], width: Int, height: Int, caps: Capabilities) {
        self.title = title
        self.lines = lines
        self.width = width
        self.height = height
        self.caps = caps
    }
    /// A box sized to its text (plus border and one column of padding each side).
    public init(title: String?, lines: [Line], caps: Capabilities) {
        let w = max(lines.map(\.width).max() ?? 0, (title?.terminalWidth ?? 0) + 2) + 4
        self.init(title: title, lines: lines, width: w, height: lines.count + 2, caps: caps)
    }

    /// Where the box lands inside `area`.
    public func frame(in area: Rect) -> Rect { area.centered(width: width, height: height) }

    public func render(in area: Rect, into buf: inout ScreenBuffer) {
        let box = frame(in: area)
        guard !box.isEmpty else { return }
        buf.clear(box)
        let block = Block(title: title, focused: true, caps: caps)
        block.render(in: box, into: &buf)
        Paragraph(lines, overflow: .wrap, scroll: scroll, caps: caps).render(in: block.inner(box).inset(left: 1, right: 1), into: &buf)
    }
}
