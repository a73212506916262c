import ArgumentParser

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "(not built yet)")
    func run() throws {
        throw ValidationError("'spikescope tokenize' is not built yet in this version.")
    }
}
