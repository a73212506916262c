// Raster: spike values as a grid (neurons × steps), one glyph per cell: +1, −1, 0 and
// multi-level integers (GIF neurons emit 0…L). Shape legend: R rows (neurons), C columns
// (steps), values row-major [R*C], rounded to the nearest integer. Not a heatmap: values are
// categorical. A cursor column (the current step) is shown reversed.

public struct Raster: Widget {
    public var values: [Float]
    public var rows: Int
    public var columns: Int
    public var rowOffset: Int
    public var columnOffset: Int
    /// Absolute column index of the cursor (current step), or nil.
    public var cursorColumn: Int?
    public var caps: Capabilities

    public static let positiveStyle = Style(fg: .brightGreen)
    public static let negativeStyle = Style(fg: .brightRed)
    public static let levelStyle = Style(fg: .brightYellow, .bold)
    public static let negativeLevelStyle = Style(fg: .brightMagenta, .bold)
    public static let zeroStyle = Style(fg: .gray)

    public init(values: [Float], rows: Int, columns: Int, rowOffset: Int = 0, columnOffset: Int = 0,
                cursorColumn: Int? = nil, caps: Capabilities) {
        self.values = values
        self.rows = max(0, rows)
        self.columns = max(0, columns)
        self.rowOffset = max(0, rowOffset)
        self.columnOffset = max(0, columnOffset)
        self.cursorColumn = cursorColumn
        self.caps = caps
    }

    /// Glyph and style for one spike value: ±1 use the spike glyphs; |v| >= 2 shows the digit
    /// (9 for anything above 9), coloured by sign; 0 the zero glyph.
    public static func glyph(for value: Float, caps: Capabilities) -> (Character, Style) {
        let g = caps.glyphs
        let v = value.isFinite ? Int(value.rounded()) : 0
        let s: (Character, Style)
        switch v {
        case 0: s = (g.spikeZero, zeroStyle)
        case 1: s = (g.spikePositive, positiveStyle)
        case -1: s = (g.spikeNegative, negativeStyle)
        default:
            let digit = Character(String(min(abs(v), 9)))
            s = (digit, v > 0 ? levelStyle : negativeLevelStyle)
        }
        return (s.0, s.1.resolved(for: caps))
    }

    public func render(in area: Rect, into buf: inout ScreenBuffer) {
        guard !area.isEmpty, values.count >= rows * columns else { return }
        for dy in 0..<area.height {
            let row = rowOffset + dy
            guard row < rows else { break }
            for dx in 0..<area.width {
                let col = columnOffset + dx
                guard col < columns else { break }
                var (ch, style) = Raster.glyph(for: values[row * columns + col], caps: caps)
                if col == cursorColumn { style = style.adding(.reverse) }
                buf.put(ch, x: area.x + dx, y: area.y + dy, style: style)
            }
        }
    }
}
