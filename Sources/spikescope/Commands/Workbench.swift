import ArgumentParser

struct Workbench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tui", abstract: "Open the workbench (default).")
    func run() throws {
        throw ValidationError("The workbench TUI is not built yet in this version; try 'spikescope --help'.")
    }
}
