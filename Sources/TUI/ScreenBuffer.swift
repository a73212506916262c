// ScreenBuffer: a grid of styled cells that widgets draw into, and its diff for the backend.
// Not a terminal: nothing here does I/O. A wide character (CJK, emoji) occupies its cell plus a
// `continuation` cell to its right, so columns always line up with the terminal's.

/// One terminal cell.
public struct Cell: Hashable, Sendable {
    /// The grapheme shown; a space when blank. For the right half of a wide character this is
    /// the empty string (see `isContinuation`).
    public var symbol: String
    public var foreground: Color
    public var background: Color
    public var attributes: Attributes

    public init(_ symbol: String = " ", fg: Color = .default, bg: Color = .default,
                _ attributes: Attributes = []) {
        self.symbol = symbol
        self.foreground = fg
        self.background = bg
        self.attributes = attributes
    }

    public static let blank = Cell()
    /// The right half of a wide character.
    public var isContinuation: Bool { symbol.isEmpty }
    /// The symbol takes two cells (one UTF-8 byte is always narrow: the common case is cheap).
    var isWide: Bool { symbol.utf8.count > 1 && symbol.terminalWidth == 2 }

    public var style: Style { Style(fg: foreground, bg: background, attributes) }

    /// Applies a style patch as when text is written (attributes replaced).
    public mutating func write(_ style: Style) {
        if let f = style.foreground { foreground = f }
        if let b = style.background { background = b }
        attributes = style.attributes
    }
}

/// A cell position.
public struct Position: Hashable, Sendable {
    public var x: Int
    public var y: Int
    public init(x: Int, y: Int) { self.x = x; self.y = y }
}

/// A changed cell reported by `ScreenBuffer.diff(from:)`.
public struct CellChange: Hashable, Sendable {
    public var x: Int
    public var y: Int
    public var cell: Cell
}

/// A width×height grid of cells, row-major. Out-of-range writes are ignored, never trapped.
public struct ScreenBuffer: Hashable, Sendable {
    public private(set) var width: Int
    public private(set) var height: Int
    public private(set) var cells: [Cell]
    /// Where the terminal cursor should be shown (a text field being edited), or nil to hide it.
    public var cursor: Position?
    /// Text is written with ASCII spellings of the symbols labels use (× x, ≥ >=, θ th, …): set
    /// by a view for an ASCII-only terminal, so labels read "4x128" rather than "4?128".
    public var asciiSpellings = false

    /// ASCII spellings of the non-ASCII symbols in labels and messages.
    public static let asciiSpelling: [Character: String] = [
        "×": "x", "·": "-", "θ": "th", "±": "+/-", "≥": ">=", "≤": "<=", "−": "-", "…": "...",
        "τ": "t", "α": "a", "σ": "s", "Σ": "sum ", "⏎": "|", "—": "-", "–": "-", "→": "->", "←": "<-",
        "↑": "^", "↓": "v", "≈": "~", "°": "deg", "μ": "u",
    ]

    /// `text` with `asciiSpelling` applied to its non-ASCII characters (others become '?').
    public static func asciiSpelled(_ text: String) -> String {
        guard !text.unicodeScalars.allSatisfy(\.isASCII) else { return text }
        var out = ""
        for ch in text {
            if ch.isASCII { out.append(ch) } else { out += asciiSpelling[ch] ?? String(repeating: "?", count: max(1, ch.terminalWidth)) }
        }
        return out
    }

