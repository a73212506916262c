// Snapshot tests of the workbench views on a fixed, hand-built trace (no model, no clock):
// each panel alone, and whole screens for SpikeGPT, SpikeBERT (GLUE row), help and prompt editing.
import Testing
import Foundation
@testable import TUI
@testable import Workbench
import Neurons
import Models

enum FixedTrace {
    /// 2 sites × 10 steps × 6 neurons; spikes follow a fixed pattern, membrane a ramp.
    static func site(_ name: String, neuron: NeuronKind, seed: Int, layout: [Int] = []) -> SiteTrace {
        var s = SiteTrace(name: name, neuron: neuron, width: 6, layout: layout)
        for t in 0..<10 {
            for c in 0..<6 {
                let h = (t * 7 + c * 5 + seed) % 11
                let m = Float(h) / 5 - 0.6 + (c == 4 ? 3 : 0)
                s.membrane.append(m)
                s.current.append(m)
                s.spikes.append(neuron == .elastic ? (h > 8 ? 1 : (h < 2 ? -1 : 0)) : (m >= 1 ? 1 : 0))
            }
        }
        s.threshold = 1
        s.k = 2
        if neuron == .elastic { s.amplitude = [0.5, 0.6] }
        return s
    }

    static func gptState() -> WorkbenchState {
        let sites = [site("blocks.0.att.lif", neuron: .lif, seed: 1), site("blocks.0.ffn.lif", neuron: .lif, seed: 4)]
        var st = WorkbenchState(summary: ModelSummary(family: SpikeGPTFamily.traits, layers: 1, width: 6, vocab: 12),
                                modelPath: "/models/tiny.safetensors", siteNames: sites.map(\.name),
                                input: .prompt("spikes!"), neuron: .lif, timesteps: nil, k: [2, 2.5],
                                thresholdScale: [1, 1], generateCount: 3)
        st.ids = [1, 2, 3, 4, 5, 6, 7]
        st.tokenStrings = ["s", "p", "i", "k", "e", "s", "!", " a", "b", "c"]
        st.generatedCount = 3
        st.trace = Trace(sites: sites)
        st.stats = sites.map { SiteStatistics($0) }
        st.cursor.step = 3; st.cursor.token = 3
        st.frequencyCurve = [(1.28, 0.3), (1.6, 0.25), (2, 0.2), (2.5, 0.15), (3.1, 0.1)]
        st.status = "computed in 3 ms"
        st.energy.mac = 1000; st.energy.ac = 20; st.energy.denseMAC = 1000
        return st
    }

    /// A LLaMA-family model with SpikeLLM's neuron: levels 0…15 over 2 GIF steps, two salient channels.
    static func llamaState() -> WorkbenchState {
        var q = SiteTrace(name: "model.layers.0.self_attn.q_proj", neuron: .gif, width: 6, layout: [2, 5])
        for t in 0..<2 { for r in 0..<5 { for c in 0..<6 {
            let salient = c == 1 || c == 4
            let level = Float((r * 5 + c * 3) % 16)
            let v: Float = t == 0 ? min(level, 15) : (salient ? Float((r + c) % 4) : 0)
            q.spikes.append(v); q.membrane.append(v); q.current.append(level / 8 - 1)
        } } }
        q.levels = 16; q.bitsPerActivation = 4.333; q.salient = [1, 4]; q.uncarried = 2; q.codingError = 0.061
        q.threshold = 15; q.amplitude = [0.21, 0.18, 0.25, 0.2, 0.19]
        q.salientChannels = [SalientChannel(channel: 4, saliency: 3.2, timesteps: 2, outlier: true),
                             SalientChannel(channel: 1, saliency: 2.9, timesteps: 2, outlier: true),
                             SalientChannel(channel: 0, saliency: 1.1, timesteps: 1, outlier: false)]
        var down = q
        down.name = "model.layers.0.mlp.down_proj"
        var st = WorkbenchState(summary: ModelSummary(family: LlamaFamily.traits, layers: 1, width: 6, vocab: 399),
                                modelPath: "/models/llama-tiny", siteNames: [q.name, down.name],
                                input: .prompt("The fox"), neuron: .gif, timesteps: nil, k: [2, 2],
                                thresholdScale: [1, 1], generateCount: 2)
        st.ids = [1, 395, 331]
        st.tokenStrings = ["<s>", "▁The", "▁fox", "▁ran", "▁far"]
        st.generatedCount = 2
        st.trace = Trace(sites: [q, down])
        st.stats = st.trace.sites.map { SiteStatistics($0) }
        st.spikeLLM = SpikeLLMSettings(abits: 4, addbit: 1, lowP: 0.9)
        st.gifOutlierFraction = 0.1
        st.cursor.step = 2; st.cursor.token = 2
        st.status = "computed in 4 ms"
        st.energy.mac = 1000; st.energy.ac = 300; st.energy.denseMAC = 1000
        return st
    }

