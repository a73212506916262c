// Histogram: vertical bars, one per bin, heights scaled to the largest bin.
// Not a binning routine: pass counts already binned.

public struct Histogram: Widget {
    public var counts: [Double]
    public var barWidth: Int
    public var gap: Int
    public var style: Style
    public var levels: [Character]

    public init(_ counts: [Double], barWidth: Int = 1, gap: Int = 0, caps: Capabilities,
                style: Style = Style(fg: .brightYellow)) {
        self.counts = counts
        self.barWidth = max(1, barWidth)
        self.gap = max(0, gap)
        self.style = style.resolved(for: caps)
        self.levels = caps.glyphs.levels
    }

    public func render(in area: Rect, into buf: inout ScreenBuffer) {
        guard !area.isEmpty, let top = counts.filter(\.isFinite).max(), top > 0 else { return }
        let perRow = levels.count
        for (b, c) in counts.enumerated() {
            let x = area.x + b * (barWidth + gap)
            guard x < area.right else { break }
            // Height in level units: round(c / top * height * levels), at least one if c > 0.
            let cv = c.isFinite ? max(c, 0) : 0
            var h = Int((cv / top * Double(area.height * perRow)).rounded())
            if cv > 0 { h = max(h, 1) }
            for row in stride(from: area.bottom - 1, through: area.y, by: -1) {
                guard h > 0 else { break }
                let level = min(h, perRow)
                for dx in 0..<barWidth {
                    buf.put(levels[level - 1], x: x + dx, y: row, style: style, clip: area)
                }
                h -= level
            }
        }
    }
}
