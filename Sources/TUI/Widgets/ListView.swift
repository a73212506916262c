// ListView and ScrollState: a vertical list with one selected row that scrolls to keep the
// selection visible. ScrollState is the value a view keeps between frames; ListView draws it.

/// Selection and scroll offset of a list or table.
public struct ScrollState: Hashable, Sendable {
    /// Selected row, or nil for none.
    public var selected: Int?
    /// First visible row.
    public var offset: Int

    public init(selected: Int? = 0, offset: Int = 0) {
        self.selected = selected
        self.offset = max(0, offset)
    }

    /// Moves the selection by `delta` rows, clamped to 0..<count (nil when count is 0).
    public mutating func move(by delta: Int, count: Int) {
        guard count > 0 else { selected = nil; return }
        selected = min(max((selected ?? 0) + delta, 0), count - 1)
    }

    /// Adjusts `offset` so the selection lies within a window of `height` rows, and so the
    /// window never starts past the last full page.
    public mutating func ensureVisible(height: Int, count: Int) {
        guard height > 0 else { return }
        if let s = selected {
            if s < offset { offset = s }
            if s >= offset + height { offset = s - height + 1 }
        }
        offset = max(0, min(offset, count - height))
    }
}

public struct ListView: Widget {
    public var items: [Line]
    public var state: ScrollState
    public var highlight: Style
    public var marker: String
    public var ellipsis: Character

    /// - Parameter state: the selection; the list scrolls (a copy of) it to show the selection.
    public init(_ items: [Line], state: ScrollState, caps: Capabilities, highlight: Style = .reverse) {
        self.items = items
        self.state = state
        self.highlight = highlight
        self.marker = caps.glyphs.selection
        self.ellipsis = caps.glyphs.ellipsis
    }

    public func render(in area: Rect, into buf: inout ScreenBuffer) {
        guard !area.isEmpty else { return }
        var st = state
        st.ensureVisible(height: area.height, count: items.count)
        let mw = marker.terminalWidth
        for row in 0..<area.height {
            let i = st.offset + row
            guard i < items.count else { break }
            let y = area.y + row
            let selected = i == st.selected
            let rowRect = Rect(x: area.x, y: y, width: area.width, height: 1)
            // The row is owned whole: marker (or blanks), the item, then blanks to the edge.
            buf.write(selected ? marker : String(repeating: " ", count: mw), x: area.x, y: y,
                      style: selected ? .bold : .plain, clip: rowRect)
            let textRect = rowRect.inset(left: mw)
            let end = items[i].render(in: textRect, into: &buf, ellipsis: ellipsis)
            buf.write(String(repeating: " ", count: max(0, textRect.right - end)), x: end, y: y, clip: textRect)
            if selected { buf.setStyle(highlight, in: textRect) }
        }
    }
}
