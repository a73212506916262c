// spikescope: the executable. Argument parsing only; every command lives in Commands/.
import ArgumentParser

@main
struct Spikescope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spikescope",
        abstract: "A terminal workbench for looking inside spiking language models.",
        subcommands: [WorkbenchCommand.self, Inspect.self, Tokenize.self, Train.self, Bench.self, Convert.self, TUIDemo.self],
        defaultSubcommand: WorkbenchCommand.self)
}
