// Terminal: the curses backend. It is the ONLY code that talks to the terminal: it sets it up,
// draws ScreenBuffers by writing just the cells that changed since the last frame, decodes keys,
// mouse and resize into KeyEvents, and restores the terminal. Not a UI: widgets and apps live in
// the TUI target and never see curses.
import CNCursesW
import TUI

/// Errors setting up the terminal.
public enum TerminalError: Error, CustomStringConvertible, Equatable {
    /// stdin or stdout is not a terminal (piped, redirected, or run from a non-interactive job).
    case notATerminal(stream: String)
    /// curses could not open the terminal described by TERM.
    case cannotInitialise(term: String)

    public var description: String {
        switch self {
        case .notATerminal(let stream):
            return "\(stream) is not a terminal, so the interactive screen cannot start. "
                + "Hint: run spikescope directly in a terminal (not piped or redirected)."
        case .cannotInitialise(let term):
            return "could not initialise the terminal of type '\(term)' (curses newterm failed). "
                + "Hint: check that TERM is set and its terminfo entry exists, e.g. TERM=xterm-256color."
        }
    }
}

public final class Terminal {
    public let capabilities: Capabilities
    public private(set) var size: Size
    private var screen: OpaquePointer?
    private var previous: ScreenBuffer?
    private var pairs: [PairKey: Int32] = [:]
    private var nextPair: Int32 = 1
    private let maxPairs: Int32
    private let defaultColors: Bool
    private var cursorVisible = false
    private var currentTimeout: Int32 = -2
    private var active = true

    private struct PairKey: Hashable { var fg: Int32; var bg: Int32 }

    /// Sets the terminal up: locale from the environment, cbreak (Ctrl-C still signals), no echo,
    /// keypad decoding, hidden cursor, colours (terminal default colours when supported) and mouse
    /// clicks. Restore with `restore()` (idempotent); the run loop does this on every exit path.
    /// - Throws: `TerminalError` when stdin/stdout are not terminals or curses cannot start.
    public init(environment: [String: String]) throws {
        setlocale(LC_ALL, "")
        guard isatty(0) == 1 else { throw TerminalError.notATerminal(stream: "standard input") }
        guard isatty(1) == 1 else { throw TerminalError.notATerminal(stream: "standard output") }
        Signals.install()
        guard let scr = ss_newterm() else {
            Signals.uninstall()
            throw TerminalError.cannotInitialise(term: environment["TERM"] ?? "(unset)")
        }
        screen = scr
        Signals.setRestoreSequence(Terminal.restoreSequence())
        Signals.setCursesActive(true)
        cbreak()
        noecho()
        nonl()
        keypad(ss_stdscr(), true)
        intrflush(ss_stdscr(), false)
        curs_set(0)
        set_escdelay(25) // ms to tell a lone Esc from an escape sequence; 25 is ample locally and over ssh
        var colors: Int32 = 0
        var defaults = false
        if has_colors() {
            start_color()
            defaults = use_default_colors() == OK
            colors = ss_colors()
        }
        defaultColors = defaults
        maxPairs = min(ss_color_pairs(), 32767)
        let codeset = ss_codeset().map { String(cString: $0) }
        capabilities = Capabilities.detect(environment: environment, codeset: codeset, colors: Int(colors))
        mousemask(ss_mouse_mask_wanted(), nil)
        mouseinterval(0) // report presses at once instead of waiting to detect clicks
        size = Size(width: Int(ss_cols()), height: Int(ss_lines()))
    }

    deinit { restore() }

    /// What puts this terminal back when there is no time for endwin (a crash, a stuck loop):
    /// mouse reporting off, keypad mode off, attributes reset, cursor shown, the alternate screen
    /// left — from terminfo where it has the strings, xterm's otherwise.
    static func restoreSequence() -> String {
        func cap(_ name: String, _ fallback: String) -> String {
            ss_tigetstr(name).map { String(cString: $0) } ?? fallback
        }
        return "\u{1B}[?1000l\u{1B}[?1002l\u{1B}[?1003l\u{1B}[?1006l"
            + cap("rmkx", "") + cap("sgr0", "\u{1B}[0m") + cap("cnorm", "\u{1B}[?25h") + cap("rmcup", "\u{1B}[?1049l")
    }

