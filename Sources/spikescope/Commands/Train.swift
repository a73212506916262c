import ArgumentParser

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "(not built yet)")
    func run() throws {
        throw ValidationError("'spikescope train' is not built yet in this version.")
    }
}
