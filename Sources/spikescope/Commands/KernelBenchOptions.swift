// Options shared by the kernel benchmarks (`bench gemm`, `bench spike-linear`).
import ArgumentParser
import Experiments
import Engine

struct KernelBenchOptions: ParsableArguments {
    @Option(help: "Worker threads for our kernels (default: online CPUs). NumPy keeps its own setting.")
    var threads: Int?

    @Flag(help: "Print only the JSON object (default: JSON plus a one-line summary on stderr).")
    var json = false

    func validate() throws {
        if let threads, !(1...64).contains(threads) {
            throw ValidationError("The value '\(threads)' is invalid for '--threads <threads>'. Use 1...64, e.g. --threads 2.")
        }
    }

    /// Sets the kernels' thread count when --threads was given.
    func applyThreads() { if let threads { Kernels.threads = threads } }
}
