// DemoApp: a synthetic screen exercising every widget, driven by keys, for end-to-end tests of
// the backend (`spikescope tui-demo`) and for the render benchmark. Not the workbench: the data
// is a deterministic pattern, not a model.
//
// Keys: ←/→ move the raster's step cursor, +/- change the displayed gain k, Tab cycles focus,
// ↑/↓ move the list selection, p edits the text field (Enter/Esc leave), ? toggles help
// (↑/↓/PgUp/PgDn scroll it), q quits.

public struct DemoApp: TerminalApplication {
    public var caps: Capabilities = .full
    public var step = 0
    public var gain = 4
    public var showHelp = false
    public var helpScroll = 0
    public var focus = 0
    public var list = ScrollState(selected: 0)
    public var field = TextFieldState("The quick brown fox")
    public var editing = false
    public var ticks = 0
    public let keys = KeyMap.standard

    /// Raster shape: R neurons × C steps.
    public static let neurons = 64
    public static let steps = 48
    static let sites = (0..<12).map { "blocks.\($0 / 2).\($0 % 2 == 0 ? "att" : "ffn").lif" }

    public init(caps: Capabilities = .full) { self.caps = caps }

    public var minimumSize: Size { Size(width: 60, height: 16) }

    public mutating func start(capabilities: Capabilities) { caps = capabilities }

    public mutating func tick() { ticks += 1 }

    /// Spike value of neuron n at step t for gain k: a deterministic pattern in {-1, 0, 1, 2}.
    public static func spike(_ n: Int, _ t: Int, gain: Int) -> Float {
        let h = (n * 7 + t * 13 + n * t) % 23
        if h < gain { return 1 }
        if h == 22 { return -1 }
        if h == 21 && gain > 6 { return 2 }
        return 0
    }
    /// Membrane of neuron n at step t: a smooth wave, scaled by gain.
    public static func membrane(_ n: Int, _ t: Int, gain: Int) -> Float {
        let a = Float((n * 5 + t * 3) % 17) / 16
        return (a - 0.3) * Float(gain) / 4
    }
    public func firingRate(site: Int) -> Double {
        Double((site * 5 + gain * 3) % 20) / 40 + Double(gain) / 50
    }

    public mutating func handle(_ event: KeyEvent) -> AppAction {
        if editing {
            switch event {
            case .enter, .escape: editing = false
            default: field.handle(event)
            }
            return .continue
        }
        if showHelp {
            if keys.help.matches(event) || keys.cancel.matches(event) { showHelp = false; return .continue }
            if keys.quit.matches(event) { return .quit }
            if event == .pageDown || event == .down { helpScroll += event == .down ? 1 : 10 }
            if event == .pageUp || event == .up { helpScroll = max(0, helpScroll - (event == .up ? 1 : 10)) }
            return .continue
        }
        switch event {
        case _ where keys.quit.matches(event): return .quit
        case _ where keys.help.matches(event): showHelp = true
        case _ where keys.stepForward.matches(event): step = min(step + 1, DemoApp.steps - 1)
        case _ where keys.stepBack.matches(event): step = max(step - 1, 0)
        case _ where keys.frequencyUp.matches(event): gain = min(gain + 1, 20)
        case _ where keys.frequencyDown.matches(event): gain = max(gain - 1, 0)
        case _ where keys.focusNext.matches(event): focus = (focus + 1) % 3
        case _ where keys.focusPrevious.matches(event): focus = (focus + 2) % 3
        case _ where keys.siteNext.matches(event): list.move(by: 1, count: DemoApp.sites.count)
        case _ where keys.sitePrevious.matches(event): list.move(by: -1, count: DemoApp.sites.count)
        case _ where keys.editPrompt.matches(event): editing = true
        case .mouse(.left, _, let y):
            // Rows of the site list start at y = 4 (header 1 + tabs 1 + border 1 + table header 1).
            let row = y - 4
            if row >= 0, row < DemoApp.sites.count { list.selected = row }
        default: break
        }
        return .continue
    }