    public init(width: Int, height: Int, fill: Cell = .blank) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.cells = Array(repeating: fill, count: self.width * self.height)
    }
    public init(size: Size, fill: Cell = .blank) { self.init(width: size.width, height: size.height, fill: fill) }

    public var size: Size { Size(width: width, height: height) }
    public var area: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public func index(x: Int, y: Int) -> Int? {
        guard x >= 0, y >= 0, x < width, y < height else { return nil }
        return y * width + x
    }

    /// The cell at (x, y); a blank cell when out of range.
    public subscript(x: Int, y: Int) -> Cell {
        get { index(x: x, y: y).map { cells[$0] } ?? .blank }
        set { if let i = index(x: x, y: y) { cells[i] = newValue } }
    }

    /// Fills `rect` (clipped to the buffer) with copies of `cell`.
    public mutating func fill(_ rect: Rect, with cell: Cell) {
        let r = rect.intersection(area)
        guard !r.isEmpty else { return }
        for y in r.y..<r.bottom {
            let base = y * width
            for x in r.x..<r.right { cells[base + x] = cell }
        }
        repairWideEdges(r)
    }

    /// Blanks `rect` (space, default colours, no attributes), as a popup does before drawing.
    public mutating func clear(_ rect: Rect) { fill(rect, with: .blank) }

    /// Patches the style of every cell in `rect`: colours replaced where given, attributes added.
    public mutating func setStyle(_ style: Style, in rect: Rect) {
        let r = rect.intersection(area)
        guard !r.isEmpty else { return }
        for y in r.y..<r.bottom {
            for x in r.x..<r.right {
                let i = y * width + x
                if let f = style.foreground { cells[i].foreground = f }
                if let b = style.background { cells[i].background = b }
                cells[i].attributes.formUnion(style.attributes)
            }
        }
    }

    /// Writes one character at (x, y), clipped to `clip`. Returns the number of cells used
    /// (0 if nothing was written). A wide character that does not fit before the clip edge is
    /// replaced by a single space so no half-character is ever shown.
    @discardableResult
    public mutating func put(_ ch: Character, x: Int, y: Int, style: Style = .plain, clip: Rect? = nil) -> Int {
        let c = (clip ?? area).intersection(area)
        guard c.contains(x: x, y: y) else { return 0 }
        let w = ch.terminalWidth
        if w == 0 { return 0 }
        if w == 2 && x + 1 >= c.right {
            setCell(x: x, y: y, symbol: " ", style: style)
            return 1
        }
        setCell(x: x, y: y, symbol: String(ch), style: style)
        if w == 2 { setCell(x: x + 1, y: y, symbol: "", style: style) }
        return w
    }

    /// Writes `text` starting at (x, y) on one line, clipped to `clip` (default: whole buffer).
    /// Control characters are skipped. Returns the column after the last cell written.
    @discardableResult
    public mutating func write(_ text: String, x: Int, y: Int, style: Style = .plain, clip: Rect? = nil) -> Int {
        let text = asciiSpellings ? ScreenBuffer.asciiSpelled(text) : text
        let c = (clip ?? area).intersection(area)
        var cx = x
        guard y >= c.y, y < c.bottom else { return x }
        for ch in text {
            let w = ch.terminalWidth
            if w == 0 { continue }
            if cx >= c.right { break }
            if cx < c.x { cx += w; continue } // scrolled off the left edge
            let used = put(ch, x: cx, y: y, style: style, clip: c)
            cx += used
            if used < w { break }
        }
        return cx
    }

    /// Writes `text` in `rect`'s first line, truncated with `…` (or `ellipsis`) to fit, aligned.
    @discardableResult
    public mutating func write(_ text: String, in rect: Rect, style: Style = .plain,
                               alignment: Alignment = .left, ellipsis: Character = "…") -> Int {
        guard !rect.isEmpty else { return rect.x }
        let spelled = asciiSpellings ? ScreenBuffer.asciiSpelled(text) : text
        let t = TextFit.truncate(spelled, to: rect.width, ellipsis: ellipsis)
        let w = t.terminalWidth
        let x: Int
        switch alignment {
        case .left: x = rect.x
        case .right: x = rect.right - w
        case .center: x = rect.x + (rect.width - w) / 2
        }
        return write(t, x: x, y: rect.y, style: style, clip: rect)
    }

    private mutating func setCell(x: Int, y: Int, symbol: String, style: Style) {
        guard let i = index(x: x, y: y) else { return }
        // Overwriting either half of a wide character blanks its other half.
        if cells[i].isContinuation, x > 0 { cells[i - 1].symbol = " " }
        if cells[i].isWide, x + 1 < width, !symbol.isEmpty {
            cells[i + 1].symbol = " "
        }
        cells[i].symbol = symbol
        cells[i].write(style)
    }

    /// After a rectangular fill, a wide character cut at the rect edge must not leave a half.
    private mutating func repairWideEdges(_ r: Rect) {
        for y in r.y..<r.bottom {
            let base = y * width
            if r.x > 0, cells[base + r.x - 1].isWide, !cells[base + r.x].isContinuation {
                cells[base + r.x - 1].symbol = " "
            }
            if r.right < width, cells[base + r.right].isContinuation, !cells[base + r.right - 1].isWide {
                cells[base + r.right].symbol = " "
            }
        }
    }

    /// One string per row: the symbols, continuation cells omitted (so a wide character reads
    /// naturally). Trailing spaces are kept so widths are visible in snapshots.
    public func lines() -> [String] {
        (0..<height).map { y in
            var s = ""
            for x in 0..<width { s += cells[y * width + x].symbol }
            return s
        }
    }

    /// Cells that differ from `previous`, row-major. If the sizes differ every cell is reported.
    /// A changed continuation cell also reports the wide character to its left, so a backend
    /// that redraws wide characters whole stays consistent.
    public func diff(from previous: ScreenBuffer?) -> [CellChange] {
        guard let prev = previous, prev.width == width, prev.height == height else {
            return cells.indices.map { CellChange(x: $0 % max(width, 1), y: $0 / max(width, 1), cell: cells[$0]) }
        }
        var out: [CellChange] = []
        var i = 0
        let n = cells.count
        while i < n {
            if cells[i] != prev.cells[i] {
                let x = i % width
                if cells[i].isContinuation, x > 0,
                   out.last.map({ $0.y * width + $0.x != i - 1 }) ?? true {
                    out.append(CellChange(x: x - 1, y: i / width, cell: cells[i - 1]))
                }
                out.append(CellChange(x: x, y: i / width, cell: cells[i]))
            }
            i += 1
        }
        return out
    }

}
