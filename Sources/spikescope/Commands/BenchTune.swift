// `spikescope bench tune`: measures the kernels' per-CPU speed knobs (prefetch distances, range
// sizes; tuning.h) on this machine, prints what each candidate took, and with --save keeps the
// chosen values for this CPU (every later spikescope process on it uses them).
// What it is not: a correctness check — none of the knobs changes a result bit (KernelTuningTests).

import ArgumentParser
import Experiments
import Engine
import Foundation

struct BenchTune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Measure this CPU's kernel tuning (prefetch distances, range sizes); --save keeps it.",
        discussion: """
            Times the bf16 panel GEMV (SpikeGPT's runner), the bf16 row GEMV (LLaMA's) and the packed \
            spike-linear under each candidate value, in rotating order over --rounds rounds (each \
            round's best of 3, divided by the value in use's time in the same round), and keeps a \
            candidate only when its median ratio beats the value in use by more than 5%. Prints {"tuning":…, "before":…, "knobs":[…], "machine":…}. With --save the values go \
            to --cache (default $XDG_CACHE_HOME/spikescope/tuning.json or ~/.cache/…), keyed by the \
            CPU's CPUID vendor/family/model; spikescope reads them at start. SPIKESCOPE_TUNING \
            ("panel_prefetch=B,rows_prefetch=E,spike_range=N") overrides any field for one run. \
            Takes ~10-30 s; build with -c release.
            """)

    @Option(help: "Rounds over the candidates (1...50).")
    var rounds = 9

    @Flag(help: "Keep the chosen values for this CPU in the cache file.")
    var save = false

    @Option(help: "The cache file (default: $XDG_CACHE_HOME/spikescope/tuning.json, else ~/.cache/spikescope/tuning.json).")
    var cache: String?

    @OptionGroup var common: KernelBenchOptions

    func validate() throws {
        guard (1...50).contains(rounds) else {
            throw ValidationError("The value '\(rounds)' is invalid for '--rounds <rounds>'. Use 1...50, e.g. --rounds 9.")
        }
    }

    func run() throws {
        try reportingErrors(prefix: "spikescope bench tune", exitCode: 1) {
            common.applyThreads()
            let before = Kernels.tuning, beforeSource = Kernels.tuningSource
            let (tuning, knobs) = KernelTuning.calibrate(rounds: rounds)
            var out: [String: Any] = ["tuning": tuning.json, "before": before.json, "before_source": beforeSource,
                                      "knobs": knobs.map(\.json), "rounds": rounds, "machine": MachineInfo.current.json]
            if save {
                let url = cache.map { URL(fileURLWithPath: $0) } ?? KernelTuning.defaultCacheURL
                do { try KernelTuning.save(tuning, to: url) } catch {
                    throw CLIError("cannot write the tuning cache \(url.path): \(error.localizedDescription). Hint: give a writable path with --cache")
                }
                out["saved_to"] = url.path
            }
            let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            if !common.json {
                for k in knobs {
                    FileHandle.standardError.write(Data("\(k.name): \(k.before) → \(k.chosen)  (\(k.candidates.indices.map { "\(k.candidates[$0]): \(fmt(k.milliseconds[$0], 3)) ms ×\(fmt(k.ratios[$0], 3))" }.joined(separator: ", ")))\n".utf8))
                }
            }
        }
    }
}