    static func bertState() -> WorkbenchState {
        let sites = [site("encoder.layer.0.attention.self.query", neuron: .elastic, seed: 2, layout: [2, 5]),
                     site("encoder.layer.0.intermediate.dense", neuron: .elastic, seed: 3, layout: [2, 5])]
        let row = ExampleRow(text: "a warm, funny film", textPair: nil, label: "1")
        var st = WorkbenchState(summary: ModelSummary(family: SpikeBERTFamily.traits, layers: 1, width: 6, vocab: 30, classes: 2, timesteps: 2, labels: ["0", "1"]),
                                modelPath: "/models/bert", siteNames: sites.map(\.name),
                                input: .example(file: "SST-2/dev.tsv", row: 4, row), neuron: .elastic, timesteps: 2,
                                k: [2, 2], thresholdScale: [1, 1], generateCount: 0)
        st.ids = [101, 7, 8, 9, 102]
        st.tokenStrings = ["[CLS]", "a", "warm", "film", "[SEP]"]
        st.trace = Trace(sites: sites)
        st.stats = sites.map { SiteStatistics($0) }
        st.run = ModelRun(logits: [], classLogits: [-0.5, 1.2], hidden: [], steps: 2)
        st.cursor.step = 1; st.cursor.token = 2; st.cursor.site = 1
        st.training = TrainingStatus(step: 40, totalSteps: 100, loss: 0.61, losses: [1.2, 1.0, 0.9, 0.8, 0.7, 0.61],
                                     tokensPerSecond: 1500, etaSeconds: 12, lastCheckpoint: "sessions/x/checkpoints/step-000040.safetensors",
                                     state: "running")
        st.training?.parts = ["task": 0.42, "kd": 0.031, "hidden": 0.012, "firing_rate": 0.183, "rate_penalty": 0.033]
        return st
    }
}

@Suite struct WorkbenchScreenSnapshotTests {
    func screen(_ s: WorkbenchState, ui: WorkbenchUI = WorkbenchUI(), caps: Capabilities = .full, width: Int = 110, height: Int = 32) -> ScreenBuffer {
        var buf = Snapshot.canvas(width, height)
        WorkbenchScreen.render(s, ui: ui, caps: caps, into: &buf)
        return buf
    }

    /// Issue 19: fine-tuning shows its task and distillation losses and the student's firing.
    @Test func trainingPanelShowsLossPartsAndFiring() {
        var buf = ScreenBuffer(width: 40, height: 9)
        WorkbenchScreen.training(FixedTrace.bertState(), caps: .full, in: Rect(x: 0, y: 0, width: 40, height: 9), into: &buf)
        let text = buf.lines().joined(separator: "\n")
        for want in ["task 0.420 kd 0.031 hid 0.012", "firing 0.183 over target 0.033", "loss 0.6100", "running  40/100"] {
            #expect(text.contains(want), "missing '\(want)' in\n\(text)")
        }
        var plain = FixedTrace.bertState()
        plain.training?.parts = [:]
        var buf2 = ScreenBuffer(width: 40, height: 9)
        WorkbenchScreen.training(plain, caps: .full, in: Rect(x: 0, y: 0, width: 40, height: 9), into: &buf2)
        #expect(!buf2.lines().joined().contains("task"))
    }

