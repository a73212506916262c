// Table: columns with width constraints, a header row and a highlighted selected row.
// Not a data model: cells are already-formatted strings or styled Lines.

public struct TableColumn: Hashable, Sendable {
    public var title: String
    public var width: Constraint
    public var alignment: Alignment
    public init(_ title: String, width: Constraint, alignment: Alignment = .left) {
        self.title = title
        self.width = width
        self.alignment = alignment
    }
}

public struct Table: Widget {
    public var columns: [TableColumn]
    public var rows: [[Line]]
    public var state: ScrollState
    public var headerStyle: Style
    public var highlight: Style
    public var ellipsis: Character

    public init(columns: [TableColumn], rows: [[Line]], state: ScrollState = ScrollState(selected: nil),
                caps: Capabilities, headerStyle: Style = Style([.bold, .underline]),
                highlight: Style = .reverse) {
        self.columns = columns
        self.rows = rows
        self.state = state
        self.headerStyle = headerStyle
        self.highlight = highlight
        self.ellipsis = caps.glyphs.ellipsis
    }
    /// Convenience: plain string cells.
    public init(columns: [TableColumn], rows: [[String]], state: ScrollState = ScrollState(selected: nil),
                caps: Capabilities) {
        self.init(columns: columns, rows: rows.map { $0.map { Line($0) } }, state: state, caps: caps)
    }

    public func render(in area: Rect, into buf: inout ScreenBuffer) {
        guard !area.isEmpty else { return }
        let headerRow = Rect(x: area.x, y: area.y, width: area.width, height: 1)
        let cols = headerRow.columns(columns.map(\.width), spacing: 1)
        for (c, col) in columns.enumerated() {
            Line(col.title, style: headerStyle).render(in: cols[c], into: &buf, alignment: col.alignment, ellipsis: ellipsis)
        }
        let body = area.inset(top: 1)
        var st = state
        st.ensureVisible(height: body.height, count: rows.count)
        for r in 0..<body.height {
            let i = st.offset + r
            guard i < rows.count else { break }
            let y = body.y + r
            for (c, col) in columns.enumerated() where c < rows[i].count {
                var rect = cols[c]
                rect.y = y
                rows[i][c].render(in: rect, into: &buf, alignment: col.alignment, ellipsis: ellipsis)
            }
            if i == st.selected {
                buf.setStyle(highlight, in: Rect(x: body.x, y: y, width: body.width, height: 1))
            }
        }
    }
}
