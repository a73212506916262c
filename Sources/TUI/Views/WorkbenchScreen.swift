// WorkbenchScreen: the workbench's whole screen as a pure function of (WorkbenchState, UI state)
// into a ScreenBuffer. No curses, clock or disk: snapshot tests render it on a fixed trace.
//
// Layout (rows): header (2) · body · input line (1) · key bar (1)
// Body: site list with firing-rate bars | spike raster over the membrane heatmap, the selected
// neuron's membrane plot | bottom strip: stats · outliers · output · training.

import Foundation
import Neurons
import Models
import Workbench

/// UI-only state (what is not the inspection itself).
public struct WorkbenchUI: Sendable {
    public var showHelp = false
    public var helpScroll = 0
    /// The spikes panel shows the overview (firing rate of every site × token) instead of the
    /// selected site's raster (`v`).
    public var overview = false
    /// The raster shows the diff against the pinned baseline (`d`).
    public var diff = false
    /// Non-nil while the prompt (or, with `jumping`, a neuron index) is being edited.
    public var editing: TextFieldState?
    /// The text field asks for a neuron index (`/`) rather than a prompt.
    public var jumping = false
    /// Examples (GLUE rows) the user can step through with g / n / N.
    public var examples: [ExampleRow] = []
    public var exampleFile: String?
    public var exampleIndex = 0
    /// One-line message (saved, exported, errors of UI actions).
    public var message = ""
    public var sessionPath: String?
    public init() {}
}

public enum WorkbenchScreen {
    public static let minimumSize = Size(width: 80, height: 24)

    /// Draws everything for `s` into `buf` (which is `size`).
    public static func render(_ s: WorkbenchState, ui: WorkbenchUI, caps: Capabilities, into buf: inout ScreenBuffer) {
        buf.asciiSpellings = !caps.unicode
        let area = buf.area
        let rows = area.rows([.fixed(2), .fill(), .fixed(1), .fixed(1)])
        header(s, caps: caps, in: rows[0], into: &buf)
        body(s, ui: ui, caps: caps, in: rows[1], into: &buf)
        inputLine(s, ui: ui, caps: caps, in: rows[2], into: &buf)
        KeyBar(KeyMap.standard.statusBar(caps), caps: caps).render(in: rows[3], into: &buf)
        if let sweep = s.sweep, !ui.showHelp { sweepPopup(sweep, caps: caps, in: area, into: &buf) }
        if ui.showHelp {
            var p = Popup(title: "spikescope — keys", lines: KeyMap.standard.helpLines(caps) + [
                "", Line("Controls: k scales the threshold (and elastic amplitude) of a site: larger k, fewer spikes.", style: .dim),
                Line("Firing rate (site list, stats, rate(k) at the current k alike): nonzero spikes / (steps x neurons),", style: .dim),
                Line("over every traced step: the prompt and the generated tokens.", style: .dim),
                Line("GIF (SpikeLLM): per token, 2^abits levels; salient channels 2^addbit steps (m/M, x/X, l/L).", style: .dim),
                Line("Energy: ACs = Σ spikes × fan-out of the layers they feed (+ residual adds); MACs for float inputs;", style: .dim),
                Line("pJ = 4.6·MAC + 0.9·AC (45 nm); dense = the float model, every linear a MAC per token.", style: .dim),
                Line("Esc or ? closes this help; ↑/↓ scroll.", style: .dim)], caps: caps)
            p.scroll = ui.helpScroll
            p.render(in: area, into: &buf)
        }
    }

    /// The sweep (`w`): per value the energy, the output's divergence from the float twin and the
    /// mean firing rate, with bars for energy (vs dense) and divergence scaled to their largest.
    static func sweepPopup(_ r: SweepResult, caps: Capabilities, in area: Rect, into buf: inout ScreenBuffer) {
        let levels = caps.glyphs.levels
        func bar(_ v: Double, _ top: Double, _ w: Int) -> String {
            let units = Int((max(0, v) / max(top, 1e-30) * Double(w * levels.count)).rounded())
            return String(repeating: levels.last!, count: units / levels.count) + (units % levels.count > 0 ? String(levels[units % levels.count - 1]) : "")
        }
        let div = r.rows.map { $0.outputKL ?? ($0.classProbabilityDelta.map { $0.map(abs).max() ?? 0 } ?? 0) }
        let divName = r.rows.first?.outputKL != nil ? "KL vs float" : "max |Δp| vs float"
        let dense = r.rows.map(\.densePJ).max() ?? 1, topPJ = max(dense, r.rows.map(\.pj).max() ?? 0), topDiv = div.max() ?? 1
        var lines: [Line] = [Line("\(r.control) over \(r.rows.count) values, \(r.tokens) tokens; pJ bars against the dense (float) cost", style: .dim),
                             Line([Span(TextFit.pad(r.control, to: 6), style: .bold), Span(TextFit.pad("pJ", to: 22), style: .bold),
                                   Span(TextFit.pad(divName, to: 24), style: .bold), Span("mean rate", style: .bold)])]
        for (row, d) in zip(r.rows, div) {
            let rate = row.sites.isEmpty ? 0 : row.sites.map(\.rate).reduce(0, +) / Double(row.sites.count)
            lines.append(Line([Span(TextFit.pad(String(format: "%.3g", row.value), to: 6)),
                               Span(TextFit.pad(String(format: "%.3g ", row.pj) + bar(row.pj, topPJ, 12), to: 22), style: Style(fg: .yellow)),
                               Span(TextFit.pad(String(format: "%.3g ", d) + bar(d, topDiv, 12), to: 24), style: Style(fg: .magenta)),
                               Span(String(format: "%.3f", rate))]))
        }
        lines.append(Line("dense (float) \(String(format: "%.3g", dense)) pJ · w closes", style: .dim))
        Popup(title: "sweep · energy vs fidelity", lines: lines, caps: caps).render(in: area, into: &buf)
    }

    // MARK: header

    /// A model's name on screen: the file, or for an HF folder's standard weight names
    /// (model.safetensors, its shard index, pytorch_model.bin) the folder.
    static func displayName(ofModel path: String) -> String {
        let url = URL(fileURLWithPath: path), file = url.lastPathComponent
        let standard = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"]
        return standard.contains(file) ? url.deletingLastPathComponent().lastPathComponent : file
    }

