// Sparkline: a series as a row (or rows) of block heights, newest value at the right.
// Not an axis plot (see LinePlot): no labels, values below 0 draw as 0.

public struct Sparkline: Widget {
    public var values: [Double]
    /// Top of the scale; nil uses the largest visible value.
    public var maximum: Double?
    public var style: Style
    public var levels: [Character]

    public init(_ values: [Double], maximum: Double? = nil, caps: Capabilities, style: Style = Style(fg: .brightCyan)) {
        self.values = values
        self.maximum = maximum
        self.style = style.resolved(for: caps)
        self.levels = caps.glyphs.levels
    }

    public func render(in area: Rect, into buf: inout ScreenBuffer) {
        guard !area.isEmpty else { return }
        let shown = Array(values.suffix(area.width))
        let top = maximum ?? shown.filter(\.isFinite).max() ?? 0
        guard top > 0 else { return }
        let perRow = levels.count
        // Each value becomes a height in level units: h = round(v / top * rows * levels).
        let x0 = area.right - shown.count
        for (i, v) in shown.enumerated() {
            let clamped = v.isFinite ? min(max(v, 0), top) : 0
            var h = Int((clamped / top * Double(area.height * perRow)).rounded())
            for row in stride(from: area.bottom - 1, through: area.y, by: -1) {
                guard h > 0 else { break }
                let level = min(h, perRow)
                buf.put(levels[level - 1], x: x0 + i, y: row, style: style, clip: area)
                h -= level
            }
        }
    }
}
