// Heatmap: a matrix of values (e.g. membrane potential, neurons × steps) as shaded cells, with
// an optional threshold drawn in a distinct glyph and colour. Shape legend: R rows, C columns,
// values row-major [R*C]. Not a resampler: it shows the window starting at (rowOffset,
// columnOffset) one value per cell; the caller scrolls. A NaN cell (no value) is left blank.

public struct Heatmap: Widget {
    public var values: [Float]
    public var rows: Int
    public var columns: Int
    public var rowOffset: Int
    public var columnOffset: Int
    /// Values mapped to the ramp ends; nil takes min/max of the whole matrix.
    public var range: ClosedRange<Float>?
    /// Cells with value >= threshold are drawn with `Glyphs.heatThreshold`.
    public var threshold: Float?
    public var caps: Capabilities

    /// The 256-colour ramp, cold to hot (xterm cube: blue → cyan → green → yellow → red).
    public static let colorRamp: [Color] = [
        .cube(0, 0, 2), .cube(0, 0, 4), .cube(0, 2, 5), .cube(0, 4, 4), .cube(0, 5, 2),
        .cube(2, 5, 0), .cube(4, 5, 0), .cube(5, 4, 0), .cube(5, 2, 0), .cube(5, 0, 0),
    ]
    public static let thresholdStyle = Style(fg: .brightWhite, bg: .magenta, .bold)

    public init(values: [Float], rows: Int, columns: Int, rowOffset: Int = 0, columnOffset: Int = 0,
                range: ClosedRange<Float>? = nil, threshold: Float? = nil, caps: Capabilities) {
        self.values = values
        self.rows = max(0, rows)
        self.columns = max(0, columns)
        self.rowOffset = max(0, rowOffset)
        self.columnOffset = max(0, columnOffset)
        self.range = range
        self.threshold = threshold
        self.caps = caps
    }

    /// Ramp position in 0...1 of `v` in `range` (0 for a degenerate range or NaN).
    public static func position(_ v: Float, in range: ClosedRange<Float>) -> Float {
        let span = range.upperBound - range.lowerBound
        guard span > 0, v.isFinite else { return 0 }
        return min(max((v - range.lowerBound) / span, 0), 1)
    }

    public func effectiveRange() -> ClosedRange<Float> {
        if let range { return range }
        let finite = values.prefix(rows * columns).filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return 0...1 }
        return lo...hi
    }

    public func render(in area: Rect, into buf: inout ScreenBuffer) {
        guard !area.isEmpty, values.count >= rows * columns else { return }
        let r = effectiveRange()
        let ramp = caps.glyphs.heat
        let tStyle = Heatmap.thresholdStyle.resolved(for: caps)
        for dy in 0..<area.height {
            let row = rowOffset + dy
            guard row < rows else { break }
            for dx in 0..<area.width {
                let col = columnOffset + dx
                guard col < columns else { break }
                let v = values[row * columns + col]
                guard v.isFinite else { continue }  // NaN: no value here (left blank)
                if let t = threshold, v >= t {
                    buf.put(caps.glyphs.heatThreshold, x: area.x + dx, y: area.y + dy, style: tStyle)
                    continue
                }
                // level = round(p * (n-1)) for ramp position p in [0, 1].
                let p = Heatmap.position(v, in: r)
                let gi = Int((p * Float(ramp.count - 1)).rounded())
                let ci = Int((p * Float(Heatmap.colorRamp.count - 1)).rounded())
                let style = caps.color ? Style(fg: Heatmap.colorRamp[ci]) : .plain
                buf.put(ramp[gi], x: area.x + dx, y: area.y + dy, style: style)
            }
        }
    }
}
