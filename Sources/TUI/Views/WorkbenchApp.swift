// WorkbenchApp: the workbench as a TerminalApplication — key bindings to Workbench commands,
// the prompt editor, examples (GLUE rows), help, save/export, background training.
//
// What it is: the glue between KeyMap, Workbench (state + off-thread recompute) and the pure
// WorkbenchScreen. It never blocks: commands return at once, results arrive through `tick`.
// What it is not: curses (TerminalBackend runs it) or file formats (the session hooks do that).

import Foundation
import Neurons
import Workbench

/// What the app asks of the outside world (files, training) — injected by the executable so
/// the TUI target stays free of disk and training code, and tests can stub it.
public struct WorkbenchHooks: Sendable {
    /// Saves the session; returns a message ("saved sessions/x/session.json") or throws.
    public var save: @Sendable (WorkbenchState, WorkbenchUI) throws -> String
    /// Exports the current trace; returns a message.
    public var export: @Sendable (WorkbenchState) throws -> String
    /// Starts or stops background training; returns a message.
    public var toggleTraining: @Sendable () -> String
    /// Progress of the background training, polled each tick.
    public var trainingStatus: @Sendable () -> TrainingStatus?
    /// Loads the newest checkpoint into the workbench; returns a message.
    public var reloadCheckpoint: @Sendable (Workbench) -> String

    public init(save: @escaping @Sendable (WorkbenchState, WorkbenchUI) throws -> String = { _, _ in "saving is not set up" },
                export: @escaping @Sendable (WorkbenchState) throws -> String = { _ in "export is not set up" },
                toggleTraining: @escaping @Sendable () -> String = { "training is not set up" },
                trainingStatus: @escaping @Sendable () -> TrainingStatus? = { nil },
                reloadCheckpoint: @escaping @Sendable (Workbench) -> String = { _ in "no checkpoint" }) {
        self.save = save; self.export = export; self.toggleTraining = toggleTraining
        self.trainingStatus = trainingStatus; self.reloadCheckpoint = reloadCheckpoint
    }
}

public struct WorkbenchApp: TerminalApplication {
    public let workbench: Workbench
    public var ui: WorkbenchUI
    public var hooks: WorkbenchHooks
    public var caps: Capabilities = .full
    public var state: WorkbenchState
    let keys = KeyMap.standard

    public init(workbench: Workbench, ui: WorkbenchUI = WorkbenchUI(), hooks: WorkbenchHooks = WorkbenchHooks()) {
        self.workbench = workbench
        self.ui = ui
        self.hooks = hooks
        self.state = workbench.snapshot()
    }

    public var minimumSize: Size { WorkbenchScreen.minimumSize }

    public mutating func start(capabilities: Capabilities) {
        caps = capabilities
        workbench.schedule()
    }

    public mutating func tick() {
        workbench.setTraining(hooks.trainingStatus())
        state = workbench.snapshot()
        // "running…" lasts until the run it announced has been published.
        if let r = runningSince, !state.busy, state.revision > r {
            if ui.message == "running…" { ui.message = "" }
            runningSince = nil
        }
    }

    /// The revision current when "running…" was shown (nil when nothing was announced).
    var runningSince: Int?

    /// Neuron rows the raster shows at the last drawn size: one page for PgUp/PgDn.
    var neuronPage: Int {
        max(1, WorkbenchScreen.rasterRows(panelHeight: WorkbenchScreen.layout(size: Size(width: max(lastWidth ?? 120, WorkbenchScreen.minimumSize.width),
                                                                                          height: max(lastHeight ?? 40, WorkbenchScreen.minimumSize.height))).raster.height))
    }

    /// Selects neuron `i` (clamped to the site) and scrolls the rows so that it is on screen.
    func selectNeuron(_ i: Int) {
        workbench.apply(.selectNeuron(i))
        let s = workbench.snapshot(), n = s.cursor.neuron, page = neuronPage
        if n < s.cursor.neuronOffset { scrollNeurons(by: n - s.cursor.neuronOffset) }
        else if n >= s.cursor.neuronOffset + page { scrollNeurons(by: n - page + 1 - s.cursor.neuronOffset) }
    }

    /// Turns one SpikeLLM control and says what is in force.
    mutating func spikeLLM(_ knob: SpikeLLMKnob, up: Bool) {
        workbench.apply(.spikeLLM(knob, up: up))
        ui.message = workbench.snapshot().status
    }

    /// Scrolls the neuron rows by `rows`, stopping where the last page is full (never past it).
    func scrollNeurons(by rows: Int) {
        let s = workbench.snapshot()
        let last = max(0, s.summary.width - neuronPage)
        let target = min(max(s.cursor.neuronOffset + rows, 0), last)
        if target != s.cursor.neuronOffset { workbench.apply(.scrollNeurons(target - s.cursor.neuronOffset)) }
    }