    /// Leaves curses mode and restores the terminal's previous state. Safe to call twice.
    public func restore() {
        guard active else { return }
        active = false
        Signals.setCursesActive(false)
        endwin()
        if let s = screen { delscreen(s); screen = nil }
    }

    /// Forgets the last frame so the next `draw` repaints everything (after a resize).
    public func invalidate() {
        previous = nil
        wclear(ss_stdscr())
    }

    /// Draws `buffer`, writing only cells that changed since the last call.
    public func draw(_ buffer: ScreenBuffer) {
        guard active else { return }
        if previous?.size != buffer.size { invalidate() }
        let changes = buffer.diff(from: previous)
        let win = ss_stdscr()
        var run = ""
        var runStart = (x: -1, y: -1)
        var runEnd = -1
        var runStyle = Cell.blank.style
        func flush() {
            guard !run.isEmpty else { return }
            applyStyle(runStyle)
            wmove(win, Int32(runStart.y), Int32(runStart.x))
            waddstr(win, run)
            run = ""
        }
        for ch in changes where !ch.cell.isContinuation {
            let sym = printable(ch.cell.symbol)
            let style = ch.cell.style
            let asciiOnly = sym.utf8.count == 1
            // Extend the run while cells are adjacent ASCII with the same style; anything wide or
            // multi-byte gets its own positioned write so a width disagreement cannot shift a row.
            if !run.isEmpty, ch.y == runStart.y, ch.x == runEnd, style == runStyle, asciiOnly {
                run += sym
                runEnd += 1
                continue
            }
            flush()
            run = sym
            runStart = (ch.x, ch.y)
            runEnd = asciiOnly ? ch.x + 1 : -1
            runStyle = style
        }
        flush()
        if let c = buffer.cursor, c.x >= 0, c.y >= 0, c.x < buffer.width, c.y < buffer.height {
            if !cursorVisible { curs_set(1); cursorVisible = true }
            wmove(win, Int32(c.y), Int32(c.x))
        } else if cursorVisible {
            curs_set(0); cursorVisible = false
        }
        wrefresh(win)
        previous = buffer
    }

    /// A cell symbol as bytes curses can show: ASCII-only in ASCII mode ('?' stands in).
    private func printable(_ s: String) -> String {
        if capabilities.unicode || s.utf8.allSatisfy({ $0 < 0x80 }) { return s }
        return String(repeating: "?", count: max(1, s.terminalWidth))
    }

    private func curses(_ c: Color, isForeground: Bool) -> Int32 {
        switch c {
        case .default:
            return defaultColors ? -1 : (isForeground ? 7 : 0)
        case .indexed(let i):
            let n = capabilities.colorCount
            if n >= 256 { return Int32(i) }
            if n >= 16 && i < 16 { return Int32(i) }
            if case .indexed(let j) = c.standard8 { return Int32(j) }
            return -1
        }
    }

    private func applyStyle(_ s: Style) {
        var attrs: attr_t = 0
        let a = s.attributes
        if a.contains(.bold) { attrs |= ss_a_bold() }
        if a.contains(.reverse) { attrs |= ss_a_reverse() }
        if a.contains(.underline) { attrs |= ss_a_underline() }
        if a.contains(.dim) { attrs |= ss_a_dim() }
        var pair: Int32 = 0
        if capabilities.color {
            let key = PairKey(fg: curses(s.foreground ?? .default, isForeground: true),
                              bg: curses(s.background ?? .default, isForeground: false))
            if key != PairKey(fg: defaultColors ? -1 : 7, bg: defaultColors ? -1 : 0) {
                if let p = pairs[key] {
                    pair = p
                } else if nextPair < maxPairs {
                    // Pairs are allocated on first use; a screen uses a few hundred at most.
                    ss_init_pair(nextPair, key.fg, key.bg)
                    pairs[key] = nextPair
                    pair = nextPair
                    nextPair += 1
                }
            }
        }
        ss_set_attr(attrs, pair)
    }

