// spikescope: the executable. Argument parsing only; every command lives in Commands/.
import ArgumentParser
import Foundation

@main
struct Spikescope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spikescope",
        abstract: "A terminal workbench for looking inside spiking language models.",
        subcommands: [WorkbenchCommand.self, Inspect.self, Tokenize.self, Train.self, Bench.self, Convert.self],
        defaultSubcommand: WorkbenchCommand.self)
}

/// Runs a command's body; a bad-input error (ModelError, FormatError, TrainingError, …: each names
/// the file and gives a hint) becomes one stderr line "`prefix`: message" and `exitCode`, while
/// ValidationError still goes to ArgumentParser for its usage message.
func reportingErrors(prefix: String, exitCode: Int32, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ValidationError {
        throw e
    } catch {
        FileHandle.standardError.write(Data("\(prefix): \(error)\n".utf8))
        throw ExitCode(exitCode)
    }
}
