// LinePlot: one series over steps (e.g. the selected neuron's membrane), drawn with braille
// dots (2×4 per cell) in Unicode or '*' per cell in ASCII, with an optional horizontal threshold
// line. Not a chart with axes: the caller labels the range (see `effectiveRange`).

public struct LinePlot: Widget {
    public var series: [Double]
    public var threshold: Double?
    /// Vertical range; nil spans min...max of the series and the threshold.
    public var range: ClosedRange<Double>?
    public var style: Style
    public var thresholdStyle: Style
    public var caps: Capabilities

    public init(_ series: [Double], threshold: Double? = nil, range: ClosedRange<Double>? = nil,
                caps: Capabilities, style: Style = Style(fg: .brightCyan),
                thresholdStyle: Style = Style(fg: .brightRed)) {
        self.series = series
        self.threshold = threshold
        self.range = range
        self.style = style.resolved(for: caps)
        self.thresholdStyle = thresholdStyle.resolved(for: caps)
        self.caps = caps
    }

    public func effectiveRange() -> ClosedRange<Double> {
        if let range { return range }
        var vals = series.filter(\.isFinite)
        if let t = threshold, t.isFinite { vals.append(t) }
        guard let lo = vals.min(), let hi = vals.max() else { return 0...1 }
        return lo == hi ? (lo - 1)...(hi + 1) : lo...hi
    }

    /// Dots across and down for the area (braille: 2 per column, 4 per row).
    private func resolution(_ area: Rect) -> (Int, Int) {
        caps.unicode ? (area.width * 2, area.height * 4) : (area.width, area.height)
    }

    /// Row (in dots, 0 at top) of value v: round((hi - v) / (hi - lo) * (H - 1)).
    private func dotRow(_ v: Double, _ r: ClosedRange<Double>, _ h: Int) -> Int {
        let span = r.upperBound - r.lowerBound
        let p = span > 0 ? (r.upperBound - min(max(v, r.lowerBound), r.upperBound)) / span : 0.5
        return Int((p * Double(h - 1)).rounded())
    }

    public func render(in area: Rect, into buf: inout ScreenBuffer) {
        guard !area.isEmpty else { return }
        let r = effectiveRange()
        let (w, h) = resolution(area)
        let cellsPerDotY = caps.unicode ? 4 : 1
        if let t = threshold, t.isFinite, t >= r.lowerBound, t <= r.upperBound {
            let y = area.y + dotRow(t, r, h) / cellsPerDotY
            for x in area.x..<area.right { buf.put(caps.glyphs.rule, x: x, y: y, style: thresholdStyle) }
        }
        let pts = series.enumerated().compactMap { (i, v) -> (Int, Int)? in
            guard v.isFinite else { return nil }
            // x = round(i / (n - 1) * (W - 1)); one point sits at the left edge.
            let x = series.count > 1 ? Int((Double(i) / Double(series.count - 1) * Double(w - 1)).rounded()) : 0
            return (x, dotRow(v, r, h))
        }
        guard !pts.isEmpty else { return }
        var dots = [Bool](repeating: false, count: w * h)
        func plot(_ x: Int, _ y: Int) { if x >= 0, y >= 0, x < w, y < h { dots[y * w + x] = true } }
        plot(pts[0].0, pts[0].1)
        for (a, b) in zip(pts, pts.dropFirst()) {
            // Bresenham's line between consecutive points.
            var (x0, y0) = a
            let (x1, y1) = b
            let dx = abs(x1 - x0), dy = -abs(y1 - y0)
            let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
            var err = dx + dy
            while true {
                plot(x0, y0)
                if x0 == x1 && y0 == y1 { break }
                let e2 = 2 * err
                if e2 >= dy { err += dy; x0 += sx }
                if e2 <= dx { err += dx; y0 += sy }
            }
        }
        if caps.unicode {
            // Braille cell U+2800 + bits; dot (col, row) → bit: col 0 rows 0-3 = 0,1,2,6; col 1 = 3,4,5,7.
            let bit: [[UInt32]] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]]
            for cy in 0..<area.height {
                for cx in 0..<area.width {
                    var mask: UInt32 = 0
                    for c in 0..<2 { for rr in 0..<4 where dots[(cy * 4 + rr) * w + cx * 2 + c] { mask |= bit[c][rr] } }
                    if mask != 0, let s = Unicode.Scalar(0x2800 + mask) {
                        buf.put(Character(s), x: area.x + cx, y: area.y + cy, style: style)
                    }
                }
            }
        } else {
            for y in 0..<h { for x in 0..<w where dots[y * w + x] {
                buf.put(caps.glyphs.point, x: area.x + x, y: area.y + y, style: style)
            } }
        }
    }
}
