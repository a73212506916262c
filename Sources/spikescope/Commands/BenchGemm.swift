import ArgumentParser

struct BenchGemm: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gemm", abstract: "(not built yet)")
    func run() throws { throw ValidationError("not built yet") }
}
