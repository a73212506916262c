// One snapshot per widget (Snapshots/<name>.txt), Unicode and ASCII for raster, heatmap,
// sparkline and line plot. Inputs are small fixed patterns chosen so every glyph class appears.
import Testing
import TUI

@Suite struct WidgetSnapshotTests {
    static let u = Capabilities.full
    static let a = Capabilities.ascii

    @Test func block() {
        Snapshot.check(Block(title: "Sites", caps: Self.u), width: 12, height: 4, named: "block_unicode")
        Snapshot.check(Block(title: "A very long title", caps: Self.a), width: 12, height: 3, named: "block_ascii_long_title")
    }

    @Test func paragraph() {
        let text = "Spiking models fire in binary events; 漢字 take two cells."
        Snapshot.check(Paragraph(text, caps: Self.u), width: 16, height: 6, named: "paragraph_wrap")
        Snapshot.check(Paragraph([Line("first line is long"), Line("ok"), Line([Span("key ", style: .bold), Span("value")])],
                                 overflow: .truncate, caps: Self.u),
                       width: 10, height: 4, named: "paragraph_truncate")
    }

    @Test func table() {
        let t = Table(columns: [TableColumn("site", width: .fill()), TableColumn("rate", width: .fixed(5), alignment: .right)],
                      rows: [["blocks.0.att", "1.5%"], ["blocks.0.ffn", "12.0%"], ["blocks.1.att", "0.0%"], ["b", "99.9%"]],
                      state: ScrollState(selected: 3), caps: Self.u)
        // 4 rows but 3 visible under the header: the selection (row 3) scrolls the window by one.
        Snapshot.check(t, width: 16, height: 4, named: "table")
    }

    @Test func list() {
        let l = ListView(["alpha", "beta", "gamma", "delta", "epsilon"], state: ScrollState(selected: 4), caps: Self.u)
        Snapshot.check(l, width: 9, height: 3, named: "list_unicode")
        let la = ListView(["alpha", "beta"], state: ScrollState(selected: 0), caps: Self.a)
        Snapshot.check(la, width: 9, height: 3, named: "list_ascii")
    }

    @Test func barGauge() {
        var buf = Snapshot.canvas(16, 4)
        for (i, v) in [0.0, 0.25, 0.53, 1.0].enumerated() {
            BarGauge(value: v, caps: Self.u).render(in: Rect(x: 0, y: i, width: 16, height: 1), into: &buf)
        }
        Snapshot.check(buf, named: "bar_gauge_unicode")
        var bufA = Snapshot.canvas(16, 2)
        BarGauge(value: 3, maximum: 8, label: "3/8", caps: Self.a).render(in: Rect(x: 0, y: 0, width: 16, height: 1), into: &bufA)
        BarGauge(value: 3, maximum: 8, label: "3/8", caps: Self.a).render(in: Rect(x: 0, y: 1, width: 3, height: 1), into: &bufA)
        Snapshot.check(bufA, named: "bar_gauge_ascii")
    }

    @Test func sparkline() {
        let values: [Double] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 4, 0, 8]
        Snapshot.check(Sparkline(values, caps: Self.u), width: 14, height: 2, named: "sparkline_unicode")
        Snapshot.check(Sparkline(values, caps: Self.a), width: 14, height: 2, named: "sparkline_ascii")
    }

    static let heat: [Float] = (0..<4).flatMap { r in (0..<10).map { c in Float(c) / 9 + Float(r) * 0.05 } }

    @Test func heatmap() {
        Snapshot.check(Heatmap(values: Self.heat, rows: 4, columns: 10, range: 0...1, threshold: 1.0, caps: Self.u),
                       width: 12, height: 5, named: "heatmap_unicode")
        Snapshot.check(Heatmap(values: Self.heat, rows: 4, columns: 10, range: 0...1, threshold: 1.0, caps: Self.a),
                       width: 12, height: 5, named: "heatmap_ascii")
    }

    static let spikes: [Float] = [
        1, 0, -1, 0, 0, 1,
        0, 1, 0, 2, 3, 0,
        -1, -1, 0, 1, 12, 0,
    ]

    @Test func raster() {
        Snapshot.check(Raster(values: Self.spikes, rows: 3, columns: 6, cursorColumn: 2, caps: Self.u),
                       width: 8, height: 4, named: "raster_unicode")
        Snapshot.check(Raster(values: Self.spikes, rows: 3, columns: 6, columnOffset: 1, cursorColumn: 2, caps: Self.a),
                       width: 8, height: 4, named: "raster_ascii")
    }

    static let wave: [Double] = (0..<16).map { Double(($0 * 5) % 11) / 10 }

    @Test func linePlot() {
        Snapshot.check(LinePlot(Self.wave, threshold: 0.8, range: 0...1, caps: Self.u), width: 12, height: 4, named: "line_plot_unicode")
        Snapshot.check(LinePlot(Self.wave, threshold: 0.8, range: 0...1, caps: Self.a), width: 16, height: 6, named: "line_plot_ascii")
    }

    @Test func histogram() {
        Snapshot.check(Histogram([1, 4, 9, 16, 0, 3], barWidth: 2, gap: 1, caps: Self.u), width: 18, height: 3, named: "histogram_unicode")
        Snapshot.check(Histogram([1, 4, 9, 16, 0, 3], caps: Self.a), width: 8, height: 3, named: "histogram_ascii")
    }

    @Test func textField() {
        var s = TextFieldState("hello world, spiking")
        s.moveHome(); s.moveRight(); s.moveRight()
        Snapshot.check(TextField(s), width: 10, height: 1, named: "text_field_cursor_start")
        s.moveEnd()
        Snapshot.check(TextField(s), width: 10, height: 1, named: "text_field_cursor_end")
        Snapshot.check(TextField(TextFieldState(), focused: false, placeholder: "type a prompt"), width: 10, height: 1,
                       named: "text_field_placeholder")
    }

    @Test func keyBar() {
        Snapshot.check(KeyBar([("q", "quit"), ("?", "help"), ("←/→", "step"), ("Enter", "run")], caps: Self.u),
                       width: 30, height: 1, named: "key_bar")
    }

    @Test func popup() {
        var buf = Snapshot.canvas(24, 7)
        buf.write("background text here", x: 0, y: 3)
        Popup(title: "Help", lines: ["q  quit", "?  help and more words"], width: 16, height: 5, caps: Self.u)
            .render(in: buf.area, into: &buf)
        Snapshot.check(buf, named: "popup")
    }

    @Test func tabs() {
        Snapshot.check(Tabs(["Raster", "Membrane", "Stats"], selected: 1, caps: Self.u), width: 34, height: 1, named: "tabs_unicode")
        Snapshot.check(Tabs(["Raster", "Membrane", "Stats"], selected: 0, caps: Self.a), width: 20, height: 1, named: "tabs_ascii_clipped")
    }
}
