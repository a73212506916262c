// `spikescope bench spike-linear`: event-driven vs dense time of one spiking Linear layer,
// 768 → 3072 over 128 tokens (a SpikeGPT-size FFN projection), at one firing rate.
// What it is not: a correctness check (SpikeKernelTests does that).
// Build with `swift build -c release` first.

import ArgumentParser
import Experiments
import Engine
import Foundation

struct BenchSpikeLinear: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spike-linear",
        abstract: "Time a 768→3072 Linear over 128 tokens of binary spikes: event-driven vs dense GEMM.",
        discussion: """
            Prints {"rate":R,"dense_ms":..,"spike_ms":..,"speedup":..,"break_even_rate":..}: best of \
            --runs after 2 warm-up runs, inputs are random {0,1} spikes firing with probability --rate. \
            break_even_rate is this machine's rate where the two paths cross (SpikeLinear.calibrate, \
            rates 0.05…1 on the same shape, measured after the timings).
            """)

    @Option(help: "Firing rate: fraction of inputs that spike, in 0...1 (e.g. 0.15).")
    var rate: Double

    @Option(help: "Timed runs; the best one is reported (1...1000).")
    var runs = 20

    @Option(help: "Tokens (rows of x).")
    var tokens = 128

    @OptionGroup var common: KernelBenchOptions

    func validate() throws {
        guard (0...1).contains(rate) else {
            throw ValidationError("The value '\(rate)' is invalid for '--rate <rate>'. Use a fraction in 0...1, e.g. --rate 0.15.")
        }
        guard (1...1000).contains(runs) else {
            throw ValidationError("The value '\(runs)' is invalid for '--runs <runs>'. Use 1...1000, e.g. --runs 20.")
        }
        guard (1...65536).contains(tokens) else {
            throw ValidationError("The value '\(tokens)' is invalid for '--tokens <tokens>'. Use 1...65536, e.g. --tokens 128.")
        }
    }

    func run() throws {
        common.applyThreads()
        let autotuned = KernelTuning.calibrateIfUnknown()   // a CPU tuning.c does not know: measure it first
        let inF = 768, outF = 3072
        var rng = SeededRNG(seed: 5)
        let w = Tensor.randomUniform([inF, outF], -0.05, 0.05, rng: &rng)
        let layer = try SpikeLinear(weightInOut: w)
        let x = Tensor(shape: [tokens, inF]) { _ in Double(rng.nextUniform()) < rate ? 1 : 0 }
        let measured = x.withUnsafeBufferPointer { SpikeLinear.nonzeroFraction($0.baseAddress!, count: $0.count) }
        // Interleave the two so that load from other processes hits both alike.
        // Both write into preallocated outputs (as a model's forward pass reuses its buffers).
        // Each run of one kernel follows a run of the other, so both find their weights cold.
        var dense = Double.infinity, spike = Double.infinity
        let yd = Tensor(zeros: [tokens, outF]), ys = Tensor(zeros: [tokens, outF])
        for _ in 0..<2 { try layer.forward(x, into: yd, path: .dense); try layer.forward(x, into: ys, path: .event) }
        // Also the GEMM that packs W on every call (the general ss_gemm_f32), for reference.
        var repack = Double.infinity
        var yr = [Float](repeating: 0, count: tokens * outF)
        let (t32, i32, o32) = (Int32(tokens), Int32(inF), Int32(outF))
        for _ in 0..<runs {
            dense = min(dense, try seconds { try layer.forward(x, into: yd, path: .dense) })
            spike = min(spike, try seconds { try layer.forward(x, into: ys, path: .event) })
            repack = min(repack, try seconds {
                yr.withUnsafeMutableBufferPointer { c in
                    Kernels.gemm(transA: false, transB: false, m: Int(t32), n: Int(o32), k: Int(i32), alpha: 1, a: x.elementPointer, lda: Int(i32),
                                 b: w.elementPointer, ldb: Int(o32), beta: 0, c: c.baseAddress!, ldc: Int(o32))
                }
            })
        }
        // Where the event path stops paying on this machine (and what SpikeLinear then uses).
        let breakEven = SpikeLinear.calibrate(tokens: tokens, inFeatures: inF, outFeatures: outF)
        // Same result within 1e-5 of the row's scale (Σ|x·w| bounds the rounding of either order).
        let scale = try Tensor.matmul(x.absolute(), w.absolute())
        var worst = 0.0
        let (dv, sv, cv) = (yd.contiguous().values, ys.contiguous().values, scale.contiguous().values)
        for e in 0..<yd.count {
            let d = Double(abs(dv[e] - sv[e])) / max(1e-12, Double(cv[e]))
            worst = max(worst, d)
        }
        print(jsonObject([
            ("rate", "\(rate)"), ("dense_ms", fmt(dense * 1e3, 3)), ("spike_ms", fmt(spike * 1e3, 3)),
            ("speedup", fmt(dense / spike, 2)), ("measured_rate", fmt(measured, 4)), ("tokens", "\(tokens)"),
            ("max_rel_diff", fmt(worst, 9)),
            ("dense_repack_ms", fmt(repack * 1e3, 3)), ("speedup_vs_repack", fmt(repack / spike, 2)),
            ("break_even_rate", fmt(breakEven, 3)), ("threads", "\(Kernels.threads)"),
            ("machine", MachineInfo.current.jsonText), ("autotuned", autotuned == nil ? "false" : "true"),
        ]))
        if !common.json {
            FileHandle.standardError.write(Data(String(
                format: "spike-linear %d×%d→%d at rate %.3f: dense %.3f ms, event %.3f ms, %.2f× (break-even here %.2f)\n",
                tokens, inF, outF, measured, dense * 1e3, spike * 1e3, dense / spike, breakEven).utf8))
        }
    }
}

/// Wall time of one call of `body`, in seconds.
private func seconds(_ body: () throws -> Void) throws -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    try body()
    let d = clock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