    @Test func spikegptWholeScreen() { Snapshot.check(screen(FixedTrace.gptState()), named: "workbench_spikegpt_110x32") }
    @Test func spikegptWholeScreenASCII() { Snapshot.check(screen(FixedTrace.gptState(), caps: .ascii), named: "workbench_spikegpt_ascii_110x32") }

    /// Under an ASCII-only terminal every cell is ASCII, labels spelled out ("2x16", "z >= 3",
    /// "th", "+/-") instead of the '?' the terminal would print for ×, ≥, θ, ±, −, ·.
    @Test func asciiScreensAreASCIIWithSpelledLabels() {
        // A plain buffer (the snapshot canvas marks empty cells with '·').
        func screen(_ s: WorkbenchState, ui: WorkbenchUI = WorkbenchUI(), caps: Capabilities, width: Int, height: Int) -> ScreenBuffer {
            var buf = ScreenBuffer(width: width, height: height)
            WorkbenchScreen.render(s, ui: ui, caps: caps, into: &buf)
            return buf
        }
        for (state, w, h) in [(FixedTrace.gptState(), 80, 24), (FixedTrace.gptState(), 160, 48), (FixedTrace.bertState(), 160, 48)] {
            var ui = WorkbenchUI()
            let text = screen(state, ui: ui, caps: .ascii, width: w, height: h).lines().joined(separator: "\n")
            let nonASCII = Set(text.unicodeScalars.filter { !$0.isASCII }.map { String($0) })
            #expect(nonASCII.isEmpty, "non-ASCII \(nonASCII.sorted()) at \(w)x\(h)")
            #expect(!text.contains("??"), "a symbol without a spelling at \(w)x\(h):\n\(text)")
            ui.showHelp = true
            let help = screen(state, ui: ui, caps: .ascii, width: w, height: h).lines().joined(separator: "\n")
            let helpNonASCII = Set(help.unicodeScalars.filter { !$0.isASCII }.map { String($0) })
            #expect(helpNonASCII.isEmpty, "help: non-ASCII \(helpNonASCII.sorted()) at \(w)x\(h)")
        }
        let text = screen(FixedTrace.gptState(), caps: .ascii, width: 160, height: 48).lines().joined(separator: "\n")
        #expect(text.contains("1x6") && text.contains("z >= 3") && text.contains("sites - firing rate"), "\(text)")
    }
    /// SpikeLLM on a LLaMA-family model: abits/addbit/low_p in the header, salient rows marked in
    /// the raster, levels/salient share/uncarried/scale per token in the stats, at both sizes.
    @Test func llamaSpikeLLMWholeScreen() {
        Snapshot.check(screen(FixedTrace.llamaState(), width: 80, height: 24), named: "workbench_llama_gif_80x24")
        Snapshot.check(screen(FixedTrace.llamaState(), width: 160, height: 48), named: "workbench_llama_gif_160x48")
    }