    /// Waits up to `timeoutMilliseconds` (negative: forever) for one event; nil on timeout.
    public func readEvent(timeoutMilliseconds: Int) -> KeyEvent? {
        guard active else { return nil }
        let win = ss_stdscr()
        let t = Int32(clamping: timeoutMilliseconds)
        if t != currentTimeout { wtimeout(win, t); currentTimeout = t }
        var wch: wint_t = 0
        let rc = wget_wch(win, &wch)
        if rc == ERR { return nil }
        let code = Int(wch)
        if rc == KEY_CODE_YES { return decodeKeyCode(code) }
        if code == 27, let e = readEscapeSequence() { return e }
        return Terminal.decodeCharacter(code)
    }

    /// After an ESC that curses did not recognise as a key: the rest of the sequence, if its
    /// bytes are already here (a key press sends them together), decoded by `EscapeSequence`.
    /// A lone Esc (nothing follows) stays Esc; an unknown sequence is dropped as one event.
    private func readEscapeSequence() -> KeyEvent? {
        let win = ss_stdscr()
        wtimeout(win, 0); currentTimeout = 0
        var rest: [UInt32] = []
        while rest.count < 24 {
            var c: wint_t = 0
            let r = wget_wch(win, &c)
            if r == ERR || r == KEY_CODE_YES { break }
            rest.append(UInt32(c))
            if EscapeSequence.isComplete(rest) { break }
        }
        if rest.isEmpty { return nil }
        // Esc then an ordinary key (not CSI '[' or SS3 'O'): give the key back, report Esc.
        if rest.count == 1, rest[0] != 0x5B, rest[0] != 0x4F {
            unget_wch(wchar_t(rest[0]))
            return nil
        }
        return EscapeSequence.decode(rest) ?? .unknown(27)
    }

    /// A character code from wget_wch (not a KEY_ code) as an event.
    static func decodeCharacter(_ code: Int) -> KeyEvent {
        switch code {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 1...26:
            let letter = Character(Unicode.Scalar(UInt8(code + 96)))
            return .ctrl(letter)
        case 0..<32: return .unknown(code)
        default:
            guard let u = Unicode.Scalar(UInt32(truncatingIfNeeded: code)) else { return .unknown(code) }
            return .char(Character(u))
        }
    }

    private func decodeKeyCode(_ code: Int) -> KeyEvent {
        let f0 = Int(ss_key_f0())
        switch Int32(code) {
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_PPAGE: return .pageUp
        case KEY_NPAGE: return .pageDown
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_BTAB: return .backTab
        case KEY_ENTER: return .enter
        case KEY_BACKSPACE: return .backspace
        case KEY_DC: return .delete
        case KEY_IC: return .insert
        case KEY_RESIZE:
            size = Size(width: Int(ss_cols()), height: Int(ss_lines()))
            return .resize(size)
        case KEY_MOUSE:
            var x: Int32 = 0, y: Int32 = 0, kind: Int32 = 0
            guard ss_get_mouse(&x, &y, &kind) == 0 else { return .unknown(code) }
            switch kind {
            case 1: return .mouse(.left, x: Int(x), y: Int(y))
            case 4: return .mouse(.wheelUp, x: Int(x), y: Int(y))
            case 5: return .mouse(.wheelDown, x: Int(x), y: Int(y))
            default: return .unknown(code)
            }
        default:
            if code > f0 && code <= f0 + 24 { return .function(code - f0) }
            return .unknown(code)
        }
    }
}
