// `spikescope bench tui`: how fast the workbench answers — rendering a full frame, and a control
// change (k up) on a model until its new trace is published. Build with -c release.

import ArgumentParser
import Experiments
import Foundation
import Workbench
import TUI
import Neurons

struct BenchTUI: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tui", abstract: "Frame render time and control-change latency; prints JSON.")

    @Option(help: "Model (default: the embedded SpikeGPT).") var model: String?
    @Option(help: "Prompt length in tokens.") var promptTokens: Int = 64
    @Option(help: "Tokens generated after the prompt (the TUI's default is 24).") var generate: Int = 24
    @Option(help: "Frame size WxH.") var size: String = "200x60"
    @Option(help: "Repetitions.") var runs: Int = 20
    @Option(help: "Neuron at the sites (the model's own when omitted), e.g. gif on a LLaMA-family model.") var neuron: String?
    @Flag(help: "Pin the first run as the baseline B before measuring (every recompute is then compared with it).") var pinned = false
    @Flag(help: "JSON output (the only format).") var json = false

    func run() throws {
        let parts = size.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts[0] > 0, parts[1] > 0 else { throw ValidationError("--size must look like 200x60") }
        let opened = try DefaultModels.open(model: model, tokenizer: nil)
        // A prompt of exactly `promptTokens` ids: repeat a sentence and cut the ids.
        let sentence = "Spiking neurons fire when their membrane crosses the threshold. "
        var text = sentence
        while (try opened.codec.encode(text, nil)).ids.count < promptTokens { text += sentence }
        while (try opened.codec.encode(text, nil)).ids.count > promptTokens { text.removeLast() }
        let wb = Workbench(model: opened.loaded.model, codec: opened.codec, input: .prompt(text),
                           modelPath: opened.loaded.weightsPath, generate: generate)
        if let neuron {
            guard let kind = NeuronKind(rawValue: neuron) else {
                throw ValidationError("The value '\(neuron)' is invalid for '--neuron'. Use one of: \(NeuronKind.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            try wb.applyControls(neuron: kind, timesteps: nil, k: nil)
        }
        let first = wb.runAndWait()
        if let e = first.error { throw CLIError("bench tui: the model did not run: \(e)") }
        if pinned { wb.apply(.pinBaseline) }

        // A control change at the first, middle and last site — k up/down, or where the neuron has
        // no k (SpikeLLM's GIF) abits up/down — until the prompt's trace is on screen
        // (first_publish_ms; the whole run for a model without stages) and until the continuation
        // is complete (control_change_ms). The k-curve (phase 2) is waited out between runs so
        // runs do not overlap.
        func settle() { wb.waitUntilIdle() }
        func median(_ a: [Double]) -> Double { let s = a.sorted(); return s.isEmpty ? 0 : s[s.count / 2] }
        let count = first.siteNames.count
        var positions: [String: Any] = [:]
        var allFirst: [Double] = [], allChange: [Double] = []
        /// One control change; nil when no control of this neuron applies (nothing reruns).
        func applyChange(_ i: Int) -> String? {
            let s = wb.snapshot()
            wb.apply(.frequency(up: i % 2 == 0))
            if wb.snapshot().k != s.k { return "k" }
            guard s.neuron == .gif, s.spikeLLM != nil else { return nil }
            wb.apply(.spikeLLM(.abits, up: i % 2 == 0))
            return "abits"
        }
        var control = "none"
        for (label, index) in [("first", 0), ("middle", count / 2), ("last", count - 1)] {
            wb.apply(.selectSite(index))
            settle()
            var firstPublish: [Double] = [], change: [Double] = []
            for i in 0..<runs {
                let before = wb.snapshot().revision
                let t0 = DispatchTime.now().uptimeNanoseconds
                guard let c = applyChange(i) else {
                    throw CLIError("bench tui: neither k nor abits applies to neuron \(wb.snapshot().neuron.rawValue) here. Hint: pass --neuron (e.g. gif, lif)")
                }
                control = c
                while wb.snapshot().revision == before { usleep(500) }
                firstPublish.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                while wb.snapshot().busy { usleep(500) }
                change.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                settle()
            }
            allFirst += firstPublish; allChange += change
            positions[label] = ["site": first.siteNames[index],
                                "first_publish_ms_median": median(firstPublish), "first_publish_ms_max": firstPublish.max() ?? 0,
                                "control_change_ms_median": median(change), "control_change_ms_max": change.max() ?? 0]
        }
        let latencies = allChange
        // A prompt edit at its end (a word appended, then removed): until the new prompt's trace
        // is on screen and until the continuation is complete. A family that resumes after the
        // shared tokens recomputes only the edited tail.
        var editFirst: [Double] = [], editAll: [Double] = []
        for i in 0..<runs {
            let before = wb.snapshot().revision
            let t0 = DispatchTime.now().uptimeNanoseconds
            wb.apply(.prompt(i % 2 == 0 ? text + " spikes" : text))
            while wb.snapshot().revision == before { usleep(500) }
            editFirst.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            while wb.snapshot().busy { usleep(500) }
            editAll.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            settle()
        }
        let state = wb.snapshot()
        var buf = ScreenBuffer(width: parts[0], height: parts[1])
        var frames: [Double] = []
        for _ in 0..<max(runs * 5, 50) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            buf = ScreenBuffer(width: parts[0], height: parts[1])
            WorkbenchScreen.render(state, ui: WorkbenchUI(), caps: .full, into: &buf)
            frames.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        // Diff work of the backend: cells that change between two consecutive frames after a step.
        wb.apply(.step(1))
        var buf2 = ScreenBuffer(width: parts[0], height: parts[1])
        WorkbenchScreen.render(wb.snapshot(), ui: WorkbenchUI(), caps: .full, into: &buf2)
        let changed = buf2.diff(from: buf).count
        let out: [String: Any] = [
            "frame": "\(parts[0])x\(parts[1])", "render_ms_median": median(frames), "render_ms_max": frames.max() ?? 0,
            "control_change_ms_median": median(latencies), "control_change_ms_max": latencies.max() ?? 0,
            "first_publish_ms_median": median(allFirst), "first_publish_ms_max": allFirst.max() ?? 0,
            "prompt_edit_first_publish_ms_median": median(editFirst), "prompt_edit_ms_median": median(editAll),
            "by_site": positions, "control": control, "pinned": pinned, "neuron": state.neuron.rawValue, "timesteps": state.timesteps ?? NSNull(), "machine": MachineInfo.current.json,
            "prompt_tokens": state.ids.count, "generated_tokens": state.generatedCount,
            "sites": state.siteNames.count, "width": state.summary.width, "cells_changed_by_a_step": changed,
            "model": opened.loaded.weightsPath,
        ]
        let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}
