// Tabs: a row of titles with the selected one highlighted. Not a container: the caller draws
// the selected tab's content.

public struct Tabs: Widget {
    public var titles: [String]
    public var selected: Int
    public var separator: String
    public var highlight: Style

    public init(_ titles: [String], selected: Int, caps: Capabilities,
                highlight: Style = Style([.reverse, .bold])) {
        self.titles = titles
        self.selected = selected
        self.separator = caps.glyphs.tabSeparator
        self.highlight = highlight
    }

    public func render(in area: Rect, into buf: inout ScreenBuffer) {
        guard !area.isEmpty else { return }
        let row = Rect(x: area.x, y: area.y, width: area.width, height: 1)
        var x = area.x
        for (i, t) in titles.enumerated() {
            if i > 0 { x = buf.write(separator, x: x, y: area.y, clip: row) }
            x = buf.write(" \(t) ", x: x, y: area.y, style: i == selected ? highlight : .plain, clip: row)
            if x >= row.right { break }
        }
    }
}
