import ArgumentParser

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "convert", abstract: "(not built yet)")
    func run() throws {
        throw ValidationError("'spikescope convert' is not built yet in this version.")
    }
}