    static func header(_ s: WorkbenchState, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        let m = s.summary
        let arch = m.family.displayName
        var l1: [Span] = [Span(" spikescope ", style: Style(fg: .black, bg: .cyan, .bold)),
                          Span(" \(arch) \(m.layers)×\(m.width) V=\(m.vocab)", style: .bold)]
        l1.append(Span("  neuron ", style: .dim)); l1.append(Span(s.neuron.rawValue, style: .bold))
        if let q = s.spikeLLM, s.neuron == .gif {
            // SpikeLLM's controls replace k (it has no frequency control).
            l1.append(Span("  abits ", style: .dim)); l1.append(Span("\(q.abits)", style: Style(fg: .yellow, .bold)))
            l1.append(Span(" +\(q.addbit)", style: Style(fg: .yellow, .bold)))
            l1.append(Span(" (T \(q.steps))", style: .dim))
            l1.append(Span("  low_p ", style: .dim)); l1.append(Span(String(format: "%.2f", q.lowP), style: Style(fg: .yellow, .bold)))
            if let w = q.wbits { l1.append(Span("  W\(w)", style: .bold)) }
            if s.neuron == .gif, let b = s.selectedTrace?.bitsPerActivation { l1.append(Span(String(format: "  %.2f bits", b), style: .dim)) }
        } else {
            if let p = s.gifOutlierFraction {
                l1.append(Span(p > 0 ? " saliency \(Int((p * 100).rounded()))%" : " uniform", style: Style(fg: .magenta)))
                if let b = s.selectedTrace?.bitsPerActivation { l1.append(Span(String(format: " %.2f bits", b), style: .dim)) }
            }
            if let T = s.timesteps { l1.append(Span("  T ", style: .dim)); l1.append(Span("\(T)", style: .bold)) }
            let kSel = s.cursor.site < s.k.count ? s.k[s.cursor.site] : 2
            l1.append(Span("  k ", style: .dim))
            l1.append(Span(String(format: "%.2f", kSel), style: Style(fg: .yellow, .bold)))
            l1.append(Span(s.allSites ? " (all sites)" : " (this site)", style: .dim))
        }
        if let b = s.baseline {
            l1.append(Span("  vs B ", style: .dim)); l1.append(Span(b.label, style: Style(fg: .magenta, .bold)))
        }
        if let t = s.training {
            l1.append(Span("  train ", style: .dim))
            l1.append(Span("\(t.state) \(t.step)/\(t.totalSteps) loss \(String(format: "%.3f", t.loss))", style: Style(fg: .green)))
        }
        // The file last: on a narrow terminal the controls stay visible and the name is cut.
        if let p = s.modelPath { l1.append(Span("  " + displayName(ofModel: p), style: .dim)) }
        Line(l1).render(in: Rect(x: r.x, y: r.y, width: r.width, height: 1), into: &buf, ellipsis: caps.glyphs.ellipsis)

        var l2: [Span] = []
        let stepName = m.family.steps == .tokens ? "token" : "τ"
        l2.append(Span(" step ", style: .dim))
        // An empty input has no step to be on: 0/0, not 1/0.
        l2.append(Span("\(min(s.cursor.step + 1, s.stepCount))/\(s.stepCount)", style: .bold))
        l2.append(Span(" (\(stepName))", style: .dim))
        if m.family.steps == .timesteps {
            l2.append(Span("  token ", style: .dim)); l2.append(Span("\(s.cursor.token + 1)/\(s.tokenCount)", style: .bold))
        }
        if let site = s.selectedSite { l2.append(Span("  site ", style: .dim)); l2.append(Span(site, style: Style(fg: .cyan))) }
        l2.append(Span(String(format: "  energy %.3g pJ (dense %.3g)", s.energy.pj, s.energy.densePJ), style: .dim))
        // A staged rerun: the prompt's trace is on screen and the continuation streams in.
        if s.busy && s.partial { l2.append(Span("  " + s.status, style: Style(fg: .yellow))) }
        else if s.busy { l2.append(Span("  computing…", style: Style(fg: .yellow))) }
        else { l2.append(Span("  " + s.status, style: .dim)) }
        Line(l2).render(in: Rect(x: r.x, y: r.y + 1, width: r.width, height: 1), into: &buf, ellipsis: caps.glyphs.ellipsis)
    }

    // MARK: body

    /// Where the site list and the raster sit on a screen of `size` (shared by drawing and clicks).
    public static func layout(size: Size) -> (sites: Rect, raster: Rect, lower: Rect, strip: Rect) {
        let rows = Rect(size: size).rows([.fixed(2), .fill(), .fixed(1), .fixed(1)])
        let r = rows[1]
        let cols = r.columns([.fixed(min(34, max(22, r.width / 4))), .fill()])
        let stripH = max(8, min(12, r.height / 3))
        let right = cols[1].rows([.fill(), .fixed(stripH)])
        let top = right[0].rows([.percent(50), .fill()])
        return (cols[0], top[0], top[1], right[1])
    }

    /// The first visible site row of the site list (the list scrolls to keep the cursor centred).
    static func firstVisibleSite(_ s: WorkbenchState, rows visible: Int) -> Int {
        max(0, min(s.cursor.site - visible / 2, s.siteNames.count - visible))
    }

    /// The first raster column shown (the raster scrolls to keep the cursor column centred).
    static func firstVisibleColumn(cursor: Int?, columns: Int, width: Int) -> Int {
        max(0, min((cursor ?? 0) - width / 2, columns - width))
    }

    static func body(_ s: WorkbenchState, ui: WorkbenchUI, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        let l = layout(size: buf.size)
        siteList(s, caps: caps, in: l.sites, into: &buf)
        let top = [l.raster, l.lower]
        let right = [Rect(x: 0, y: 0, width: 0, height: 0), l.strip]
        if ui.overview { overview(s, caps: caps, in: top[0], into: &buf) }
        else if ui.diff, s.baseline != nil { diffRaster(s, caps: caps, in: top[0], into: &buf) }
        else { raster(s, caps: caps, in: top[0], into: &buf) }
        let mem = top[1].columns([.percent(60), .fill()])
        if ui.diff, s.baseline != nil {
            membraneDiff(s, caps: caps, in: mem[0], into: &buf)
            layerDivergence(s, caps: caps, in: mem[1], into: &buf)
        } else {
            membrane(s, caps: caps, in: mem[0], into: &buf)
            neuronPlot(s, caps: caps, in: mem[1], into: &buf)
        }
        let strip = right[1].columns([.percent(30), .percent(22), .fill(), .percent(22)])
        stats(s, caps: caps, in: strip[0], into: &buf)
        if ui.diff, let cmp = s.comparison { mostChanged(cmp, caps: caps, in: strip[1], into: &buf) }
        else { outliers(s, caps: caps, in: strip[1], into: &buf) }
        output(s, ui: ui, caps: caps, in: strip[2], into: &buf)
        training(s, caps: caps, in: strip[3], into: &buf)
    }

    static func panel(_ title: String, focused: Bool, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) -> Rect {
        let b = Block(title: title, focused: focused, caps: caps)
        b.render(in: r, into: &buf)
        return r.inset(by: 1)
    }

