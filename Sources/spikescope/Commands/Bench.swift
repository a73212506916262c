import ArgumentParser
import Experiments

/// `spikescope bench <what>`: benchmarks that print one JSON object (build with -c release).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure speed; prints JSON. Build with -c release.",
        subcommands: [BenchGemm.self, BenchSpikeLinear.self, BenchGenerate.self, BenchBERT.self, BenchTUI.self,
                      BenchGIF.self, BenchAblation.self, BenchLoad.self, BenchTune.self])
}
