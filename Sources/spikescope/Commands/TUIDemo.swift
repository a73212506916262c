// `spikescope tui-demo` (hidden): runs the synthetic DemoApp screen on the real terminal, for
// the end-to-end tests of the terminal backend; `--bench-frames N` instead prints the mean
// render time of a 200×60 frame as JSON. Not the workbench (`spikescope tui`).
import ArgumentParser
import TerminalBackend
import TUI

struct TUIDemo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tui-demo",
        abstract: "Run the synthetic terminal UI demo (for testing the terminal backend).",
        shouldDisplay: false)

    @Option(help: "Render this many 200×60 frames off-screen and print {\"ms_per_frame\": …} instead of running.")
    var benchFrames: Int?

    func validate() throws {
        if let n = benchFrames, n < 1 {
            throw ValidationError("The value '\(n)' is invalid for '--bench-frames <n>': need at least 1 frame.")
        }
    }

    func run() throws {
        if let n = benchFrames {
            let ms = RenderBenchmark.benchmarkRender(frames: n)
            print("{\"frames\": \(n), \"width\": 200, \"height\": 60, \"ms_per_frame\": \(ms)}")
            return
        }
        // A TerminalError (not a terminal, bad TERM) reaches ArgumentParser, which prints
        // "Error: <message with hint>" and exits 1.
        try TerminalApp.run(app: DemoApp())
    }
}