    static func siteList(_ s: WorkbenchState, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        // A list longer than the panel says which part is shown (a LLaMA has 7 sites per layer).
        let visible = max(r.height - 2, 0)
        let first = firstVisibleSite(s, rows: visible)
        let range = s.siteNames.count > visible && visible > 0
            ? " \(first + 1)–\(min(s.siteNames.count, first + visible))/\(s.siteNames.count)" : ""
        let inner = panel("sites" + range + " · firing rate", focused: s.cursor.focus == .sites, caps: caps, in: r, into: &buf)
        guard !inner.isEmpty else { return }
        for (row, i) in (first..<min(s.siteNames.count, first + visible)).enumerated() {
            let y = inner.y + row
            let name = shortSite(s.siteNames[i])
            let rate = i < s.stats.count ? s.stats[i].firingRate : 0
            let selected = i == s.cursor.site
            let nameW = min(inner.width, max(8, inner.width - 12))
            let style: Style = selected ? .reverse : .plain
            buf.write(TextFit.pad(TextFit.truncate(name, to: nameW, ellipsis: caps.glyphs.ellipsis), to: nameW),
                      x: inner.x, y: y, style: style, clip: inner)
            let barRect = Rect(x: inner.x + nameW, y: y, width: max(0, inner.width - nameW), height: 1)
            if let c = s.comparison?.sites.first(where: { $0.name == s.siteNames[i] }), i < s.stats.count {
                // Pinned baseline: the change of this site's rate (and a mark when its output moved).
                let label = String(format: "%+.3f", c.deltaRate) + (c.changed > 0 ? "*" : " ")
                let style: Style = c.changed == 0 ? .dim : (c.deltaRate >= 0 ? Style(fg: .green) : Style(fg: .red))
                buf.write(TextFit.pad(label, to: barRect.width), in: barRect, style: style)
            } else if i < s.stats.count && s.stats[i].neuron != .none {
                BarGauge(value: rate, maximum: 1, label: String(format: "%.2f", rate), caps: caps).render(in: barRect, into: &buf)
            } else {
                buf.write(" —", in: barRect, style: .dim)
            }
        }
    }

    /// "blocks.3.att.lif" → "3.att.lif"; "encoder.layer.2.attention.self.query" → "2.self.query";
    /// "model.layers.0.self_attn.q_proj" → "0.q_proj" (the HF decoder layout).
    static func shortSite(_ n: String) -> String {
        n.replacingOccurrences(of: "model.layers.", with: "").replacingOccurrences(of: "self_attn.", with: "")
            .replacingOccurrences(of: "mlp.", with: "")
            .replacingOccurrences(of: "blocks.", with: "").replacingOccurrences(of: "encoder.layer.", with: "")
            .replacingOccurrences(of: "attention.output.dense", with: "attn.out")
            .replacingOccurrences(of: "attention.", with: "").replacingOccurrences(of: "intermediate.dense", with: "ffn.in")
            .replacingOccurrences(of: "output.dense", with: "ffn.out")
    }

    /// Columns of the raster/heatmap: which rows of the trace are shown, and which is the cursor.
    /// Steps that are tokens: every step; a site traced as [substeps, tokens] on such a model
    /// (GIF): every token's substeps in turn. Timesteps: the tokens of the current step τ.
    static func columns(_ s: WorkbenchState, site: SiteTrace) -> (rows: [Int], cursor: Int?) {
        if s.summary.family.steps == .tokens, site.layout.count == 2, site.layout[0] > 0 {
            // GIF sub-steps of a token-stepped model: each token's T sub-steps side by side (the
            // cursor, which moves by tokens, on its first); τ is not a cursor of its own here.
            let (T, L) = (site.layout[0], site.layout[1])
            return ((0..<L).flatMap { tok in (0..<T).map { $0 * L + tok } }, s.cursor.token * T)
        }
        if s.summary.family.steps == .timesteps || site.layout.count == 2 {
            let L = site.layout.count == 2 ? site.layout[1] : max(s.tokenCount, 1)
            let T = max(site.steps / max(L, 1), 1)
            let tau = min(s.cursor.step, T - 1)
            return ((0..<L).map { tau * L + $0 }, s.cursor.token)
        }
        return (Array(0..<site.steps), s.cursor.step)
    }

    /// Columns per token in `columns`: a GIF site of a token-stepped model shows each token's
    /// sub-steps side by side; everything else one column per token.
    static func subSteps(_ s: WorkbenchState, site: SiteTrace) -> Int {
        s.summary.family.steps == .tokens && site.layout.count == 2 ? max(site.layout[0], 1) : 1
    }

    /// Values [neurons × columns] of `array` at the site, from neuron `offset`, `n` neurons.
    static func grid(_ array: [Float], site: SiteTrace, rows: [Int], offset: Int, n: Int) -> [Float] {
        var v = [Float](repeating: 0, count: n * rows.count)
        let C = site.width
        for i in 0..<n {
            let neuron = offset + i
            guard neuron < C else { break }
            for (j, r) in rows.enumerated() where r * C + neuron < array.count {
                v[i * rows.count + j] = array[r * C + neuron]
            }
        }
        return v
    }

    static func raster(_ s: WorkbenchState, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        guard let site = s.selectedTrace else {
            let inner = panel("spikes", focused: false, caps: caps, in: r, into: &buf)
            buf.write(s.error ?? (s.busy ? "computing…" : "no trace yet — press Enter to run"), in: inner, style: s.error == nil ? .dim : Style(fg: .red))
            return
        }
        let marked = !site.salient.isEmpty  // SpikeLLM: the gutter marks the salient channels' rows
        let title = "spikes \(shortSite(site.name)) · neurons \(s.cursor.neuronOffset)…\(min(site.width, s.cursor.neuronOffset + rasterRows(panelHeight: r.height)) - 1) of \(site.width)"
            + (marked ? " · * salient" : "")
        guard let f = rasterFrame(s, site: site, title: title, caps: caps, in: r, into: &buf) else { return }
        let (inner, cols, cursor, first, n) = (f.inner, f.cols, f.cursor, f.first, f.n)
        let values = grid(site.spikes, site: site, rows: cols, offset: s.cursor.neuronOffset, n: n)
        Raster(values: values, rows: n, columns: cols.count, rowOffset: 0, columnOffset: first,
               cursorColumn: cursor, caps: caps).render(in: inner, into: &buf)
        if let e = s.error { buf.write(e, in: Rect(x: inner.x, y: inner.bottom - 1, width: inner.width, height: 1), style: Style(fg: .red)) }
    }

    /// A raster-like panel's frame: border and title, the column axis, the neuron-index gutter;
    /// returns the cell area, the columns (trace rows) with the cursor, the first column shown and
    /// the neuron rows drawn (nil when there is no room).
    static func rasterFrame(_ s: WorkbenchState, site: SiteTrace, title: String, caps: Capabilities, in r: Rect,
                            into buf: inout ScreenBuffer) -> (inner: Rect, cols: [Int], cursor: Int?, first: Int, n: Int)? {
        let (cols, cursor) = columns(s, site: site)
        var inner = panel(title, focused: s.cursor.focus == .raster, caps: caps, in: r, into: &buf)
        guard !inner.isEmpty else { return nil }
        let axis = columnAxisRow(&inner)
        let n = min(inner.height, max(site.width - s.cursor.neuronOffset, 0))
        inner = rowGutter(site, offset: s.cursor.neuronOffset, rows: n, in: inner, into: &buf)
        let first = firstVisibleColumn(cursor: cursor, columns: cols.count, width: inner.width)
        if let axis {
            columnAxis(s, perToken: subSteps(s, site: site), columns: cols.count, first: first, cursor: cursor,
                       x: inner.x, width: inner.width, y: axis, caps: caps, into: &buf)
        }
        return (inner, cols, cursor, first, n)
    }

