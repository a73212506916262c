// TextField: an editable single line (the prompt). TextFieldState holds text and cursor and
// applies key events; TextField draws it, scrolling horizontally to keep the cursor visible.
// Not multi-line, no selection or clipboard.

public struct TextFieldState: Hashable, Sendable {
    public private(set) var characters: [Character]
    /// Insertion point, 0...characters.count.
    public private(set) var cursor: Int

    public init(_ text: String = "") {
        characters = Array(text)
        cursor = characters.count
    }
    public var text: String { String(characters) }

    public mutating func setText(_ s: String) { characters = Array(s); cursor = characters.count }
    public mutating func insert(_ c: Character) {
        guard c.terminalWidth > 0 else { return }
        characters.insert(c, at: cursor); cursor += 1
    }
    public mutating func backspace() {
        guard cursor > 0 else { return }
        characters.remove(at: cursor - 1); cursor -= 1
    }
    public mutating func delete() {
        guard cursor < characters.count else { return }
        characters.remove(at: cursor)
    }
    public mutating func moveLeft() { cursor = max(0, cursor - 1) }
    public mutating func moveRight() { cursor = min(characters.count, cursor + 1) }
    public mutating func moveHome() { cursor = 0 }
    public mutating func moveEnd() { cursor = characters.count }

    /// Applies an editing key. Returns true if the key was an editing key (consumed); Enter,
    /// Escape, Tab and others return false so the caller can commit or cancel.
    @discardableResult
    public mutating func handle(_ event: KeyEvent) -> Bool {
        switch event {
        case .char(let c): insert(c)
        case .backspace: backspace()
        case .delete: delete()
        case .left: moveLeft()
        case .right: moveRight()
        case .home, .ctrl("a"): moveHome()
        case .end, .ctrl("e"): moveEnd()
        case .ctrl("u"): characters.removeFirst(cursor); cursor = 0
        default: return false
        }
        return true
    }
}

public struct TextField: Widget {
    public var state: TextFieldState
    public var focused: Bool
    public var placeholder: String
    public var style: Style

    public init(_ state: TextFieldState, focused: Bool = true, placeholder: String = "",
                style: Style = .underline) {
        self.state = state
        self.focused = focused
        self.placeholder = placeholder
        self.style = style
    }

    public func render(in area: Rect, into buf: inout ScreenBuffer) {
        guard !area.isEmpty else { return }
        let row = Rect(x: area.x, y: area.y, width: area.width, height: 1)
        buf.fill(row, with: Cell(" "))
        buf.setStyle(style, in: row)
        let chars = state.characters
        if chars.isEmpty && !focused {
            buf.write(placeholder, in: row, style: style.adding(.dim))
            return
        }
        // First visible character: the smallest start such that the cursor (plus one cell for
        // the cursor itself at the end) fits in the width.
        var start = 0
        func widthBetween(_ a: Int, _ b: Int) -> Int { chars[a..<b].reduce(0) { $0 + $1.terminalWidth } }
        while start < state.cursor && widthBetween(start, state.cursor) + 1 > area.width { start += 1 }
        var x = area.x
        var cursorX = area.x
        for i in start...chars.count {
            if i == state.cursor { cursorX = x }
            guard i < chars.count else { break }
            let w = chars[i].terminalWidth
            if x + w > row.right { break }
            buf.put(chars[i], x: x, y: area.y, style: style, clip: row)
            x += w
        }
        if focused, cursorX < row.right {
            buf.setStyle(.reverse, in: Rect(x: cursorX, y: area.y, width: 1, height: 1))
            buf.cursor = Position(x: cursorX, y: area.y)
        }
    }
}
