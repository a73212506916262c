// `spikescope tui-demo` (hidden): runs the synthetic DemoApp screen on the real terminal, for
// the end-to-end tests of the terminal backend. Not the workbench (`spikescope tui`).
import ArgumentParser
import TerminalBackend
import TUI

struct TUIDemo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tui-demo",
        abstract: "Run the synthetic terminal UI demo (for testing the terminal backend).",
        shouldDisplay: false)

    func run() throws {
        do {
            try TerminalApp.run(app: DemoApp())
        } catch let e as TerminalError {
            throw ValidationError(e.description)
        }
    }
}
