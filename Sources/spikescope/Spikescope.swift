// spikescope: the executable. Argument parsing only; every command lives in Commands/.
import ArgumentParser
import Experiments
import Foundation
import Engine

@main
struct Spikescope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spikescope",
        abstract: "A terminal workbench for looking inside spiking language models.",
        discussion: """
        Without a subcommand, spikescope opens the workbench (`tui`), which takes:
          --model PATH       weights (.safetensors, .pth/.bin, or a folder)
          --classifier       the embedded classifier with its SST-2 examples
          --session DIR      reopen DIR/session.json; save and train into DIR
          --glue FILE[:ROW]  a GLUE file and row (g/n/N step through rows)
          --prompt TEXT      the prompt to run first (--generate N after it)
          --neuron KIND      lif, elastic, gif, binary, signed or none
          --k K              frequency control at every site
          --timesteps T      for families that run T timesteps
        See `spikescope tui --help` for all of them.
        """,
        subcommands: [WorkbenchCommand.self, Inspect.self, Eval.self, SweepCommand.self, Tokenize.self, Train.self, Bench.self, Convert.self],
        defaultSubcommand: WorkbenchCommand.self)

    /// Uses the kernel tuning `bench tune --save` measured on this CPU, if any (tuning.c's table
    /// otherwise), then runs the command.
    static func main() {
        KernelTuning.applyCached()
        main(nil)
    }
}