    /// Neuron rows a raster panel `height` rows high shows: inside the border, less the column axis
    /// (which it gets from 5 inner rows on). PgUp/PgDn page by exactly this.
    static func rasterRows(panelHeight height: Int) -> Int {
        let inner = max(height - 2, 0)
        return inner >= 5 ? inner - 1 : inner
    }

    /// Takes the bottom row of `inner` for the column axis when the panel is at least 5 rows high;
    /// returns its y (nil: no room).
    static func columnAxisRow(_ inner: inout Rect) -> Int? {
        guard inner.height >= 5 else { return nil }
        inner = Rect(x: inner.x, y: inner.y, width: inner.width, height: inner.height - 1)
        return inner.bottom
    }

    /// The columns' axis under a raster: the token index every 10 tokens, and a caret under the
    /// cursor column followed by its token's index and text.
    static func columnAxis(_ s: WorkbenchState, perToken: Int = 1, columns: Int, first: Int, cursor: Int?, x: Int, width: Int, y: Int,
                           caps: Capabilities, into buf: inout ScreenBuffer) {
        let shown = min(width, max(columns - first, 0))
        var c = 0
        while c < shown {
            let col = first + c
            if col % perToken == 0, (col / perToken) % 10 == 0 {
                let label = String(col / perToken)
                buf.write(label, in: Rect(x: x + c, y: y, width: min(label.count, width - c), height: 1), style: .dim)
                c += label.count + 1
                continue
            }
            c += 1
        }
        guard let cursor, cursor >= first, cursor - first < width else { return }
        let token = cursor / perToken
        // Control characters (a newline token) shown as "·", never written raw.
        let text = token < s.tokenStrings.count
            ? " " + String(String.UnicodeScalarView(s.tokenStrings[token].unicodeScalars.map { $0.properties.generalCategory == .control ? "·" : $0 }))
            : ""
        let label = (caps.unicode ? "▲" : "^") + "\(token)" + text
        let at = x + cursor - first
        buf.write(label, in: Rect(x: at, y: y, width: max(0, min(label.count, x + width - at)), height: 1), style: Style(fg: .yellow))
    }

    /// The rows' axis: each neuron's index (dim), with `*` after a salient channel's (SpikeLLM),
    /// drawn left of `inner` when it leaves at least 16 columns for the plot. Returns the rest.
    static func rowGutter(_ site: SiteTrace, offset: Int, rows n: Int, in inner: Rect, into buf: inout ScreenBuffer) -> Rect {
        let digits = String(max(site.width - 1, 0)).count
        let marked = !site.salient.isEmpty
        let w = digits + (marked ? 1 : 0)
        guard inner.width - w - 1 >= 16 else {
            guard marked, inner.width > 2 else { return inner }
            let salient = Set(site.salient)  // too narrow for indices: only the marks
            for i in 0..<n where salient.contains(offset + i) {
                buf.write("*", in: Rect(x: inner.x, y: inner.y + i, width: 1, height: 1), style: Style(fg: .magenta, .bold))
            }
            return Rect(x: inner.x + 1, y: inner.y, width: inner.width - 1, height: inner.height)
        }
        let salient = Set(site.salient)
        for i in 0..<n {
            let index = String(offset + i)
            let label = String(repeating: " ", count: digits - index.count) + index
            buf.write(label, in: Rect(x: inner.x, y: inner.y + i, width: digits, height: 1), style: .dim)
            if salient.contains(offset + i) {
                buf.write("*", in: Rect(x: inner.x + digits, y: inner.y + i, width: 1, height: 1), style: Style(fg: .magenta, .bold))
            }
        }
        return Rect(x: inner.x + w + 1, y: inner.y, width: inner.width - w - 1, height: inner.height)
    }

    static func membrane(_ s: WorkbenchState, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        guard let site = s.selectedTrace else { _ = panel("membrane", focused: false, caps: caps, in: r, into: &buf); return }
        let box = panel("membrane (threshold \(String(format: "%.3g", site.threshold)) marked)", focused: s.cursor.focus == .membrane,
                        caps: caps, in: r, into: &buf)
        guard !box.isEmpty else { return }
        let (cols, cursor) = columns(s, site: site)
        let n = min(box.height, max(site.width - s.cursor.neuronOffset, 0))
        let inner = rowGutter(site, offset: s.cursor.neuronOffset, rows: n, in: box, into: &buf)
        let first = max(0, min((cursor ?? 0) - inner.width / 2, cols.count - inner.width))
        let values = grid(site.membrane, site: site, rows: cols, offset: s.cursor.neuronOffset, n: n)
        let st = s.selectedStats
        let range: ClosedRange<Float>? = st.map { $0.membraneMin < $0.membraneMax ? $0.membraneMin...$0.membraneMax : nil } ?? nil
        Heatmap(values: values, rows: n, columns: cols.count, rowOffset: 0, columnOffset: first, range: range,
                threshold: site.neuron == .none ? nil : site.threshold, caps: caps).render(in: inner, into: &buf)
    }

    static func neuronPlot(_ s: WorkbenchState, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        guard let site = s.selectedTrace else { _ = panel("neuron", focused: false, caps: caps, in: r, into: &buf); return }
        let neuron = min(s.cursor.neuron, max(site.width - 1, 0))
        if s.summary.family.steps == .timesteps, site.layout.count == 2 {
            neuronAcrossTimesteps(s, site: site, neuron: neuron, caps: caps, in: r, into: &buf)
            return
        }
        // The columns the raster shows, in its order (a GIF token's sub-steps side by side).
        let (cols, _) = columns(s, site: site)
        let series = cols.map { Double(site.membrane[$0 * site.width + neuron]) }
        let per = subSteps(s, site: site)
        let threshold = site.neuron == .none ? nil : Double(site.threshold)
        let title = "neuron \(neuron) v" + (threshold.map { " · \(caps.glyphs.rule) θ \(String(format: "%.3g", $0))" } ?? "")
        let inner = panel(title, focused: false, caps: caps, in: r, into: &buf)
        guard !inner.isEmpty else { return }
        let plot = LinePlot(series, threshold: threshold, caps: caps)
        let range = plot.effectiveRange()
        let tokens = cols.count / per
        let area = axes(top: String(format: "%.3g", range.upperBound), bottom: String(format: "%.3g", range.lowerBound),
                        left: "0", right: String(max(tokens - 1, 0)), name: per > 1 ? "token (×\(per) steps)" : "token",
                        caps: caps, in: inner, into: &buf)
        plot.render(in: area, into: &buf)
    }

