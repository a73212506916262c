// BarGauge: one horizontal bar (e.g. a site's firing rate) with its value label at the right.
// Not a multi-bar chart (see Histogram for vertical bars).

public struct BarGauge: Widget {
    /// Fraction filled, clamped to 0...1.
    public var ratio: Double
    public var label: String
    public var barStyle: Style
    public var glyphs: Glyphs

    /// - Parameters:
    ///   - value, maximum: the bar shows value/maximum (maximum <= 0 draws an empty bar).
    ///   - label: text after the bar (e.g. "12.5%"); defaults to the percentage with one decimal.
    public init(value: Double, maximum: Double = 1, label: String? = nil, caps: Capabilities,
                style: Style = Style(fg: .brightGreen)) {
        let r = maximum > 0 && value.isFinite ? value / maximum : 0
        self.ratio = min(max(r, 0), 1)
        self.label = label ?? BarGauge.percent(self.ratio)
        self.barStyle = style.resolved(for: caps)
        self.glyphs = caps.glyphs
    }

    /// "12.5%": one decimal, the label format used by default.
    public static func percent(_ r: Double) -> String {
        let tenths = Int((r * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }

    public func render(in area: Rect, into buf: inout ScreenBuffer) {
        guard !area.isEmpty else { return }
        let labelWidth = label.terminalWidth
        let showLabel = area.width >= labelWidth + 2
        let barWidth = showLabel ? area.width - labelWidth - 1 : area.width
        let y = area.y
        // cells = ratio * barWidth, in eighths when partial glyphs exist.
        let steps = glyphs.barEighths.count
        let filled = Int((ratio * Double(barWidth * steps)).rounded())
        let full = filled / steps, part = filled % steps
        for x in 0..<barWidth {
            let ch: Character
            if x < full { ch = glyphs.barEighths[steps - 1] }
            else if x == full && part > 0 { ch = glyphs.barEighths[part - 1] }
            else { ch = glyphs.barEmpty }
            buf.put(ch, x: area.x + x, y: y, style: ch == glyphs.barEmpty ? .plain : barStyle, clip: area)
        }
        if showLabel {
            buf.write(" " + label, x: area.right - labelWidth - 1, y: y, clip: area)
        }
    }
}
