// Block: a border with an optional title, framing another widget. Not a layout manager: call
// `inner(_:)` to get the area left for the content.

public struct Block: Widget {
    public var title: String?
    public var titleStyle: Style
    public var borderStyle: Style
    public var glyphs: Glyphs

    /// - Parameters:
    ///   - title: shown in the top border, cut with the ellipsis if too long.
    ///   - focused: bold title and a highlighted border (bright cyan when colour is available).
    public init(title: String? = nil, focused: Bool = false, caps: Capabilities,
                borderStyle: Style? = nil, titleStyle: Style? = nil) {
        self.title = title
        self.glyphs = caps.glyphs
        let focusStyle = Style(fg: .brightCyan, .bold).resolved(for: caps)
        self.borderStyle = borderStyle ?? (focused ? focusStyle : Style(fg: .gray).resolved(for: caps))
        self.titleStyle = titleStyle ?? (focused ? focusStyle.adding(.reverse) : Style.bold)
    }

    /// The area inside the border.
    public func inner(_ area: Rect) -> Rect { area.inset(by: 1) }

    public func render(in area: Rect, into buf: inout ScreenBuffer) {
        guard !area.isEmpty else { return }
        let g = glyphs
        if area.width >= 2 && area.height >= 2 {
            for x in (area.x + 1)..<(area.right - 1) {
                buf.put(g.horizontal, x: x, y: area.y, style: borderStyle)
                buf.put(g.horizontal, x: x, y: area.bottom - 1, style: borderStyle)
            }
            for y in (area.y + 1)..<(area.bottom - 1) {
                buf.put(g.vertical, x: area.x, y: y, style: borderStyle)
                buf.put(g.vertical, x: area.right - 1, y: y, style: borderStyle)
            }
            buf.put(g.topLeft, x: area.x, y: area.y, style: borderStyle)
            buf.put(g.topRight, x: area.right - 1, y: area.y, style: borderStyle)
            buf.put(g.bottomLeft, x: area.x, y: area.bottom - 1, style: borderStyle)
            buf.put(g.bottomRight, x: area.right - 1, y: area.bottom - 1, style: borderStyle)
        }
        if let title, !title.isEmpty, area.width >= 4 {
            let room = Rect(x: area.x + 1, y: area.y, width: area.width - 2, height: 1)
            Line(" \(title) ", style: titleStyle).render(in: room, into: &buf, ellipsis: g.ellipsis)
        }
    }
}
