// KeyEvent: one input event, decoded from curses by the backend or synthesised by tests.
// Not a binding: what a key does lives in KeyMap.

public enum MouseButton: Hashable, Sendable { case left, wheelUp, wheelDown }

public enum KeyEvent: Hashable, Sendable {
    /// A printable character (including space and multi-byte characters).
    case char(Character)
    /// Control + letter (lowercase), other than the ones with their own case (Tab = ^I,
    /// Enter = ^M, Backspace = ^H/^?). Ctrl-C is `.ctrl("c")`, also spelled `.ctrlC`.
    case ctrl(Character)
    case up, down, left, right
    case pageUp, pageDown, home, end
    case tab, backTab, enter, escape, backspace, delete, insert
    /// F1…F12.
    case function(Int)
    /// The terminal changed size; the new size.
    case resize(Size)
    /// A mouse button at cell (x, y).
    case mouse(MouseButton, x: Int, y: Int)
    /// A code the decoder did not recognise (kept for diagnostics).
    case unknown(Int)

    public static var ctrlC: KeyEvent { .ctrl("c") }

    /// The digit 0-9 if this is a digit key.
    public var digit: Int? {
        if case .char(let c) = self, let v = c.wholeNumberValue, c.isASCII { return v }
        return nil
    }

    /// A short human name ("q", "Enter", "←" or "Left" in ASCII mode, "PgUp", "F1", "^C").
    public func name(_ caps: Capabilities) -> String {
        let g = caps.glyphs
        switch self {
        case .char(" "): return "Space"
        case .char(let c): return String(c)
        case .ctrl(let c): return "^" + String(c).uppercased()
        case .up: return g.up
        case .down: return g.down
        case .left: return g.left
        case .right: return g.right
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        case .tab: return "Tab"
        case .backTab: return "S-Tab"
        case .enter: return "Enter"
        case .escape: return "Esc"
        case .backspace: return "Bksp"
        case .delete: return "Del"
        case .insert: return "Ins"
        case .function(let n): return "F\(n)"
        case .resize: return "resize"
        case .mouse: return "click"
        case .unknown(let c): return "key\(c)"
        }
    }
}
