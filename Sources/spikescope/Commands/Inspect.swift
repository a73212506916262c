import ArgumentParser

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "(not built yet)")
    func run() throws {
        throw ValidationError("'spikescope inspect' is not built yet in this version.")
    }
}
