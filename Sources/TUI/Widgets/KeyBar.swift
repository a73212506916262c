// KeyBar: the status-bar row of "key label" hints, fed from KeyMap bindings (gitui's command
// bar). Not the help screen (see KeyMap.helpLines and Popup). Hints that do not fit are dropped
// from the right, never cut in half.

public struct KeyBar: Widget {
    public var hints: [(key: String, label: String)]
    public var keyStyle: Style
    public var labelStyle: Style

    public init(_ hints: [(key: String, label: String)], caps: Capabilities) {
        self.hints = hints
        self.keyStyle = Style(fg: .black, bg: .brightCyan, .bold).resolved(for: caps).adding(caps.color ? [] : .reverse)
        self.labelStyle = .plain
    }
    public init(_ bindings: [KeyBinding], caps: Capabilities) {
        self.init(bindings.map { ($0.keyLabel(caps), $0.label) }, caps: caps)
    }

    public func render(in area: Rect, into buf: inout ScreenBuffer) {
        guard !area.isEmpty else { return }
        let row = Rect(x: area.x, y: area.y, width: area.width, height: 1)
        var x = area.x
        for (i, h) in hints.enumerated() {
            let need = h.key.terminalWidth + 2 + h.label.terminalWidth + (i > 0 ? 2 : 0)
            if x - area.x + need > area.width { break }
            if i > 0 { x += 2 }
            x = buf.write(" \(h.key) ", x: x, y: area.y, style: keyStyle, clip: row)
            x = buf.write(h.label, x: x, y: area.y, style: labelStyle, clip: row)
        }
    }
}