    public mutating func render(into buffer: inout ScreenBuffer, size: Size) {
        lastWidth = size.width; lastHeight = size.height
        WorkbenchScreen.render(state, ui: ui, caps: caps, into: &buffer)
    }

    public mutating func handle(_ event: KeyEvent) -> AppAction {
        defer { state = workbench.snapshot() }
        if var edit = ui.editing {
            switch event {
            case .enter where ui.jumping:
                ui.editing = nil; ui.jumping = false
                let width = workbench.snapshot().summary.width
                guard let i = Int(edit.text.trimmingCharacters(in: .whitespaces)), i >= 0 else {
                    ui.message = "'\(edit.text)' is not a neuron index (0…\(max(width - 1, 0)))"
                    return .continue
                }
                selectNeuron(i)
                if i >= width { ui.message = "neuron \(i) does not exist; the site has \(width) (0…\(max(width - 1, 0)))" }
            case .enter:
                ui.editing = nil
                runningSince = workbench.snapshot().revision
                workbench.apply(.prompt(edit.text))
                ui.message = "running…"
            case .escape:
                ui.editing = nil; ui.jumping = false
            default:
                _ = edit.handle(event)
                ui.editing = edit
            }
            return .continue
        }
        if ui.showHelp {
            switch event {
            case .escape, .char("?"), .function(1), .char("q"): ui.showHelp = false
            case .up: ui.helpScroll = max(0, ui.helpScroll - 1)
            case .down: ui.helpScroll += 1
            case .pageUp: ui.helpScroll = max(0, ui.helpScroll - 10)
            case .pageDown: ui.helpScroll += 10
            default: break
            }
            return .continue
        }
        ui.message = ""
        let k = keys
        switch event {
        case _ where k.quit.matches(event): return .quit
        case _ where k.help.matches(event): ui.showHelp = true; ui.helpScroll = 0
        case _ where k.cancel.matches(event): break
        case _ where k.focusNext.matches(event): workbench.apply(.focusNext)
        case _ where k.stepBack.matches(event): workbench.apply(.step(-1))
        case _ where k.stepForward.matches(event): workbench.apply(.step(1))
        case _ where k.firstStep.matches(event): workbench.apply(.step(-1_000_000))
        case _ where k.lastStep.matches(event): workbench.apply(.step(1_000_000))
        case _ where k.tokenPrevious.matches(event): workbench.apply(.token(-1))
        case _ where k.tokenNext.matches(event): workbench.apply(.token(1))
        case _ where k.sitePrevious.matches(event): workbench.apply(.site(-1))
        case _ where k.siteNext.matches(event): workbench.apply(.site(1))
        case _ where k.neuronsPageUp.matches(event): scrollNeurons(by: -neuronPage)
        case _ where k.neuronsPageDown.matches(event): scrollNeurons(by: neuronPage)
        case _ where k.neuronPrevious.matches(event): selectNeuron(state.cursor.neuron - 1)
        case _ where k.neuronNext.matches(event): selectNeuron(state.cursor.neuron + 1)
        case _ where k.jumpNeuron.matches(event): ui.editing = TextFieldState(""); ui.jumping = true
        case _ where k.overview.matches(event):
            ui.overview.toggle()
            ui.message = ui.overview ? "overview: firing rate of every site × token (v: back to the raster)" : "raster of the selected site"
        case _ where k.frequencyUp.matches(event): workbench.apply(.frequency(up: true))
        case _ where k.frequencyDown.matches(event): workbench.apply(.frequency(up: false))
        case _ where k.allSites.matches(event):
            workbench.apply(.toggleAllSites)
            ui.message = workbench.snapshot().allSites ? "+/- and </> now apply to all sites" : "+/- and </> now apply to the selected site"
        case _ where k.thresholdDown.matches(event): workbench.apply(.threshold(up: false))
        case _ where k.thresholdUp.matches(event): workbench.apply(.threshold(up: true))
        case _ where k.neuronCycle.matches(event):
            workbench.apply(.cycleNeuron); ui.message = workbench.snapshot().status
        case _ where k.allocation.matches(event):
            workbench.apply(.toggleAllocation)
            let p = workbench.snapshot().gifOutlierFraction
            ui.message = p.map { $0 > 0 ? "GIF: saliency-based allocation (top \(Int($0 * 100))% channels get more steps)" : "GIF: uniform allocation" }
                ?? workbench.snapshot().status
        case _ where k.abitsDown.matches(event): spikeLLM(.abits, up: false)
        case _ where k.abitsUp.matches(event): spikeLLM(.abits, up: true)
        case _ where k.addbitDown.matches(event): spikeLLM(.addbit, up: false)
        case _ where k.addbitUp.matches(event): spikeLLM(.addbit, up: true)
        case _ where k.lowPDown.matches(event): spikeLLM(.lowP, up: false)
        case _ where k.lowPUp.matches(event): spikeLLM(.lowP, up: true)
        case _ where k.timesteps.matches(event):
            if let d = event.digit { workbench.apply(.timesteps(d)); ui.message = workbench.snapshot().status }
        case _ where k.editPrompt.matches(event):
            if case .prompt(let p) = state.input { ui.editing = TextFieldState(p) } else { ui.editing = TextFieldState("") }
        case _ where k.glueRow.matches(event): pickExample(0)
        case _ where k.nextRow.matches(event): pickExample(1)
        case _ where k.previousRow.matches(event): pickExample(-1)
        case _ where k.run.matches(event): workbench.apply(.run)
        case _ where k.pinBaseline.matches(event): workbench.apply(.pinBaseline); ui.message = workbench.snapshot().status
        case _ where k.sweep.matches(event):
            if state.sweep != nil { workbench.closeSweep(); ui.message = "" }
            else { workbench.apply(.sweep); ui.message = workbench.snapshot().status }
        case _ where k.logitLens.matches(event): workbench.apply(.logitLens); ui.message = workbench.snapshot().status
        case _ where k.pinFloat.matches(event): workbench.apply(.pinFloat); ui.message = workbench.snapshot().status
        case _ where k.diffView.matches(event):
            ui.diff.toggle()
            ui.message = !ui.diff ? "raster: this run's spikes"
                : (state.baseline == nil ? "diff view: pin a baseline first (c: this run, f: the float twin)" : "raster: diff against the baseline B")
        case _ where k.training.matches(event): ui.message = hooks.toggleTraining()
        case _ where k.reloadCheckpoint.matches(event): ui.message = hooks.reloadCheckpoint(workbench)
        case _ where k.save.matches(event):
            do { ui.message = try hooks.save(workbench.snapshot(), ui) } catch { ui.message = "save failed: \(error)" }
        case _ where k.export.matches(event):
            do { ui.message = try hooks.export(workbench.snapshot()) } catch { ui.message = "export failed: \(error)" }
        case .mouse(.left, let x, let y): click(x: x, y: y)
        case .mouse(.wheelUp, _, _): scrollNeurons(by: -3)
        case .mouse(.wheelDown, _, _): scrollNeurons(by: 3)
        default: break
        }
        return .continue
    }

