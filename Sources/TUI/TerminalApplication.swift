// TerminalApplication: what an interactive screen provides to the run loop (TerminalBackend's
// TerminalApp.run), and Frame: the pure per-frame step, including the "terminal too small"
// screen, so it is testable without a terminal. Not the loop itself (no I/O here).

/// What the loop does after an event.
public enum AppAction: Hashable, Sendable {
    case `continue`
    case quit
}

public protocol TerminalApplication {
    /// Below this size the loop shows a "too small" message instead of calling `render`.
    var minimumSize: Size { get }
    /// Called once, after the terminal is set up, with what it can display.
    mutating func start(capabilities: Capabilities)
    /// Draws the whole screen. `buffer` is blank and exactly `size`.
    mutating func render(into buffer: inout ScreenBuffer, size: Size)
    /// Handles one event (never `.resize`: the loop handles that, then calls render).
    mutating func handle(_ event: KeyEvent) -> AppAction
    /// Called about every 50 ms: pick up background results here. Never block.
    mutating func tick()
}

extension TerminalApplication {
    public var minimumSize: Size { Size(width: 60, height: 16) }
    public mutating func start(capabilities: Capabilities) {}
    public mutating func tick() {}
}

public enum Frame {
    /// Renders one frame of `app` at `size`: the app's screen, or the too-small message when
    /// `size` is below `app.minimumSize`. Safe at any size, down to 0×0.
    public static func render<A: TerminalApplication>(_ app: inout A, size: Size, caps: Capabilities) -> ScreenBuffer {
        var buf = ScreenBuffer(size: size)
        let need = app.minimumSize
        if size.width < need.width || size.height < need.height {
            renderTooSmall(into: &buf, need: need, caps: caps)
        } else {
            app.render(into: &buf, size: size)
        }
        return buf
    }

    /// "terminal too small (W×H); need at least W×H", wrapped and centred in whatever fits.
    public static func renderTooSmall(into buf: inout ScreenBuffer, need: Size, caps: Capabilities) {
        let x = caps.unicode ? "×" : "x"
        let text = "terminal too small (\(buf.width)\(x)\(buf.height)); need at least \(need.width)\(x)\(need.height)"
        let lines = TextFit.wrap(text, width: buf.width)
        let top = max(0, (buf.height - lines.count) / 2)
        for (i, l) in lines.prefix(buf.height).enumerated() {
            buf.write(l, in: Rect(x: 0, y: top + i, width: buf.width, height: 1), style: .bold,
                      alignment: .center, ellipsis: caps.glyphs.ellipsis)
        }
    }
}
