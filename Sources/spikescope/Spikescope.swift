// spikescope: the executable. Argument parsing only; every command lives in Commands/.
import ArgumentParser
import Experiments
import Foundation

@main
struct Spikescope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spikescope",
        abstract: "A terminal workbench for looking inside spiking language models.",
        subcommands: [WorkbenchCommand.self, Inspect.self, Tokenize.self, Train.self, Bench.self, Convert.self],
        defaultSubcommand: WorkbenchCommand.self)
}