    public mutating func render(into buf: inout ScreenBuffer, size: Size) {
        let c = caps
        let screen = Rect(size: size)
        let parts = screen.rows([.fixed(1), .fixed(1), .fill(), .fixed(1)])
        buf.write("spikescope demo  step \(step + 1)/\(DemoApp.steps)  k=\(gain)  ticks \(ticks / 20)s",
                  in: parts[0], style: .bold)
        Tabs(["Raster", "Membrane", "Stats"], selected: focus, caps: c).render(in: parts[1], into: &buf)

        let body = parts[2].columns([.percent(34), .fill()])
        // Left: site list with firing-rate bars.
        let siteBlock = Block(title: "Sites", focused: focus == 0, caps: c)
        siteBlock.render(in: body[0], into: &buf)
        let siteArea = siteBlock.inner(body[0])
        let rows = DemoApp.sites.enumerated().map { (i, name) -> [Line] in
            [Line(name), Line(BarGauge.percent(firingRate(site: i)))]
        }
        let siteSplit = siteArea.rows([.fill(), .fixed(min(5, siteArea.height / 3))])
        Table(columns: [TableColumn("site", width: .fill()), TableColumn("rate", width: .fixed(6), alignment: .right)],
              rows: rows, state: list, caps: c).render(in: siteSplit[0], into: &buf)
        let gauges = siteSplit[1]
        for i in 0..<gauges.height {
            BarGauge(value: firingRate(site: i), caps: c).render(in: Rect(x: gauges.x, y: gauges.y + i, width: gauges.width, height: 1), into: &buf)
        }

        // Right: raster over membrane heatmap + line plot + sparkline/histogram + prompt.
        let right = body[1].rows([.percent(40), .percent(30), .fill(), .fixed(3)])
        let rasterBlock = Block(title: "Raster (t=\(step + 1))", focused: focus == 1, caps: c)
        rasterBlock.render(in: right[0], into: &buf)
        let rArea = rasterBlock.inner(right[0])
        let colOffset = max(0, min(step - rArea.width / 2, DemoApp.steps - rArea.width))
        var spikes = [Float](repeating: 0, count: DemoApp.neurons * DemoApp.steps)
        var mem = spikes
        for n in 0..<DemoApp.neurons {
            for t in 0..<DemoApp.steps {
                spikes[n * DemoApp.steps + t] = DemoApp.spike(n, t, gain: gain)
                mem[n * DemoApp.steps + t] = DemoApp.membrane(n, t, gain: gain)
            }
        }
        Raster(values: spikes, rows: DemoApp.neurons, columns: DemoApp.steps, columnOffset: colOffset,
               cursorColumn: step, caps: c).render(in: rArea, into: &buf)

        let memSplit = right[1].columns([.percent(60), .fill()])
        let heatBlock = Block(title: "Membrane", focused: focus == 2, caps: c)
        heatBlock.render(in: memSplit[0], into: &buf)
        Heatmap(values: mem, rows: DemoApp.neurons, columns: DemoApp.steps, columnOffset: colOffset,
                threshold: 1.0, caps: c).render(in: heatBlock.inner(memSplit[0]), into: &buf)
        let plotBlock = Block(title: "Neuron 0", caps: c)
        plotBlock.render(in: memSplit[1], into: &buf)
        LinePlot((0..<DemoApp.steps).map { Double(DemoApp.membrane(0, $0, gain: gain)) }, threshold: 1.0, caps: c)
            .render(in: plotBlock.inner(memSplit[1]), into: &buf)

        let statSplit = right[2].columns([.fill(), .fill()])
        let sparkBlock = Block(title: "Rate over steps", caps: c)
        sparkBlock.render(in: statSplit[0], into: &buf)
        let rates = (0..<DemoApp.steps).map { t in
            Double((0..<DemoApp.neurons).filter { DemoApp.spike($0, t, gain: gain) != 0 }.count)
        }
        Sparkline(rates, caps: c).render(in: sparkBlock.inner(statSplit[0]), into: &buf)
        let histBlock = Block(title: "Histogram", caps: c)
        histBlock.render(in: statSplit[1], into: &buf)
        var bins = [Double](repeating: 0, count: 12)
        for v in mem { bins[min(11, max(0, Int((v + 1.5) * 4)))] += 1 }
        Histogram(bins, barWidth: 2, gap: 1, caps: c).render(in: histBlock.inner(statSplit[1]), into: &buf)

        let promptBlock = Block(title: editing ? "Prompt (editing)" : "Prompt", focused: editing, caps: c)
        promptBlock.render(in: right[3], into: &buf)
        TextField(field, focused: editing).render(in: promptBlock.inner(right[3]), into: &buf)

        KeyBar(keys.statusBar(c), caps: c).render(in: parts[3], into: &buf)
        if showHelp {
            let lines = keys.helpLines(c)
            var popup = Popup(title: "Help (? or Esc to close)", lines: lines,
                              width: min(72, size.width - 4), height: min(lines.count + 2, size.height - 2), caps: c)
            popup.scroll = min(helpScroll, max(0, lines.count - (popup.height - 2)))
            popup.render(in: screen, into: &buf)
        }
    }
}
