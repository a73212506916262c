// WorkbenchApp on a real (tiny) model without a terminal: keys and mouse clicks change the
// workbench as the help says.
import Testing
import Foundation
@testable import TUI
@testable import Workbench
import Models
import Formats

@Suite struct WorkbenchAppTests {
    func app() throws -> WorkbenchApp {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../ModelsTests/Fixtures/spikegpt")
        let model = try SpikeGPT(weights: Checkpoint.load(dir.appendingPathComponent("tiny.safetensors").standardized.path).tensors)
        let tok = try TokenizerLoader.load(path: dir.appendingPathComponent("tiny.vocab.json").standardized.path)
        let wb = Workbench(model: model, codec: Opener.codec(tok, modelPath: "tiny"), input: .prompt("the spiking neuron"))
        _ = wb.runAndWait()
        var a = WorkbenchApp(workbench: wb)
        a.tick()
        var buf = ScreenBuffer(width: 120, height: 36)
        a.render(into: &buf, size: buf.size)
        return a
    }

    @Test func clickingASiteSelectsIt() throws {
        var a = try app()
        let list = WorkbenchScreen.layout(size: Size(width: 120, height: 36)).sites.inset(by: 1)
        _ = a.handle(.mouse(.left, x: list.x + 2, y: list.y + 2))
        #expect(a.workbench.snapshot().cursor.site == 2)
    }

    @Test func clickingARasterCellSelectsItsStepAndNeuron() throws {
        var a = try app()
        let r = WorkbenchScreen.layout(size: Size(width: 120, height: 36)).raster.inset(by: 1)
        _ = a.handle(.mouse(.left, x: r.x + 5, y: r.y + 3))
        let c = a.workbench.snapshot().cursor
        #expect(c.step == 5 && c.neuron == 3)
    }

    /// `v` switches the spikes panel to the overview; a click on a cell there selects its site
    /// (row) and token (column); `v` again brings the raster back.
    @Test func overviewKeyAndClick() throws {
        var a = try app()
        _ = a.handle(.char("v"))
        #expect(a.ui.overview)
        var buf = ScreenBuffer(width: 120, height: 36)
        a.render(into: &buf, size: buf.size)
        #expect(buf.lines().joined().contains("overview · firing rate, sites × tokens"))
        let g = WorkbenchScreen.overviewGeometry(a.state, panel: WorkbenchScreen.layout(size: buf.size).raster)
        _ = a.handle(.mouse(.left, x: g.cells.x + 4, y: g.cells.y + 3))
        let c = a.workbench.snapshot().cursor
        #expect(c.site == g.firstSite + 3 && c.token == g.firstToken + 4 && c.step == c.token, "\(c)")
        _ = a.handle(.char("v"))
        a.render(into: &buf, size: buf.size)
        #expect(!a.ui.overview && buf.lines().joined().contains("spikes "))
    }

    @Test func keysStepTuneAndQuit() throws {
        var a = try app()
        _ = a.handle(.right); _ = a.handle(.right)
        #expect(a.workbench.snapshot().cursor.step == 2)
        let k0 = a.workbench.snapshot().k[0]
        _ = a.handle(.char("+"))
        #expect(a.workbench.snapshot().k[0] > k0)
        #expect(a.handle(.char("q")) == .quit)
    }

    /// PgDn pages by exactly the neuron rows the raster shows, and the last page is full: the tiny
    /// model is 16 wide, so at 120×36 PgDn stops at 16 − rows. The rows are counted on the drawn
    /// screen (the neuron indices down the raster's left), not taken from the layout.
    @Test func pageDownPagesByTheVisibleRowsAndStopsAtAFullLastPage() throws {
        var a = try app()
        var screen = ScreenBuffer(width: 120, height: 36)
        a.render(into: &screen, size: Size(width: 120, height: 36))
        let r = WorkbenchScreen.layout(size: Size(width: 120, height: 36)).raster
        let rows = ((r.y + 1)..<(r.y + r.height - 1)).filter { y in
            let text = ((r.x + 1)..<(r.x + 4)).map { screen[$0, y].symbol }.joined()
            return Int(text.trimmingCharacters(in: .whitespaces)) != nil
        }.count
        #expect(rows > 0 && rows == WorkbenchScreen.rasterRows(panelHeight: r.height))
        let width = a.workbench.snapshot().summary.width
        _ = a.handle(.pageDown)
        #expect(a.workbench.snapshot().cursor.neuronOffset == min(rows, max(0, width - rows)))
        for _ in 0..<10 { _ = a.handle(.pageDown) }
        #expect(a.workbench.snapshot().cursor.neuronOffset == max(0, width - rows))
        for _ in 0..<10 { _ = a.handle(.mouse(.wheelDown, x: 50, y: 10)) }
        #expect(a.workbench.snapshot().cursor.neuronOffset == max(0, width - rows))
        _ = a.handle(.pageUp)
        #expect(a.workbench.snapshot().cursor.neuronOffset == max(0, width - 2 * rows))
    }