    /// A site list longer than its panel says which part is shown, and follows the cursor.
    @Test func longSiteListShowsItsRange() {
        var s = FixedTrace.llamaState()
        s.siteNames = (0..<30).flatMap { l in ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"].map { "model.layers.\(l).mlp.\($0)" } }
        s.cursor.site = 100
        var buf = Snapshot.canvas(30, 12)
        WorkbenchScreen.siteList(s, caps: .full, in: buf.area, into: &buf)
        let text = (0..<12).map { y in (0..<30).map { buf[$0, y].symbol }.joined() }
        #expect(text[0].contains("sites 96–105/210"), "\(text[0])")
        #expect(text.contains { $0.contains("14.gate_proj") })  // site 100 = layer 14, the 3rd… 5th projection
    }

    /// A family that runs SpikeLLM's neuron among others shows k, not abits, while LIF runs.
    @Test func headerShowsSpikeLLMControlsOnlyForGIF() {
        var s = FixedTrace.gptState()
        s.spikeLLM = SpikeLLMSettings()
        var buf = Snapshot.canvas(100, 2)
        WorkbenchScreen.header(s, caps: .full, in: buf.area, into: &buf)
        let line = (0..<100).map { buf[$0, 0].symbol }.joined()
        #expect(line.contains("k 2.00") && !line.contains("abits"), "\(line)")
        s.neuron = .gif
        WorkbenchScreen.header(s, caps: .full, in: buf.area, into: &buf)
        let gif = (0..<100).map { buf[$0, 0].symbol }.joined()
        #expect(gif.contains("abits 4 +1") && !gif.contains("k 2.00"), "\(gif)")
    }

    /// The stats panel says where α comes from: the checkpoint (at its trained T) or this input.
    @Test func alphaOriginIsStated() {
        func statsText(_ s: WorkbenchState) -> String {
            var buf = Snapshot.canvas(60, 10)
            WorkbenchScreen.stats(s, caps: .full, in: buf.area, into: &buf)
            return (0..<10).map { y in (0..<60).map { buf[$0, y].symbol }.joined() }.joined(separator: "\n")
        }
        var s = FixedTrace.bertState()
        #expect(statsText(s).contains("α/τ (this input)"))
        s.trainedTimesteps = 2
        #expect(statsText(s).contains("α/τ (checkpoint)"))
        s.trainedTimesteps = 4
        #expect(statsText(s).contains("α/τ (this input; trained T 4)"))
    }

    @Test func spikebertWholeScreen() { Snapshot.check(screen(FixedTrace.bertState()), named: "workbench_spikebert_110x32") }

    @Test func helpPopup() {
        var ui = WorkbenchUI(); ui.showHelp = true
        Snapshot.check(screen(FixedTrace.gptState(), ui: ui, width: 90, height: 26), named: "workbench_help_90x26")
    }

    @Test func editingPrompt() {
        var ui = WorkbenchUI(); ui.editing = TextFieldState("a new prompt")
        Snapshot.check(screen(FixedTrace.gptState(), ui: ui, width: 90, height: 26), named: "workbench_editing_90x26")
    }

    /// A sentence typed into a classifier gets its prediction (it used to show none: only GLUE
    /// rows did).
    @Test func aTypedSentenceOnAClassifierShowsItsPrediction() {
        var s = FixedTrace.bertState()
        s.input = .prompt("a typed sentence")
        let text = screen(s, width: 160, height: 48).lines().joined(separator: "\n")
        #expect(text.contains("predicted ") && !text.contains("gold "), "\(text)")
    }

    /// A finished (or stopped, failed) run shows no ETA: the last one would be stale.
    @Test func aFinishedTrainingRunShowsNoETA() {
        var s = FixedTrace.bertState()
        let running = screen(s, width: 160, height: 48).lines().joined(separator: "\n")
        #expect(running.contains("ETA 12s"), "\(running)")
        s.training?.state = "done"
        let done = screen(s, width: 160, height: 48).lines().joined(separator: "\n")
        #expect(done.contains("ETA -") && !done.contains("ETA 12s"), "\(done)")
    }

    /// While a staged rerun streams its continuation the header says how far it is (not just
    /// "computing…"), and says "computing…" before the first stage lands.
    @Test func headerShowsAStreamingContinuation() {
        var s = FixedTrace.gptState()
        s.busy = true
        var buf = Snapshot.canvas(120, 2)
        WorkbenchScreen.header(s, caps: .full, in: buf.area, into: &buf)
        #expect(buf.lines()[1].contains("computing…"))
        s.partial = true
        s.status = "prompt in 120 ms · generating 3/24…"
        WorkbenchScreen.header(s, caps: .full, in: buf.area, into: &buf)
        #expect(buf.lines()[1].contains("prompt in 120 ms · generating 3/24…") && !buf.lines()[1].contains("computing…"))
    }

    /// An empty input (no tokens) has no step: the header says 0/0, not 1/0.
    @Test func anEmptyInputShowsZeroSteps() {
        var s = FixedTrace.gptState()
        s.ids = []; s.tokenStrings = []; s.generatedCount = 0; s.cursor.step = 0; s.cursor.token = 0
        #expect(s.stepCount == 0)
        let text = screen(s).lines().joined(separator: "\n")
        #expect(text.contains("step 0/0") && !text.contains("step 1/0"), "\(text)")
    }

    @Test func errorShowsInTheRasterPanel() {
        var s = FixedTrace.gptState()
        s.trace = Trace(); s.stats = []; s.error = "token id 99 at position 1 is outside the vocabulary"
        Snapshot.check(screen(s, width: 90, height: 24), named: "workbench_error_90x24")
    }

    // Each panel alone, on its own canvas.
    func panel(_ name: String, width: Int, height: Int, _ s: WorkbenchState, _ draw: (WorkbenchState, Rect, inout ScreenBuffer) -> Void) {
        var buf = Snapshot.canvas(width, height)
        draw(s, buf.area, &buf)
        Snapshot.check(buf, named: name)
    }

    @Test func panels() {
        let g = FixedTrace.gptState(), b = FixedTrace.bertState()
        panel("panel_sites", width: 30, height: 6, g) { WorkbenchScreen.siteList($0, caps: .full, in: $1, into: &$2) }
        panel("panel_raster_gpt", width: 16, height: 8, g) { WorkbenchScreen.raster($0, caps: .full, in: $1, into: &$2) }
        panel("panel_raster_bert", width: 16, height: 8, b) { WorkbenchScreen.raster($0, caps: .full, in: $1, into: &$2) }
        panel("panel_membrane", width: 30, height: 8, g) { WorkbenchScreen.membrane($0, caps: .full, in: $1, into: &$2) }
        panel("panel_neuron_plot", width: 24, height: 8, g) { WorkbenchScreen.neuronPlot($0, caps: .full, in: $1, into: &$2) }
        panel("panel_stats", width: 40, height: 10, b) { WorkbenchScreen.stats($0, caps: .full, in: $1, into: &$2) }
        panel("panel_outliers", width: 30, height: 6, g) { WorkbenchScreen.outliers($0, caps: .full, in: $1, into: &$2) }
        panel("panel_output_gpt", width: 30, height: 5, g) { WorkbenchScreen.output($0, ui: WorkbenchUI(), caps: .full, in: $1, into: &$2) }
        panel("panel_output_bert", width: 40, height: 7, b) { WorkbenchScreen.output($0, ui: WorkbenchUI(), caps: .full, in: $1, into: &$2) }
        panel("panel_training", width: 30, height: 8, b) { WorkbenchScreen.training($0, caps: .full, in: $1, into: &$2) }
    }

    /// A GIF site: levels as digits in the raster, the saliency ranking with T in the outliers panel.
    @Test func gifPanels() {
        var s = FixedTrace.gptState()
        var site = FixedTrace.site("blocks.0.att.key.gif", neuron: .gif, seed: 5, layout: [2, 5])
        site.spikes = site.spikes.map { $0 == 0 ? 0 : ($0 > 0 ? 2 : -1) }
        site.levels = 2
        site.bitsPerActivation = 4.64
        site.salientChannels = [SalientChannel(channel: 4, saliency: 12.5, timesteps: 20, outlier: true),
                                SalientChannel(channel: 1, saliency: 0.8, timesteps: 2, outlier: false)]
        s.siteNames = [site.name]; s.k = [2]; s.thresholdScale = [1]; s.cursor.site = 0
        s.trace = Trace(sites: [site]); s.stats = [SiteStatistics(site)]
        s.neuron = .gif; s.gifOutlierFraction = 0.05
        panel("panel_outliers_gif", width: 30, height: 6, s) { WorkbenchScreen.outliers($0, caps: .full, in: $1, into: &$2) }
        panel("panel_raster_gif", width: 16, height: 8, s) { WorkbenchScreen.raster($0, caps: .full, in: $1, into: &$2) }
        var buf = Snapshot.canvas(100, 2)
        WorkbenchScreen.header(s, caps: .full, in: buf.area, into: &buf)
        Snapshot.check(buf, named: "header_gif")
    }

    /// The raster column under the cursor is the selected step's spikes (a behavioural check the
    /// snapshot alone would not explain).
    @Test func rasterCursorColumnShowsTheSelectedStep() {
        let s = FixedTrace.gptState()
        let site = s.trace.sites[0]
        let (cols, cursor) = WorkbenchScreen.columns(s, site: site)
        #expect(cols == Array(0..<10) && cursor == 3)
        let g = WorkbenchScreen.grid(site.spikes, site: site, rows: cols, offset: 0, n: 6)
        for n in 0..<6 { #expect(g[n * 10 + 3] == site.spikes[3 * 6 + n]) }
        let bs = FixedTrace.bertState()
        let (bcols, bcur) = WorkbenchScreen.columns(bs, site: bs.trace.sites[1])
        #expect(bcols == [5, 6, 7, 8, 9] && bcur == 2)  // τ = 1 of T = 2, tokens 0…4
        // GIF on a token-stepped model ([2 substeps, 5 tokens]): each token's substeps side by side,
        // the cursor on token 2's first substep (it used the token index as τ before).
        let ls = FixedTrace.llamaState()
        let (lcols, lcur) = WorkbenchScreen.columns(ls, site: ls.trace.sites[0])
        #expect(lcols == [0, 5, 1, 6, 2, 7, 3, 8, 4, 9] && lcur == 4)
    }
}

/// Issue 17's last items: labelled plots, the overview heatmap, one SpikeBERT neuron across τ.
@Suite struct WorkbenchPlotsAndOverviewTests {
    func text(_ buf: ScreenBuffer) -> String { buf.lines().joined(separator: "\n") }

    /// The neuron's membrane plot says its range (y ends), its x axis (tokens) and θ.
    @Test func neuronPlotIsLabelled() {
        let s = FixedTrace.gptState()
        var buf = Snapshot.canvas(30, 8)
        WorkbenchScreen.neuronPlot(s, caps: .full, in: buf.area, into: &buf)
        let t = text(buf)
        let site = s.trace.sites[0]
        let v = (0..<site.steps).map { site.membrane[$0 * site.width] }
        #expect(t.contains(String(format: "%.3g", v.max()!)) && t.contains(String(format: "%.3g", v.min()!)), "\(t)")
        #expect(t.contains("token") && t.contains("neuron 0 v · ─ θ 1") && t.contains("9"), "\(t)")  // 10 tokens: 0…9
    }

    /// The overview: one row per site, one column per token, the selected site reversed; a cell's
    /// shade is its token's firing rate on the common 0…max scale.
    @Test func overviewShowsEverySiteByToken() {
        var s = FixedTrace.gptState()
        s.cursor.site = 1
        var ui = WorkbenchUI(); ui.overview = true
        var buf = Snapshot.canvas(110, 32)
        WorkbenchScreen.render(s, ui: ui, caps: .full, into: &buf)
        let t = text(buf)
        let top = s.stats.flatMap(\.firingRatePerToken).max()!
        #expect(t.contains("overview · firing rate, sites × tokens · 0…" + String(format: "%.2f", top)), "\(t)")
        let g = WorkbenchScreen.overviewGeometry(s, panel: WorkbenchScreen.layout(size: buf.size).raster)
        // Row 1's name is reversed (the selected site); the cell glyph follows the rate.
        #expect(buf[g.names.x, g.names.y + 1].attributes.contains(.reverse))
        let ramp = Capabilities.full.glyphs.heat
        for row in 0..<2 { for tok in 0..<10 {
            let p = s.stats[row].firingRatePerToken[tok] / top
            #expect(buf[g.cells.x + tok, g.cells.y + row].symbol == String(ramp[Int((p * Float(ramp.count - 1)).rounded())]))
        } }
        Snapshot.check(buf, named: "workbench_overview_110x32")
        var small = Snapshot.canvas(80, 24)
        WorkbenchScreen.render(s, ui: ui, caps: .full, into: &small)
        Snapshot.check(small, named: "workbench_overview_80x24")
        var big = Snapshot.canvas(160, 48)
        WorkbenchScreen.render(FixedTrace.llamaState(), ui: ui, caps: .full, into: &big)
        Snapshot.check(big, named: "workbench_overview_llama_160x48")
    }

    /// SpikeBERT: the neuron at every τ for every token side by side, and its membrane per τ at
    /// the cursor token.
    @Test func bertNeuronAcrossEveryTimestep() {
        var s = FixedTrace.bertState()
        s.cursor.neuron = 4
        var buf = Snapshot.canvas(34, 8)
        WorkbenchScreen.neuronPlot(s, caps: .full, in: buf.area, into: &buf)
        let t = text(buf)
        let site = s.trace.sites[1]
        let v = (0..<2).map { String(format: "%.2g", site.membrane[($0 * 5 + 2) * 6 + 4]) }.joined(separator: " ")
        #expect(t.contains("neuron 4 · every τ × token") && t.contains("τ0") && t.contains("τ1"), "\(t)")
        #expect(t.contains("v at token 2 warm: " + v), "\(t)")
        Snapshot.check(buf, named: "panel_neuron_bert_tau")
    }

    /// The rate sparkline and the membrane histogram carry their scales.
    @Test func statsChartsAreLabelled() {
        let s = FixedTrace.gptState()
        var buf = Snapshot.canvas(50, 12)
        WorkbenchScreen.stats(s, caps: .full, in: buf.area, into: &buf)
        let t = text(buf)
        let st = s.stats[0]
        let axis = buf.lines().first { $0.contains("rate/step") } ?? ""
        let lo = String(format: "%.2g", st.histogramRange.lowerBound), hi = String(format: "%.2g", st.histogramRange.upperBound)
        #expect(axis.range(of: lo + "·+v·+" + hi + "│", options: .regularExpression) != nil, "\(t)")
        #expect(t.contains(String(st.histogram.max()!)), "\(t)")
    }
}

/// Issue 18's views: the pinned baseline in the header, Δ per site in the list, the stats line,
/// and the raster diff that marks exactly the cells whose spike differs.
@Suite struct WorkbenchCompareViewTests {
    static func pinned() -> WorkbenchState {
        var s = FixedTrace.gptState()
        var b = s.trace
        // The baseline: site 0 with a few spikes flipped, site 1 as is.
        for i in [0, 7, 13, 20, 33] { b.sites[0].spikes[i] = b.sites[0].spikes[i] == 0 ? 1 : 0 }
        // Streams entering layer 0, then leaving layers 0, 1, 2: equal, then apart, then opposite.
        let sa: [[Float]] = [[1, 0], [1, 0], [1, 1], [0, 1]], sb: [[Float]] = [[1, 0], [1, 0], [1, 0.5], [1, 0]]
        s.baseline = Baseline(label: "k 2.00 · lif", tokens: s.ids, run: ComparableRun(trace: b, streams: sb))
        s.comparison = Comparison.compare(ComparableRun(trace: s.trace, streams: sa), to: s.baseline!.run)
        return s
    }

    @Test func diffRasterMarksExactlyTheFlippedSpikes() {
        let s = Self.pinned()
        var ui = WorkbenchUI(); ui.diff = true
        var buf = Snapshot.canvas(110, 32)
        WorkbenchScreen.render(s, ui: ui, caps: .full, into: &buf)
        let text = buf.lines().joined(separator: "\n")
        #expect(text.contains("vs B k 2.00 · lif") && text.contains("diff vs B 0.att.lif"), "\(text)")
        // Count the + and - glyphs in the raster cells against the flips (all 10 steps × 6 neurons are visible).
        let site = s.trace.sites[0], base = s.baseline!.run.trace.sites[0]
        let onlyA = zip(site.spikes, base.spikes).filter { $0 != 0 && $1 == 0 }.count
        let onlyB = zip(site.spikes, base.spikes).filter { $0 == 0 && $1 != 0 }.count
        let r = WorkbenchScreen.layout(size: buf.size).raster.inset(by: 1)
        var plus = 0, minus = 0
        for y in r.y..<r.bottom { for x in r.x..<r.right {
            if buf[x, y].symbol == "+" { plus += 1 }
            if buf[x, y].symbol == "-" { minus += 1 }
        } }
        #expect(plus == onlyA && minus == onlyB && onlyA + onlyB == 5, "+\(plus) -\(minus), want +\(onlyA) -\(onlyB)")
        #expect(s.comparison!.sites[0].changed == 5 && s.comparison!.sites[1].changed == 0)
        // Per-layer cosine: 1, cos((1,1),(1,.5)) = 1.5/(√2·√1.25), 0; the first below 0.99 is layer 1.
        let lc = s.comparison!.layerCosine
        #expect(lc.count == 3 && lc[0] == 1 && abs(lc[1] - 1.5 / (2.0.squareRoot() * 1.25.squareRoot())) < 1e-9 && lc[2] == 0)
        #expect(s.comparison!.firstDivergentLayer == 1 && text.contains("cos to B per layer"))
        #expect(text.contains("membrane − B"), "\(text)")
        Snapshot.check(buf, named: "workbench_diff_110x32")
        for (w, h) in [(80, 24), (160, 48)] {
            var b = Snapshot.canvas(w, h)
            WorkbenchScreen.render(s, ui: ui, caps: .full, into: &b)
            Snapshot.check(b, named: "workbench_diff_\(w)x\(h)")
            if w == 160 { #expect(b.lines().joined().contains("cos to B per layer · < 0.99 from 1")) }
        }
    }

    @Test func siteListAndStatsShowTheChange() {
        let s = Self.pinned()
        var buf = Snapshot.canvas(160, 48)
        WorkbenchScreen.render(s, ui: WorkbenchUI(), caps: .full, into: &buf)
        let text = buf.lines().joined(separator: "\n")
        let c = s.comparison!.sites[0]
        #expect(text.contains(String(format: "%+.3f*", c.deltaRate)), "\(text)")
        #expect(text.contains("vs B " + String(format: "Δ%+.3f", c.deltaRate)) && text.contains("changed 5"), "\(text)")
    }
}

/// The sweep popup (w): one row per value with pJ and divergence bars.
@Suite struct SweepPopupTests {
    @Test func popupTabulatesTheSweep() {
        var s = FixedTrace.gptState()
        s.sweep = SweepResult(control: "k", neuron: "lif", tokens: 10, rows: [0.5, 1, 2, 4].map { v in
            SweepRow(value: v, pj: 1000 / v, densePJ: 1200, outputKL: 0.1 * v, top1Agreement: 1, classProbabilityDelta: nil,
                     sites: [SweepSite(name: "blocks.0.att.lif", rate: 0.4 / v, pj: 10, cosineToFloat: 0.5)])
        })
        var buf = Snapshot.canvas(110, 32)
        WorkbenchScreen.render(s, ui: WorkbenchUI(), caps: .full, into: &buf)
        let text = buf.lines().joined(separator: "\n")
        #expect(text.contains("sweep · energy vs fidelity") && text.contains("KL vs float") && text.contains("0.4") && text.contains("0.100"), "\(text)")
        Snapshot.check(buf, named: "workbench_sweep_110x32")
    }
}