    /// SpikeBERT-style models: the selected neuron at every timestep τ (rows) of every token
    /// (columns, the cursor token marked), then its membrane at each τ for the cursor token.
    static func neuronAcrossTimesteps(_ s: WorkbenchState, site: SiteTrace, neuron: Int, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        let (T, L) = (site.layout[0], site.layout[1])
        let inner = panel("neuron \(neuron) · every τ × token", focused: false, caps: caps, in: r, into: &buf)
        guard !inner.isEmpty, T > 0, L > 0 else { return }
        let tok = min(s.cursor.token, L - 1)
        let labelW = 1 + String(T - 1).count + 1
        let cells = Rect(x: inner.x + labelW, y: inner.y, width: max(0, inner.width - labelW), height: inner.height)
        let first = firstVisibleColumn(cursor: tok, columns: L, width: cells.width)
        let shownT = min(T, inner.height)
        var values = [Float](repeating: 0, count: T * L)
        for t in 0..<T { for l in 0..<L { values[t * L + l] = site.spikes[(t * L + l) * site.width + neuron] } }
        for t in 0..<shownT {
            let style: Style = t == min(s.cursor.step, T - 1) ? Style(fg: .yellow, .bold) : .dim
            buf.write("τ\(t)", in: Rect(x: inner.x, y: inner.y + t, width: labelW, height: 1), style: style)
        }
        Raster(values: values, rows: T, columns: L, columnOffset: first, cursorColumn: tok, caps: caps)
            .render(in: Rect(x: cells.x, y: cells.y, width: cells.width, height: shownT), into: &buf)
        guard inner.height > shownT else { return }
        let v = (0..<T).map { String(format: "%.2g", site.membrane[($0 * L + tok) * site.width + neuron]) }
        let text = tok < s.tokenStrings.count ? " " + s.tokenStrings[tok] : ""
        Paragraph([Line([Span("v at token \(tok)\(text): ", style: .dim), Span(v.joined(separator: " "))]),
                   Line("θ \(String(format: "%.3g", site.threshold)); columns: tokens", style: .dim)],
                  overflow: .wrap, caps: caps)
            .render(in: Rect(x: inner.x, y: inner.y + shownT, width: inner.width, height: inner.height - shownT), into: &buf)
    }

    /// Labels a plot's axes inside `r` and returns the area left for the plot: the y range's ends
    /// right-aligned in a left gutter (top = largest, bottom = smallest), and on the bottom row
    /// the x range's ends with the axis name between them. Too small a rect (under 3 rows, or
    /// under 10 columns for the plot) is returned unlabelled.
    static func axes(top: String, bottom: String, left: String, right: String, name: String,
                     caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) -> Rect {
        let gw = max(top.count, bottom.count)
        guard r.height >= 3, r.width - gw - 1 >= 10 else { return r }
        let plot = Rect(x: r.x + gw + 1, y: r.y, width: r.width - gw - 1, height: r.height - 1)
        buf.write(String(repeating: " ", count: gw - top.count) + top, in: Rect(x: r.x, y: r.y, width: gw, height: 1), style: .dim)
        buf.write(String(repeating: " ", count: gw - bottom.count) + bottom, in: Rect(x: r.x, y: plot.bottom - 1, width: gw, height: 1), style: .dim)
        let y = r.bottom - 1
        buf.write(left, in: Rect(x: plot.x, y: y, width: min(left.count, plot.width), height: 1), style: .dim)
        let rx = max(plot.x + left.count + 1, plot.right - right.count)
        buf.write(right, in: Rect(x: rx, y: y, width: max(0, plot.right - rx), height: 1), style: .dim)
        let room = rx - (plot.x + left.count) - 2
        if room >= name.count {
            buf.write(name, in: Rect(x: plot.x + left.count + 1 + (room - name.count) / 2, y: y, width: name.count, height: 1), style: .dim)
        }
        return plot
    }

    /// The raster against the pinned baseline: per cell, spiked only in this run (+, green), only
    /// in B (-, red), in both (#, dim), in neither (blank); the site's rows and columns as the raster's.
    static func diffRaster(_ s: WorkbenchState, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        guard let site = s.selectedTrace, let b = s.baseline?.run.trace[site.name], Comparison.comparable(site, b) else {
            let inner = panel("diff vs B", focused: false, caps: caps, in: r, into: &buf)
            let why = s.selectedTrace.flatMap { s.baseline?.run.trace[$0.name] } == nil ? "this site is not in the baseline B"
                : "B's trace of this site does not line up cell by cell (e.g. GIF steps against the float twin): rates and layers compare, cells do not"
            Paragraph(why, style: .dim, overflow: .wrap, caps: caps).render(in: inner, into: &buf)
            return
        }
        let title = "diff vs B \(shortSite(site.name)) · + only here  - only B  # both"
        guard let f = rasterFrame(s, site: site, title: title, caps: caps, in: r, into: &buf) else { return }
        let (inner, cols, cursor, first, n) = (f.inner, f.cols, f.cursor, f.first, f.n)
        let a = grid(site.spikes, site: site, rows: cols, offset: s.cursor.neuronOffset, n: n)
        let bv = grid(b.spikes, site: b, rows: cols.filter { $0 < b.steps }, offset: s.cursor.neuronOffset, n: n)
        let bCols = cols.filter { $0 < b.steps }.count
        for i in 0..<n {
            for dx in 0..<min(inner.width, cols.count - first) {
                let j = first + dx
                let x = a[i * cols.count + j] != 0, y = j < bCols && bv[i * bCols + j] != 0
                let (g, st): (Character, Style) = x && y ? ("#", .dim) : x ? ("+", Style(fg: .green, .bold)) : y ? ("-", Style(fg: .red, .bold)) : (" ", .plain)
                var style = st
                if j == cursor { style.attributes.formUnion(.reverse) }
                buf.put(g, x: inner.x + dx, y: inner.y + i, style: style.resolved(for: caps))
            }
        }
    }