    /// "running…" goes once the run it announced is published.
    @Test func runningMessageClearsWhenTheRunIsDone() throws {
        var a = try app()
        _ = a.handle(.char("p"))
        _ = a.handle(.char("x"))
        _ = a.handle(.enter)
        #expect(a.ui.message == "running…")
        _ = a.workbench.runAndWait()
        a.tick()
        #expect(a.ui.message.isEmpty, "\(a.ui.message)")
    }

    /// The header's k and the stats panel's k are one number after `a`, `+` and a neuron change
    /// (they used to read 2.50 vs 2.00).
    @Test func headerKMatchesTheSiteKAfterANeuronChange() throws {
        var a = try app()
        _ = a.handle(.char("a")); _ = a.handle(.char("+"))
        for _ in 0..<3 {
            _ = a.handle(.char("i"))
            let s = a.workbench.runAndWait()
            let header = s.k[s.cursor.site]
            let site = try #require(s.selectedTrace)
            #expect(abs(header - site.k) < 1e-6, "\(s.neuron) \(site.name): header k \(header), site k \(site.k)")
        }
    }

    /// T other than the checkpoint's T: the status says α is recalibrated on this input, not
    /// trained (it used to blow up silently at T = 8).
    @Test func timestepsAboveTheTrainedTSayHowAlphaIsMade() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/spikescope/Resources/default/spikebert-sst2").standardized.path
        let opened = try Opener.open(model: folder)
        #expect(opened.loaded.model.trainedTimesteps == 4)
        let wb = Workbench(model: opened.loaded.model, codec: opened.codec, input: .prompt("a good film"))
        _ = wb.runAndWait()
        wb.apply(.timesteps(8))
        let s = wb.runAndWait()
        #expect(s.timesteps == 8)
        #expect(s.status.contains("T 8 is not the checkpoint's T 4: α is recalibrated on this input"), "\(s.status)")
        wb.apply(.timesteps(4))
        #expect(!wb.runAndWait().status.contains("recalibrated"))
    }

    /// Keyboard neuron selection: `}`/`{` move the selected neuron, `/` jumps to an index (rows
    /// scroll to show it), a bad index is a message, a too-large one clamps with a message.
    @Test func keyboardSelectsAndJumpsToNeurons() throws {
        var a = try app()
        for _ in 0..<3 { _ = a.handle(.char("}")) }
        #expect(a.workbench.snapshot().cursor.neuron == 3)
        _ = a.handle(.char("{"))
        #expect(a.workbench.snapshot().cursor.neuron == 2)
        let width = a.workbench.snapshot().summary.width
        _ = a.handle(.char("/"))
        #expect(a.ui.editing != nil && a.ui.jumping)
        for c in "\(width - 1)" { _ = a.handle(.char(c)) }
        _ = a.handle(.enter)
        let s = a.workbench.snapshot()
        #expect(s.cursor.neuron == width - 1)
        #expect(s.cursor.neuronOffset <= width - 1 && width - 1 < s.cursor.neuronOffset + a.neuronPage, "not on screen: offset \(s.cursor.neuronOffset)")
        _ = a.handle(.char("/")); for c in "abc" { _ = a.handle(.char(c)) }; _ = a.handle(.enter)
        #expect(a.ui.message.contains("not a neuron index"))
        _ = a.handle(.char("/")); for c in "999" { _ = a.handle(.char(c)) }; _ = a.handle(.enter)
        #expect(a.workbench.snapshot().cursor.neuron == width - 1 && a.ui.message.contains("does not exist"))
    }
}