    /// g (delta 0) switches to the current example; n/N move through the examples.
    mutating func pickExample(_ delta: Int) {
        guard !ui.examples.isEmpty else {
            ui.message = "no GLUE file loaded; start with --glue FILE"
            return
        }
        ui.exampleIndex = (ui.exampleIndex + delta + ui.examples.count) % ui.examples.count
        workbench.apply(.example(file: ui.exampleFile, row: ui.exampleIndex, ui.examples[ui.exampleIndex]))
        ui.message = "example \(ui.exampleIndex + 1)/\(ui.examples.count)"
    }

    /// A click in the site list selects that site; a click in the raster selects that step (column)
    /// and neuron (row). Uses the same layout as drawing.
    mutating func click(x: Int, y: Int) {
        let l = WorkbenchScreen.layout(size: Size(width: lastWidth ?? 120, height: lastHeight ?? 40))
        let list = l.sites.inset(by: 1)
        if list.contains(x: x, y: y) {
            workbench.apply(.selectSite(WorkbenchScreen.firstVisibleSite(state, rows: list.height) + y - list.y))
            return
        }
        if ui.overview {
            // A cell selects its site (row) and token (column); a name selects its site.
            let g = WorkbenchScreen.overviewGeometry(state, panel: l.raster)
            let rowsRect = Rect(x: g.names.x, y: g.names.y, width: g.cells.right - g.names.x, height: g.names.height)
            guard rowsRect.contains(x: x, y: y) else { return }
            workbench.apply(.selectSite(g.firstSite + y - g.names.y))
            if g.cells.contains(x: x, y: y) {
                workbench.apply(.token(g.firstToken + x - g.cells.x - state.cursor.token))
            }
            return
        }
        let raster = l.raster.inset(by: 1)
        guard raster.contains(x: x, y: y), let site = state.selectedTrace else { return }
        let (cols, cursor) = WorkbenchScreen.columns(state, site: site)
        let first = WorkbenchScreen.firstVisibleColumn(cursor: cursor, columns: cols.count, width: raster.width)
        let column = first + x - raster.x
        if column < cols.count, let cursor {
            workbench.apply(state.summary.family.steps == .timesteps ? .token(column - cursor) : .step(column - cursor))
        }
        workbench.apply(.selectNeuron(state.cursor.neuronOffset + y - raster.y))
    }

    var lastWidth: Int? = nil
    var lastHeight: Int? = nil
}
