// EscapeSequence: the common terminal escape sequences for keys and SGR mouse reports, decoded
// whatever terminfo says. When TERM names a terminal whose key strings differ from what the real
// terminal sends (TERM=xterm-256color inside tmux), curses passes the sequence through as ESC
// followed by plain characters — and "ESC [ 1 ~" (Home) would arrive as Esc, '[', '1', '~'. The
// backend collects the characters after an ESC and asks here. Not a general VT parser.

public enum EscapeSequence {
    /// Whether `rest` (the characters after ESC) is a whole sequence: CSI ("[" … final byte
    /// 0x40–0x7E), SS3 ("O" + one character), or a single other character (Alt+key).
    public static func isComplete(_ rest: [UInt32]) -> Bool {
        guard let first = rest.first else { return false }
        switch first {
        case 0x5B:  // '['
            guard rest.count >= 2, let last = rest.last else { return false }
            // "[<" starts an SGR mouse report, whose parameters contain no final byte until M/m.
            return (0x40...0x7E).contains(last) && !(rest.count == 2 && last == 0x3C)
        case 0x4F: return rest.count >= 2  // 'O'
        default: return true
        }
    }

    /// The key or mouse event of ESC + `rest`, or nil when it is not one this knows.
    public static func decode(_ rest: [UInt32]) -> KeyEvent? {
        let s = String(String.UnicodeScalarView(rest.compactMap(Unicode.Scalar.init)))
        switch s {
        case "[A", "OA": return .up
        case "[B", "OB": return .down
        case "[C", "OC": return .right
        case "[D", "OD": return .left
        case "[H", "OH", "[1~", "[7~": return .home
        case "[F", "OF", "[4~", "[8~": return .end
        case "[5~": return .pageUp
        case "[6~": return .pageDown
        case "[2~": return .insert
        case "[3~": return .delete
        case "[Z": return .backTab
        default: break
        }
        // SGR mouse: "[<b;x;yM" (press) or "…m" (release), x and y from 1.
        if s.hasPrefix("[<"), let final = s.last, final == "M" || final == "m" {
            let parts = s.dropFirst(2).dropLast().split(separator: ";").compactMap { Int($0) }
            guard parts.count == 3, final == "M" else { return nil }
            let (b, x, y) = (parts[0], parts[1] - 1, parts[2] - 1)
            guard x >= 0, y >= 0 else { return nil }
            switch b & ~0b11100 {  // modifier bits (shift, meta, ctrl) do not change the button
            case 0: return .mouse(.left, x: x, y: y)
            case 64: return .mouse(.wheelUp, x: x, y: y)
            case 65: return .mouse(.wheelDown, x: x, y: y)
            default: return nil
            }
        }
        return nil
    }
}