    /// Diff mode's outliers panel: the sites whose output moved most from B (relative error).
    static func mostChanged(_ cmp: RunComparison, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        let inner = panel("most changed vs B", focused: false, caps: caps, in: r, into: &buf)
        guard !inner.isEmpty else { return }
        let byName = Dictionary(cmp.sites.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let rows = cmp.ranking.compactMap { byName[$0] }.map {
            [shortSite($0.name), $0.relativeError.map { String(format: "%.3g", $0) } ?? "-", String(format: "%+.3f", $0.deltaRate)]
        }
        Table(columns: [TableColumn("site", width: .fill()), TableColumn("rel", width: .fixed(6)), TableColumn("Δrate", width: .fixed(7))],
              rows: rows, caps: caps).render(in: inner, into: &buf)
    }

    /// The membrane of this run minus the baseline's at the selected site (neurons × steps), on a
    /// scale symmetric about 0 (the title gives its end).
    static func membraneDiff(_ s: WorkbenchState, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        guard let site = s.selectedTrace, let b = s.baseline?.run.trace[site.name], Comparison.comparable(site, b) else {
            _ = panel("membrane − B", focused: false, caps: caps, in: r, into: &buf); return
        }
        let (cols, cursor) = columns(s, site: site)
        let shared = cols.filter { $0 < b.steps }
        var d = [Float](repeating: 0, count: site.membrane.count)
        for i in 0..<min(site.membrane.count, b.membrane.count) { d[i] = site.membrane[i] - b.membrane[i] }
        let top = max(d.map { abs($0) }.max() ?? 0, 1e-6)
        let box = panel("membrane − B (±\(String(format: "%.3g", top)))", focused: false, caps: caps, in: r, into: &buf)
        guard !box.isEmpty else { return }
        let n = min(box.height, max(site.width - s.cursor.neuronOffset, 0))
        let inner = rowGutter(site, offset: s.cursor.neuronOffset, rows: n, in: box, into: &buf)
        let first = max(0, min((cursor ?? 0) - inner.width / 2, shared.count - inner.width))
        let values = grid(d, site: site, rows: shared, offset: s.cursor.neuronOffset, n: n)
        Heatmap(values: values, rows: n, columns: shared.count, rowOffset: 0, columnOffset: first, range: -top...top, caps: caps)
            .render(in: inner, into: &buf)
    }

    /// Cosine of this run's residual stream to the baseline's after each layer, one bar per layer;
    /// the first below 0.99 (where it starts to go wrong) in red.
    static func layerDivergence(_ s: WorkbenchState, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        let cos = s.comparison?.layerCosine ?? []
        let firstBad = s.comparison?.firstDivergentLayer
        let inner = panel("cos to B per layer" + (firstBad.map { " · < 0.99 from \($0)" } ?? ""), focused: false, caps: caps, in: r, into: &buf)
        guard !inner.isEmpty else { return }
        guard !cos.isEmpty else {
            Paragraph("no layer streams for this family", style: .dim, overflow: .wrap, caps: caps).render(in: inner, into: &buf)
            return
        }
        // Scroll so the first divergent layer is visible.
        let start = max(0, min((firstBad ?? 0) - inner.height / 2, cos.count - inner.height))
        for (row, i) in (start..<min(cos.count, start + inner.height)).enumerated() {
            let label = String(format: "%2d ", i)
            buf.write(label, in: Rect(x: inner.x, y: inner.y + row, width: min(3, inner.width), height: 1), style: .dim)
            let bar = Rect(x: inner.x + 3, y: inner.y + row, width: max(0, inner.width - 3), height: 1)
            let v = max(0, min(1, cos[i]))
            let style: Style = i == firstBad ? Style(fg: .red, .bold) : Style(fg: .brightGreen)
            BarGauge(value: v, maximum: 1, label: String(format: "%.3f", cos[i]), caps: caps, style: style).render(in: bar, into: &buf)
        }
    }

    /// Where the overview's parts sit in a spikes panel `r`: site names, cells, the axis row, and
    /// the first site and token shown (shared by drawing and clicks).
    static func overviewGeometry(_ s: WorkbenchState, panel r: Rect) -> (names: Rect, cells: Rect, axis: Int?, firstSite: Int, firstToken: Int) {
        var inner = r.inset(by: 1)
        let axis = columnAxisRow(&inner)
        let nameW = min(14, max(6, inner.width / 4))
        let cells = Rect(x: inner.x + nameW + 1, y: inner.y, width: max(0, inner.width - nameW - 1), height: inner.height)
        let firstSite = max(0, min(s.cursor.site - inner.height / 2, s.siteNames.count - inner.height))
        let tokens = s.stats.map(\.firingRatePerToken.count).max() ?? 0
        return (Rect(x: inner.x, y: inner.y, width: nameW, height: inner.height), cells, axis, firstSite,
                firstVisibleColumn(cursor: s.cursor.token, columns: tokens, width: cells.width))
    }

    /// The overview: every site's firing rate per token as a heatmap (rows sites, columns tokens,
    /// 0 to the largest rate), the selected site's name reversed, the cursor token on the axis.
    /// Pass-through sites (no neuron) are blank.
    static func overview(_ s: WorkbenchState, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        let tokens = s.stats.map(\.firingRatePerToken.count).max() ?? 0
        var top: Float = 0
        for st in s.stats where st.neuron != .none { top = max(top, st.firingRatePerToken.max() ?? 0) }
        let title = "overview · firing rate, sites × tokens · 0…\(String(format: top < 0.01 ? "%.2g" : "%.2f", top))"
        _ = panel(title, focused: s.cursor.focus == .raster, caps: caps, in: r, into: &buf)
        let g = overviewGeometry(s, panel: r)
        guard !g.cells.isEmpty, tokens > 0 else { return }
        let rows = s.siteNames.count
        var values = [Float](repeating: .nan, count: rows * tokens)
        for (i, st) in s.stats.enumerated() where i < rows && st.neuron != .none {
            for (t, v) in st.firingRatePerToken.enumerated() { values[i * tokens + t] = v }
        }
        for row in 0..<min(g.names.height, rows - g.firstSite) {
            let i = g.firstSite + row
            let name = TextFit.pad(TextFit.truncate(shortSite(s.siteNames[i]), to: g.names.width, ellipsis: caps.glyphs.ellipsis), to: g.names.width)
            buf.write(name, in: Rect(x: g.names.x, y: g.names.y + row, width: g.names.width, height: 1), style: i == s.cursor.site ? .reverse : .dim)
        }
        Heatmap(values: values, rows: rows, columns: tokens, rowOffset: g.firstSite, columnOffset: g.firstToken,
                range: 0...max(top, 1e-6), caps: caps).render(in: g.cells, into: &buf)
        if let axis = g.axis {
            columnAxis(s, columns: tokens, first: g.firstToken, cursor: s.cursor.token, x: g.cells.x, width: g.cells.width, y: axis, caps: caps, into: &buf)
        }
    }

    static func stats(_ s: WorkbenchState, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        let inner = panel("stats", focused: s.cursor.focus == .stats, caps: caps, in: r, into: &buf)
        guard let st = s.selectedStats, !inner.isEmpty else { return }
        var lines: [Line] = [
            Line([Span("rate ", style: .dim), Span(String(format: "%.3f", st.firingRate), style: .bold),
                  Span(String(format: "  +%.3f −%.3f", st.positiveFraction, st.negativeFraction), style: .dim)]),
            Line([Span("v ", style: .dim), Span(String(format: "%.2f±%.2f [%.2f, %.2f]", st.membraneMean, st.membraneStd, st.membraneMin, st.membraneMax))]),
        ]
        if let site = s.selectedTrace, let q = s.spikeLLM, site.neuron == .gif {
            // SpikeLLM's neuron: no k; the levels, the salient share, what T steps could not carry,
            // and the per-token scale of the ordinary quantiser.
            lines.append(Line([Span("L ", style: .dim), Span("\(q.levels)", style: Style(fg: .yellow)),
                               Span("  salient ", style: .dim), Span("\(site.salient.count)/\(site.width)", style: Style(fg: .magenta)),
                               Span(" ×\(q.steps) steps", style: .dim)]))
            var l = [Span("uncarried ", style: .dim), Span("\(site.uncarried ?? 0)")]
            if let e = site.codingError { l += [Span("  err ", style: .dim), Span(String(format: "%.3g", e))] }
            lines.append(Line(l))
            if !site.amplitude.isEmpty {
                lines.append(Line([Span("scale/token ", style: .dim), Span(site.amplitude.prefix(8).map { String(format: "%.3g", $0) }.joined(separator: " "))]))
            }
        } else {
            lines.append(Line([Span("k ", style: .dim), Span(String(format: "%.2f", st.k), style: Style(fg: .yellow)),
                               Span("  θ ", style: .dim), Span(String(format: "%.3g", st.threshold))]))
            if !st.amplitude.isEmpty {
                // Where α comes from: the checkpoint (trained for T), or this input (calibrated).
                let origin: String
                if st.neuron.alphabet == nil { origin = "" }
                else if let T = s.trainedTimesteps { origin = s.timesteps == T ? " (checkpoint)" : " (this input; trained T \(T))" }
                else { origin = " (this input)" }
                lines.append(Line([Span("α/τ" + origin + " ", style: .dim),
                                   Span(st.amplitude.prefix(8).map { String(format: "%.3g", $0) }.joined(separator: " "))]))
            }
            if !s.frequencyCurve.isEmpty {
                // The same rate as the site list (the definition is in the help, with +/-).
                // A small plot (one bar per k, scaled to the largest rate; the current k in yellow),
                // then the k range and the rates at its ends.
                let curve = s.frequencyCurve, top = max(curve.map(\.rate).max() ?? 0, 1e-9)
                let levels = caps.glyphs.levels
                let kNow = s.cursor.site < s.k.count ? s.k[s.cursor.site] : 2
                var spans = [Span("rate(k) ", style: .dim)]
                for p in curve {
                    let i = min(levels.count - 1, max(0, Int((p.rate / top * Double(levels.count - 1)).rounded())))
                    spans.append(Span(p.rate <= 0 ? " " : String(levels[i]), style: abs(p.k - kNow) < 1e-6 ? Style(fg: .yellow, .bold) : .plain))
                }
                if let a = curve.first, let b = curve.last {
                    spans.append(Span(String(format: " k %.2g…%.2g: %.2f…%.2f", a.k, b.k, a.rate, b.rate), style: .dim))
                }
                lines.append(Line(spans))
            }
        }
        // Against the pinned baseline: Δ rate, cosine of the outputs, cells that changed.
        if let name = s.selectedSite, let c = s.comparison?.sites.first(where: { $0.name == name }) {
            lines.append(Line([Span("vs B ", style: Style(fg: .magenta)), Span(String(format: "Δ%+.3f", c.deltaRate), style: .bold),
                               Span(c.cosine.map { String(format: "  cos %.3f", $0) } ?? "  cos -", style: .plain),
                               Span("  changed \(c.changed)", style: .dim)]))
        }
        // What this site's spikes cost downstream (ACs = spikes × fan-out, the energy model).
        if let name = s.selectedTrace?.name, let ac = s.energy.sites[name], s.energy.ac > 0 {
            lines.append(Line([Span("energy ", style: .dim),
                               Span(String(format: "%.3g pJ", Energy.pjPerAC * ac)),
                               Span(String(format: " (%.0f%% of ACs)", 100 * ac / s.energy.ac), style: .dim)]))
        }
        Paragraph(lines, overflow: .truncate, caps: caps).render(in: Rect(x: inner.x, y: inner.y, width: inner.width, height: min(lines.count, inner.height)), into: &buf)
        let used = min(lines.count, inner.height)
        if inner.height - used >= 2 {
            let rest = Rect(x: inner.x, y: inner.y + used, width: inner.width, height: inner.height - used)
            let halves = rest.columns([.percent(50), .fill()], spacing: 1)
            // Rate per step (0 to 1, the newest steps at the right) and the membrane's histogram
            // (count of the fullest bin at the top, v from min to max along the bottom).
            let spark = st.firingRatePerStep.map(Double.init)
            let shown = max(0, halves[0].width - 2)
            let rateArea = axes(top: "1", bottom: "0", left: String(max(0, spark.count - shown)), right: String(max(spark.count - 1, 0)),
                                name: "rate/step", caps: caps, in: halves[0], into: &buf)
            Sparkline(spark, maximum: 1, caps: caps).render(in: rateArea, into: &buf)
            let hist = st.histogram.map(Double.init)
            let histArea = axes(top: String(Int(hist.max() ?? 0)), bottom: "0",
                                left: String(format: "%.2g", st.histogramRange.lowerBound),
                                right: String(format: "%.2g", st.histogramRange.upperBound), name: "v", caps: caps, in: halves[1], into: &buf)
            Histogram(hist, caps: caps).render(in: histArea, into: &buf)
        }
    }

    static func outliers(_ s: WorkbenchState, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        if let site = s.selectedTrace, !site.salientChannels.isEmpty {
            // GIF: the saliency ranking and the timesteps each channel got (* = outlier).
            let inner = panel("saliency · T per channel", focused: s.cursor.focus == .outliers, caps: caps, in: r, into: &buf)
            guard !inner.isEmpty else { return }
            let rows = site.salientChannels.map { [($0.outlier ? "*" : " ") + String($0.channel), String(format: "%.3g", $0.saliency), String($0.timesteps)] }
            Table(columns: [TableColumn("ch", width: .fixed(6)), TableColumn("S", width: .fixed(8)), TableColumn("T", width: .fill())],
                  rows: rows, caps: caps).render(in: inner, into: &buf)
            return
        }
        let inner = panel("outliers (z ≥ 3)", focused: s.cursor.focus == .outliers, caps: caps, in: r, into: &buf)
        guard let st = s.selectedStats, !inner.isEmpty else { return }
        if st.outliers.isEmpty {
            buf.write("none", in: inner, style: .dim)
            return
        }
        let rows = st.outliers.map { [String($0.channel), String(format: "%.3g", $0.value), String(format: "%.1f", $0.zScore), String(format: "%.2f", $0.firingRate)] }
        Table(columns: [TableColumn("ch", width: .fixed(5)), TableColumn("|x|", width: .fixed(7)),
                        TableColumn("z", width: .fixed(5)), TableColumn("rate", width: .fill())],
              rows: rows, caps: caps).render(in: inner, into: &buf)
    }

    static func output(_ s: WorkbenchState, ui: WorkbenchUI, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        let inner = panel("output", focused: s.cursor.focus == .output, caps: caps, in: r, into: &buf)
        guard !inner.isEmpty else { return }
        var lines: [Line] = []
        // The prediction of a classifier, for a GLUE row (with its gold label) or a typed sentence.
        func prediction(gold: String?) {
            guard let cls = s.run?.classLogits else { return }
            let mx = cls.max() ?? 0
            let e = cls.map { expf($0 - mx) }; let z = e.reduce(0, +)
            let probs = e.map { $0 / z }
            let labels = s.summary.labels
            let best = probs.indices.max { probs[$0] < probs[$1] } ?? 0
            let name = { (i: Int) in i < labels.count ? labels[i] : String(i) }
            var spans: [Span] = []
            if let gold { spans += [Span("gold ", style: .dim), Span(gold, style: .bold), Span("  ")] }
            let color: Color = gold == nil ? .cyan : (gold == name(best) ? .green : .red)
            spans += [Span("predicted ", style: .dim), Span(name(best), style: Style(fg: color, .bold))]
            lines.append(Line(spans))
            lines.append(Line(probs.indices.map { Span("\(name($0)) \(String(format: "%.2f", probs[$0]))  ") }))
        }
        if case .example(_, let row, let ex) = s.input {
            lines.append(Line([Span("row \(row) ", style: .dim), Span(ex.text)]))
            if let p = ex.textPair { lines.append(Line([Span("pair ", style: .dim), Span(p)])) }
            if s.run?.classLogits != nil { prediction(gold: ex.label ?? "?") } else {
                lines.append(Line("this model has no classifier head", style: .dim))
            }
        } else if s.summary.classes > 0 {
            prediction(gold: nil)
        }
        if let cmp = s.comparison {
            var spans = [Span("vs B ", style: Style(fg: .magenta))]
            if let d = cmp.classProbabilityDelta {
                let labels = s.summary.labels
                spans += d.indices.map { Span("\($0 < labels.count ? labels[$0] : String($0)) \(String(format: "%+.2f", d[$0]))  ") }
            }
            if let kl = cmp.outputKL {
                spans.append(Span(String(format: "KL %.3g", kl)))
                if let t1 = cmp.top1Agreement { spans.append(Span(String(format: " top-1 %.0f%%", 100 * t1), style: .dim)) }
                spans.append(Span("  "))
            }
            spans.append(Span(cmp.firstDivergentSite.map { "first < 0.99: \(shortSite($0))" } ?? "every site cos ≥ 0.99", style: .dim))
            lines.append(Line(spans))
        }
        if let lens = s.lens {
            // The logit lens (t): per layer the top next tokens after it, this run | B.
            let show = { (t: [String]) in t.map { $0.replacingOccurrences(of: "\n", with: "⏎") }.joined(separator: " ") }
            let tok = lens.token < s.tokenStrings.count ? s.tokenStrings[lens.token] : ""
            lines.append(Line([Span("lens at \(lens.token) ", style: Style(fg: .magenta)), Span(tok, style: .bold)]))
            for (i, l) in lens.layers.enumerated() {
                var spans = [Span(String(format: "%2d ", i), style: .dim), Span(show(l.a))]
                if !l.b.isEmpty { spans += [Span(" | ", style: .dim), Span(show(l.b), style: Style(fg: .magenta))] }
                lines.append(Line(spans))
            }
            Paragraph(lines, overflow: .truncate, caps: caps).render(in: inner, into: &buf)
            return
        }
        // Tokens with the cursor token highlighted (prompt, then generated in green).
        var spans: [Span] = []
        let promptCount = s.ids.count
        for (i, t) in s.tokenStrings.enumerated() {
            // WordPiece tokens read best spaced ("##" joins); byte-level BPE marks spaces with "Ġ".
            var shown = t.replacingOccurrences(of: "\n", with: "⏎").replacingOccurrences(of: "Ġ", with: " ")
            if let join = s.summary.family.continuationPrefix {
                shown = shown.hasPrefix(join) ? String(shown.dropFirst(join.count)) : (i == 0 ? shown : " " + shown)
            }
            var st: Style = i >= promptCount ? Style(fg: .green) : .plain
            if i == s.cursor.token { st = .reverse }
            spans.append(Span(shown, style: st))
        }
        lines.append(Line(spans))
        Paragraph(lines, overflow: .wrap, caps: caps).render(in: inner, into: &buf)
    }

    static func training(_ s: WorkbenchState, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        let inner = panel("training", focused: false, caps: caps, in: r, into: &buf)
        guard !inner.isEmpty else { return }
        guard let t = s.training else {
            // Wrapped, so a narrow panel shows the whole hint rather than a cut one.
            Paragraph("b: train this model in the background", style: .dim, overflow: .wrap, caps: caps).render(in: inner, into: &buf)
            return
        }
        // Only a running job has an ETA; a finished, stopped or failed one shows none.
        let running = t.state == "running" || t.state == "starting"
        let eta = !running ? "-" : t.etaSeconds.isFinite ? String(format: "%.0fs", t.etaSeconds) : "?"
        var lines: [Line] = [
            Line([Span(t.state, style: .bold), Span("  \(t.step)/\(t.totalSteps)")]),
            Line([Span("loss ", style: .dim), Span(String(format: "%.4f", t.loss), style: .bold)]),
        ]
        // Fine-tuning: the task and distillation parts, and how densely the student fires.
        if let task = t.parts["task"] {
            var spans = [Span("task ", style: .dim), Span(String(format: "%.3f", task))]
            if let kd = t.parts["kd"] { spans += [Span(" kd ", style: .dim), Span(String(format: "%.3g", kd))] }
            if let h = t.parts["hidden"] { spans += [Span(" hid ", style: .dim), Span(String(format: "%.3g", h))] }
            lines.append(Line(spans))
        }
        if let rate = t.parts["firing_rate"] {
            lines.append(Line([Span("firing ", style: .dim), Span(String(format: "%.3f", rate), style: .bold)]
                              + (t.parts["rate_penalty"].map { [Span(String(format: " over target %.3f", $0), style: .dim)] } ?? [])))
        }
        lines += [
            Line([Span(String(format: "%.0f tok/s  ETA %@", t.tokensPerSecond, eta), style: .dim)]),
            Line([Span("ckpt ", style: .dim), Span(t.lastCheckpoint.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "—")]),
        ]
        let top = min(lines.count, inner.height)
        Paragraph(lines, overflow: .truncate, caps: caps).render(in: Rect(x: inner.x, y: inner.y, width: inner.width, height: top), into: &buf)
        if inner.height > top {
            Sparkline(t.losses, caps: caps).render(in: Rect(x: inner.x, y: inner.y + top, width: inner.width, height: inner.height - top), into: &buf)
        }
    }

    static func inputLine(_ s: WorkbenchState, ui: WorkbenchUI, caps: Capabilities, in r: Rect, into buf: inout ScreenBuffer) {
        if let edit = ui.editing {
            let cols = r.columns([.fixed(9), .fill()])
            buf.write(ui.jumping ? " neuron> " : " prompt> ", in: cols[0], style: Style(fg: .yellow, .bold))
            TextField(edit, focused: true).render(in: cols[1], into: &buf)
            return
        }
        var spans: [Span] = []
        switch s.input {
        case .prompt(let p): spans = [Span(" prompt ", style: .dim), Span(p)]
        case .example(let f, let row, _):
            spans = [Span(" example ", style: .dim), Span("\(f.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "")#\(row)")]
        }
        if !ui.message.isEmpty { spans.append(Span("   " + ui.message, style: Style(fg: .yellow))) }
        Line(spans).render(in: r, into: &buf, ellipsis: caps.glyphs.ellipsis)
    }
}
